//! Sync settings: which data types are pulled when a connection is first linked, how often each is pulled
//! again, and in what order. A client sets them for all its companies (`/profile/syncSettings`) and may set
//! them per company; a setting the client marked `isLocked` cannot be changed by a company's settings.

use serde::{Deserialize, Serialize};

/// The data types linkwell pulls, as Codat names them, and where each is read
/// (`/companies/{c}/data/{path}`, or under a connection when `connection_scoped`).
pub struct PullableType {
    pub data_type: &'static str,
    pub path: &'static str,
    pub connection_scoped: bool,
}

const fn company(data_type: &'static str, path: &'static str) -> PullableType {
    PullableType {
        data_type,
        path,
        connection_scoped: false,
    }
}

const fn connection(data_type: &'static str, path: &'static str) -> PullableType {
    PullableType {
        data_type,
        path,
        connection_scoped: true,
    }
}

pub const PULLABLE_TYPES: &[PullableType] = &[
    company("chartOfAccounts", "accounts"),
    company("bills", "bills"),
    company("billPayments", "billPayments"),
    company("creditNotes", "creditNotes"),
    company("customers", "customers"),
    company("company", "info"),
    company("invoices", "invoices"),
    company("items", "items"),
    company("journalEntries", "journalEntries"),
    company("payments", "payments"),
    company("suppliers", "suppliers"),
    company("taxRates", "taxRates"),
    connection("bankAccounts", "bankAccounts"),
    connection("banking-accounts", "banking-accounts"),
    connection("banking-accountBalances", "banking-accountBalances"),
    connection("banking-transactions", "banking-transactions"),
    connection(
        "banking-transactionCategories",
        "banking-transactionCategories",
    ),
    connection("commerce-companyInfo", "commerce-info"),
    connection("commerce-customers", "commerce-customers"),
    connection("commerce-orders", "commerce-orders"),
    connection("commerce-products", "commerce-products"),
    connection("commerce-payments", "commerce-payments"),
    connection("commerce-transactions", "commerce-transactions"),
    connection("commerce-locations", "commerce-locations"),
];

pub fn pullable(data_type: &str) -> Option<&'static PullableType> {
    PULLABLE_TYPES.iter().find(|t| t.data_type == data_type)
}

/// Codat's `SyncSetting`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncSetting {
    pub data_type: String,
    pub fetch_on_first_link: bool,
    /// Hours between pulls; 0 never pulls on a schedule.
    pub sync_schedule: i64,
    pub sync_order: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_from_utc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_from_window: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months_to_sync: Option<i64>,
    #[serde(default)]
    pub is_locked: bool,
}

impl SyncSetting {
    /// Where a data set's first pull starts: records modified at or after `syncFromUtc`, or else within the
    /// last `syncFromWindow` months; `None` fetches everything. Later pulls continue from the last one.
    pub fn sync_from(&self, now: crate::time::Timestamp) -> Option<crate::time::Timestamp> {
        if let Some(from) = self.sync_from_utc.as_deref() {
            return parse_sync_from(from);
        }
        let months = u32::try_from(self.sync_from_window?)
            .ok()
            .filter(|m| *m > 0)?;
        now.datetime()
            .checked_sub_months(chrono::Months::new(months))
            .map(crate::time::Timestamp::from_datetime)
    }
}

/// `syncFromUtc`: an ISO 8601 date and time (UTC unless it names an offset), or a date (its midnight UTC).
pub fn parse_sync_from(text: &str) -> Option<crate::time::Timestamp> {
    use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
    if let Some(at) = crate::time::Timestamp::parse_storage(text) {
        return Some(at);
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|date| date.and_hms_opt(0, 0, 0))
        })?;
    Some(crate::time::Timestamp::from_datetime(
        Utc.from_utc_datetime(&naive),
    ))
}

/// Hours between scheduled pulls unless set otherwise.
pub const DEFAULT_SYNC_SCHEDULE: i64 = 24;

/// Every pullable type, fetched on first link and daily, in catalogue order.
pub fn default_settings() -> Vec<SyncSetting> {
    PULLABLE_TYPES
        .iter()
        .enumerate()
        .map(|(order, t)| SyncSetting {
            data_type: t.data_type.to_owned(),
            fetch_on_first_link: true,
            sync_schedule: DEFAULT_SYNC_SCHEDULE,
            sync_order: order as i64,
            sync_from_utc: None,
            sync_from_window: None,
            months_to_sync: None,
            is_locked: false,
        })
        .collect()
}

/// Why settings were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError(pub String);

/// Checks settings a user sent: known data types, each once, a schedule of 0 hours or more, a `syncFromUtc`
/// that is a date and time, a `syncFromWindow` of at least a month.
pub fn validate(settings: &[SyncSetting]) -> Result<(), SettingsError> {
    let mut seen = std::collections::HashSet::new();
    for setting in settings {
        if !crate::integration::DATA_TYPES.contains(&setting.data_type.as_str()) {
            return Err(SettingsError(format!(
                "'{}' is not a data type",
                setting.data_type
            )));
        }
        if !seen.insert(setting.data_type.as_str()) {
            return Err(SettingsError(format!(
                "{} appears more than once",
                setting.data_type
            )));
        }
        if setting.sync_schedule < 0 {
            return Err(SettingsError(format!(
                "syncSchedule of {} must be 0 or more hours",
                setting.data_type
            )));
        }
        if let Some(from) = &setting.sync_from_utc {
            if parse_sync_from(from).is_none() {
                return Err(SettingsError(format!(
                    "syncFromUtc of {} must be an ISO 8601 date and time, e.g. 2024-01-01T00:00:00Z",
                    setting.data_type
                )));
            }
        }
        if setting.sync_from_window.is_some_and(|months| months < 1) {
            return Err(SettingsError(format!(
                "syncFromWindow of {} must be 1 or more months",
                setting.data_type
            )));
        }
    }
    Ok(())
}

/// Settings someone set, and whether they override what they are laid over.
#[derive(Debug, Clone, Copy)]
pub struct Layer<'a> {
    pub settings: &'a [SyncSetting],
    /// `overridesDefaults`: the settings are the whole list, and a data type they leave out is neither
    /// fetched on first link nor scheduled. Otherwise each setting replaces only its own data type.
    pub overrides: bool,
}

/// The settings in force: defaults, then the client's layer, then the company's, except that a data type the
/// client locked keeps the client's setting. Ordered by `syncOrder`, then data type.
pub fn effective(client: Option<Layer<'_>>, company: Option<Layer<'_>>) -> Vec<SyncSetting> {
    let mut settings = default_settings();
    let apply = |settings: &mut Vec<SyncSetting>, layer: Layer<'_>, respect_locks: bool| {
        if layer.overrides {
            for current in settings.iter_mut() {
                let locked = respect_locks && current.is_locked;
                let listed = layer
                    .settings
                    .iter()
                    .any(|s| s.data_type == current.data_type);
                if !locked && !listed {
                    current.fetch_on_first_link = false;
                    current.sync_schedule = 0;
                }
            }
        }
        for change in layer.settings {
            match settings
                .iter_mut()
                .find(|s| s.data_type == change.data_type)
            {
                Some(current) if respect_locks && current.is_locked => {}
                Some(current) => *current = change.clone(),
                None => settings.push(change.clone()),
            }
        }
    };
    if let Some(client) = client {
        apply(&mut settings, client, false);
    }
    if let Some(company) = company {
        apply(&mut settings, company, true);
    }
    settings.sort_by(|a, b| {
        a.sync_order
            .cmp(&b.sync_order)
            .then_with(|| a.data_type.cmp(&b.data_type))
    });
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_pull_starts_at_sync_from_utc_or_the_window() {
        let now = crate::time::Timestamp::parse_storage("2026-03-31T10:00:00Z").unwrap();
        let mut invoices = setting("invoices", true, 24, false);
        assert_eq!(invoices.sync_from(now), None, "everything");
        invoices.sync_from_window = Some(1);
        assert_eq!(
            invoices.sync_from(now).unwrap().to_storage(),
            "2026-02-28T10:00:00.000Z",
            "a month back, at the end of a shorter month"
        );
        for (text, expected) in [
            ("2025-06-01T08:30:00+02:00", "2025-06-01T06:30:00.000Z"),
            ("2025-06-01T08:30:00.250Z", "2025-06-01T08:30:00.250Z"),
            ("2025-06-01T08:30:00", "2025-06-01T08:30:00.000Z"),
            ("2025-06-01", "2025-06-01T00:00:00.000Z"),
        ] {
            invoices.sync_from_utc = Some(text.to_owned());
            assert_eq!(
                invoices.sync_from(now).unwrap().to_storage(),
                expected,
                "{text}"
            );
        }
        for bad in ["yesterday", "2025-13-01", "01/06/2025", ""] {
            invoices.sync_from_utc = Some(bad.to_owned());
            let refused = validate(std::slice::from_ref(&invoices)).unwrap_err();
            assert!(refused.0.contains("syncFromUtc"), "{bad}: {refused:?}");
        }
        invoices.sync_from_utc = None;
        invoices.sync_from_window = Some(0);
        assert!(validate(&[invoices])
            .unwrap_err()
            .0
            .contains("syncFromWindow"));
    }

    fn setting(data_type: &str, first: bool, hours: i64, locked: bool) -> SyncSetting {
        SyncSetting {
            data_type: data_type.to_owned(),
            fetch_on_first_link: first,
            sync_schedule: hours,
            sync_order: 0,
            sync_from_utc: None,
            sync_from_window: None,
            months_to_sync: None,
            is_locked: locked,
        }
    }

    #[test]
    fn company_settings_override_the_clients_except_locked_ones() {
        let client = [
            setting("invoices", true, 12, true),
            setting("customers", false, 6, false),
        ];
        let company = [
            setting("invoices", false, 1, false),
            setting("customers", true, 2, false),
        ];
        let layer = |settings| Layer {
            settings,
            overrides: false,
        };
        let settings = effective(Some(layer(&client)), Some(layer(&company)));
        let invoices = settings.iter().find(|s| s.data_type == "invoices").unwrap();
        assert_eq!(
            (invoices.fetch_on_first_link, invoices.sync_schedule),
            (true, 12)
        );
        let customers = settings
            .iter()
            .find(|s| s.data_type == "customers")
            .unwrap();
        assert_eq!(
            (customers.fetch_on_first_link, customers.sync_schedule),
            (true, 2)
        );
        // Types nobody set keep the defaults.
        let bills = settings.iter().find(|s| s.data_type == "bills").unwrap();
        assert_eq!(bills.sync_schedule, DEFAULT_SYNC_SCHEDULE);
    }

    #[test]
    fn overriding_settings_switch_off_what_they_leave_out() {
        let client = [setting("invoices", true, 12, false)];
        let settings = effective(
            Some(Layer {
                settings: &client,
                overrides: true,
            }),
            None,
        );
        let invoices = settings.iter().find(|s| s.data_type == "invoices").unwrap();
        assert_eq!(
            (invoices.fetch_on_first_link, invoices.sync_schedule),
            (true, 12)
        );
        assert!(settings
            .iter()
            .filter(|s| s.data_type != "invoices")
            .all(|s| !s.fetch_on_first_link && s.sync_schedule == 0));
    }

    #[test]
    fn validation_names_what_is_wrong() {
        assert!(validate(&[setting("invoices", true, 24, false)]).is_ok());
        let unknown = validate(&[setting("widgets", true, 24, false)]).unwrap_err();
        assert!(unknown.0.contains("widgets"));
        let twice = validate(&[
            setting("invoices", true, 24, false),
            setting("invoices", true, 2, false),
        ])
        .unwrap_err();
        assert!(twice.0.contains("more than once"));
        assert!(validate(&[setting("invoices", true, -1, false)]).is_err());
    }
}
