//! Pushes described as data: each pushable data type lists the fields it accepts (where each sits in the
//! standard model, where it goes in the platform's body, what it must look like), and that one description
//! drives the checks of a pushed record, the platform body built from it, the translation of the platform's
//! own field errors back into standard-model paths ([`paths`]), and the `PushOption` document ([`options`]).
//!
//! Fields of a pushed record that the description does not list (ids, totals the platform computes,
//! `metadata`...) are ignored, as Codat ignores them.

pub(crate) mod options;
mod paths;

pub(crate) use paths::standard_path;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde_json::{json, Map, Value};

use crate::data::standard::minor_units;
use crate::data::{DataType, FieldError, PushKind};

/// What a field's value must be, and how it is written for the platform.
#[derive(Debug)]
pub(crate) enum Kind {
    /// A string of at most `max` characters.
    Text { max: usize },
    /// An e-mail address.
    Email,
    /// A string of digits (a nominal code).
    Digits { max: usize },
    /// An amount in major units, zero or more; written in minor units.
    Amount,
    /// An amount in major units above zero; written in minor units.
    PositiveAmount,
    /// An amount in major units other than zero, either sign; mapped by the data type's own rule.
    SignedAmount,
    /// A quantity above zero; written as the number it is.
    Quantity,
    /// A date or date-time; written as `YYYY-MM-DD`.
    Date,
    /// An ISO 4217 currency code.
    Currency,
    /// An ISO 3166 alpha-2 country code.
    Country,
    /// One of the standard model's values, each written as the platform's.
    Choice(&'static Choices),
    /// An array of objects.
    Lines(&'static Lines),
    /// The standard model's `addresses`, of which the billing one (or else the first) becomes the platform's
    /// single address object.
    Address(&'static [Field]),
}

/// Allowed values: `(standard, platform)`, some of them only when updating a record. Mappings that read the
/// platform use the same table the other way.
#[derive(Debug)]
pub(crate) struct Choices {
    pub values: &'static [(&'static str, &'static str)],
    pub update_only: &'static [&'static str],
}

impl Choices {
    /// The standard value of the platform's `value`; `otherwise` for a value the table does not have.
    pub(crate) fn standard_of(&self, value: &Value, otherwise: &'static str) -> Value {
        let found = self
            .values
            .iter()
            .find(|(_, platform)| value.as_str() == Some(platform))
            .map_or(otherwise, |(standard, _)| standard);
        json!(found)
    }
}

/// The objects of an array field.
#[derive(Debug)]
pub(crate) struct Lines {
    pub fields: &'static [Field],
    pub min: usize,
    pub max: usize,
    /// Rules across the fields of one entry; gets the entry and its path prefix (`lineItems[2].`).
    pub check: Option<fn(&Value, &str, &mut Vec<FieldError>)>,
}

/// One field a push accepts.
#[derive(Debug)]
pub(crate) struct Field {
    /// Its path in the standard model, relative to its parent (`customerRef.id`).
    pub standard: &'static str,
    /// Its name in the platform's body; `None` when the data type's own rule maps it.
    pub platform: Option<&'static str>,
    pub kind: Kind,
    pub required: bool,
    pub display: &'static str,
    pub description: &'static str,
}

/// A rule across the fields of a record: gets the record, the body built so far, and the errors so far.
pub(crate) type RecordRule = fn(&Value, &mut Map<String, Value>, &mut Vec<FieldError>);

/// Everything a data type's push accepts.
#[derive(Debug)]
pub(crate) struct PushSpec {
    pub data_type: DataType,
    pub display: &'static str,
    pub description: &'static str,
    pub fields: &'static [Field],
    /// Rules across fields, and mappings the field list cannot express.
    pub rule: Option<RecordRule>,
    /// Platform field paths the rule writes, with the standard paths they come from (`[]` for an index).
    pub rule_paths: &'static [(&'static str, &'static str)],
}

fn error(errors: &mut Vec<FieldError>, field: impl Into<String>, message: impl Into<String>) {
    errors.push(FieldError {
        field: field.into(),
        message: message.into(),
    });
}

/// The value at a dotted path; `Err` with the path of a step that is there but is not an object.
pub(super) fn lookup<'a>(record: &'a Value, path: &str) -> Result<Option<&'a Value>, String> {
    let mut node = record;
    let mut walked = String::new();
    for step in path.split('.') {
        if !walked.is_empty() {
            walked.push('.');
        }
        match node {
            Value::Object(fields) => match fields.get(step) {
                Some(next) => node = next,
                None => return Ok(None),
            },
            Value::Null => return Ok(None),
            _ => return Err(walked.trim_end_matches('.').to_owned()),
        }
        walked.push_str(step);
    }
    Ok(Some(node))
}

/// A date or date-time as the date it names.
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|at| at.date())
        })
        .or_else(|| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|at| at.date_naive())
        })
}

/// Which of the standard model's addresses is the billing one: the first typed `Billing`, else the first.
pub(crate) fn billing_index(addresses: &Value) -> usize {
    addresses
        .as_array()
        .and_then(|all| all.iter().position(|address| address["type"] == "Billing"))
        .unwrap_or(0)
}

struct Builder<'a> {
    update: bool,
    errors: &'a mut Vec<FieldError>,
}

impl Builder<'_> {
    /// Checks `fields` of `source` and writes the accepted ones into `body`.
    fn fields(
        &mut self,
        fields: &[Field],
        source: &Value,
        prefix: &str,
        body: &mut Map<String, Value>,
    ) {
        for field in fields {
            let path = format!("{prefix}{}", field.standard);
            let value = match lookup(source, field.standard) {
                Ok(value) => value,
                Err(step) => {
                    error(self.errors, format!("{prefix}{step}"), "must be an object");
                    continue;
                }
            };
            match value {
                None | Some(Value::Null) => {
                    if field.required {
                        error(self.errors, path, "is required");
                    } else if let (true, Some(Value::Null), Some(name)) =
                        (self.update, value, field.platform)
                    {
                        // An update that sends null clears the field.
                        body.insert(name.to_owned(), Value::Null);
                    }
                }
                Some(value) => {
                    if let Some(written) = self.value(field, value, &path) {
                        if let Some(name) = field.platform {
                            body.insert(name.to_owned(), written);
                        }
                    }
                }
            }
        }
    }

    /// The platform's form of one present value, or `None` after recording why it is not acceptable.
    fn value(&mut self, field: &Field, value: &Value, path: &str) -> Option<Value> {
        let errors = &mut *self.errors;
        let mut fail = |message: String| {
            error(errors, path, message);
            None
        };
        match &field.kind {
            Kind::Text { max } => match value.as_str() {
                Some(text) if field.required && text.trim().is_empty() => {
                    fail("must not be empty".into())
                }
                Some(text) if text.chars().count() > *max => {
                    fail(format!("must be at most {max} characters"))
                }
                Some(text) => Some(json!(text)),
                None => fail("must be a string".into()),
            },
            Kind::Email => match value.as_str() {
                Some(text) if is_email(text) && text.len() <= 254 => Some(json!(text)),
                _ => fail("must be an e-mail address".into()),
            },
            Kind::Digits { max } => match value.as_str() {
                Some(text)
                    if !text.is_empty()
                        && text.len() <= *max
                        && text.bytes().all(|byte| byte.is_ascii_digit()) =>
                {
                    Some(json!(text))
                }
                _ => fail(format!("must be a string of 1 to {max} digits")),
            },
            Kind::Amount | Kind::PositiveAmount | Kind::SignedAmount => {
                let Some(number) = value.as_f64() else {
                    return fail("must be a number".into());
                };
                let Some(minor) = minor_units(number) else {
                    return fail("must have at most two decimals".into());
                };
                match field.kind {
                    Kind::Amount if minor < 0 => fail("must not be negative".into()),
                    Kind::PositiveAmount if minor <= 0 => fail("must be above 0".into()),
                    Kind::SignedAmount if minor == 0 => fail("must not be 0".into()),
                    _ if minor.abs() > i64::from(i32::MAX) => fail("is too large".into()),
                    _ => Some(json!(minor)),
                }
            }
            Kind::Quantity => match value.as_f64() {
                Some(quantity) if quantity > 0.0 && quantity <= 1_000_000.0 => Some(value.clone()),
                Some(_) => fail("must be above 0 and at most 1000000".into()),
                None => fail("must be a number".into()),
            },
            Kind::Date => match value.as_str().and_then(parse_date) {
                Some(date) => Some(json!(date.format("%Y-%m-%d").to_string())),
                None => fail("must be a date such as 2024-03-01T00:00:00".into()),
            },
            Kind::Currency => match value.as_str() {
                Some(code) if is_code(code, 3) => Some(json!(code)),
                _ => fail("must be an ISO 4217 currency code such as GBP".into()),
            },
            Kind::Country => match value.as_str() {
                Some(code) if is_code(code, 2) => Some(json!(code)),
                _ => fail("must be an ISO 3166 alpha-2 country code such as GB".into()),
            },
            Kind::Choice(choices) => {
                let allowed: Vec<&(&str, &str)> = choices
                    .values
                    .iter()
                    .filter(|(standard, _)| self.update || !choices.update_only.contains(standard))
                    .collect();
                match allowed
                    .iter()
                    .find(|(standard, _)| value.as_str() == Some(standard))
                {
                    Some((_, platform)) => Some(json!(platform)),
                    None => {
                        let names: Vec<&str> =
                            allowed.iter().map(|(standard, _)| *standard).collect();
                        error(
                            self.errors,
                            path,
                            format!("must be one of {}", names.join(", ")),
                        );
                        None
                    }
                }
            }
            Kind::Lines(lines) => self.lines(lines, value, path),
            Kind::Address(fields) => {
                let Some(addresses) = value.as_array() else {
                    return fail("must be an array".into());
                };
                let chosen = billing_index(value);
                let address = addresses.get(chosen)?;
                if !address.is_object() {
                    return fail(format!("[{chosen}] must be an object"));
                }
                let mut written = Map::new();
                self.fields(fields, address, &format!("{path}[{chosen}]."), &mut written);
                Some(Value::Object(written))
            }
        }
    }

    fn lines(&mut self, lines: &Lines, value: &Value, path: &str) -> Option<Value> {
        let Some(entries) = value.as_array() else {
            error(self.errors, path, "must be an array");
            return None;
        };
        if entries.len() < lines.min {
            error(
                self.errors,
                path,
                format!("must have at least {} entries", lines.min),
            );
            return None;
        }
        if entries.len() > lines.max {
            error(
                self.errors,
                path,
                format!("must have at most {} entries", lines.max),
            );
            return None;
        }
        let mut written = Vec::with_capacity(entries.len());
        for (position, entry) in entries.iter().enumerate() {
            let prefix = format!("{path}[{position}].");
            if !entry.is_object() {
                error(
                    self.errors,
                    format!("{path}[{position}]"),
                    "must be an object",
                );
                continue;
            }
            let mut line = Map::new();
            self.fields(lines.fields, entry, &prefix, &mut line);
            if let Some(check) = lines.check {
                check(entry, &prefix, self.errors);
            }
            written.push(Value::Object(line));
        }
        Some(Value::Array(written))
    }
}

fn is_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !text.contains(' ')
        }
        None => false,
    }
}

fn is_code(text: &str, length: usize) -> bool {
    text.len() == length && text.bytes().all(|byte| byte.is_ascii_uppercase())
}

/// Checks a record for a create or an update and builds the platform's body from it: the body, or every
/// unacceptable field.
pub(crate) fn build(
    spec: &PushSpec,
    kind: &PushKind,
    record: &Value,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut body = Map::new();
    if !record.is_object() {
        error(&mut errors, "", "the record must be a JSON object");
        return Err(errors);
    }
    if let PushKind::Update { id } = kind {
        if record["id"].as_str().is_some_and(|given| given != id) {
            error(
                &mut errors,
                "id",
                "does not match the id of the record being updated",
            );
        }
    }
    let mut builder = Builder {
        update: matches!(kind, PushKind::Update { .. }),
        errors: &mut errors,
    };
    builder.fields(spec.fields, record, "", &mut body);
    if let Some(rule) = spec.rule {
        rule(record, &mut body, &mut errors);
    }
    if errors.is_empty() {
        Ok(body)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    static STATUS: Choices = Choices {
        values: &[("Draft", "draft"), ("Submitted", "open"), ("Void", "void")],
        update_only: &["Void"],
    };
    static LINES: Lines = Lines {
        fields: &[
            Field {
                standard: "itemRef.id",
                platform: Some("item_id"),
                kind: Kind::Text { max: 64 },
                required: false,
                display: "Item",
                description: "The item sold.",
            },
            Field {
                standard: "quantity",
                platform: Some("quantity"),
                kind: Kind::Quantity,
                required: true,
                display: "Quantity",
                description: "How many.",
            },
            Field {
                standard: "unitAmount",
                platform: Some("unit_price_minor"),
                kind: Kind::Amount,
                required: false,
                display: "Unit amount",
                description: "Price of one.",
            },
        ],
        min: 1,
        max: 3,
        check: None,
    };
    static ADDRESS: [Field; 1] = [Field {
        standard: "country",
        platform: Some("country"),
        kind: Kind::Country,
        required: false,
        display: "Country",
        description: "Country code.",
    }];
    pub(super) static SPEC: PushSpec = PushSpec {
        data_type: DataType::Invoices,
        display: "Invoice",
        description: "An invoice.",
        fields: &[
            Field {
                standard: "customerRef.id",
                platform: Some("customer_id"),
                kind: Kind::Text { max: 64 },
                required: true,
                display: "Customer",
                description: "Who is invoiced.",
            },
            Field {
                standard: "issueDate",
                platform: Some("issue_date"),
                kind: Kind::Date,
                required: true,
                display: "Issue date",
                description: "When.",
            },
            Field {
                standard: "status",
                platform: Some("status"),
                kind: Kind::Choice(&STATUS),
                required: false,
                display: "Status",
                description: "Status.",
            },
            Field {
                standard: "note",
                platform: Some("reference"),
                kind: Kind::Text { max: 10 },
                required: false,
                display: "Note",
                description: "A note.",
            },
            Field {
                standard: "addresses",
                platform: Some("billing_address"),
                kind: Kind::Address(&ADDRESS),
                required: false,
                display: "Addresses",
                description: "Where.",
            },
            Field {
                standard: "lineItems",
                platform: Some("lines"),
                kind: Kind::Lines(&LINES),
                required: true,
                display: "Lines",
                description: "What is sold.",
            },
        ],
        rule: None,
        rule_paths: &[("invoice_id", "lines[0].links[0].id")],
    };

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|error| error.field.as_str()).collect()
    }

    #[test]
    fn a_good_record_becomes_the_platform_body() {
        let record = json!({
            "id": "ignored",
            "customerRef": {"id": "cus_1", "companyName": "ignored"},
            "issueDate": "2024-03-01T00:00:00",
            "status": "Submitted",
            "addresses": [{"type": "Delivery", "country": "FR"}, {"type": "Billing", "country": "GB"}],
            "lineItems": [{"itemRef": {"id": "itm_1"}, "quantity": 2}, {"quantity": 0.5, "unitAmount": 12.34}],
            "totalAmount": 99,
        });
        let body = build(&SPEC, &PushKind::Create, &record).unwrap();
        assert_eq!(
            Value::Object(body),
            json!({
                "customer_id": "cus_1",
                "issue_date": "2024-03-01",
                "status": "open",
                "billing_address": {"country": "GB"},
                "lines": [{"item_id": "itm_1", "quantity": 2}, {"quantity": 0.5, "unit_price_minor": 1234}],
            })
        );
    }

    #[test]
    fn every_bad_field_is_named_by_its_standard_path() {
        let record = json!({
            "customerRef": "cus_1",
            "issueDate": "1 March",
            "status": "Void",
            "note": "far too long a note",
            "addresses": [{"country": "gb"}],
            "lineItems": [{"quantity": 0}, {"quantity": 1, "unitAmount": 1.001}, 7],
        });
        let errors = build(&SPEC, &PushKind::Create, &record).unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                "customerRef",
                "issueDate",
                "status",
                "note",
                "addresses[0].country",
                "lineItems[0].quantity",
                "lineItems[1].unitAmount",
                "lineItems[2]",
            ]
        );
        assert!(
            errors[2].message.contains("Draft, Submitted"),
            "{}",
            errors[2].message
        );
        let missing = build(&SPEC, &PushKind::Create, &json!({"lineItems": []})).unwrap_err();
        assert_eq!(
            fields(&missing),
            ["customerRef.id", "issueDate", "lineItems"]
        );
    }

    #[test]
    fn updates_may_use_update_only_values_and_clear_fields() {
        let record = json!({
            "id": "inv_1",
            "customerRef": {"id": "cus_1"},
            "issueDate": "2024-03-01",
            "status": "Void",
            "note": null,
            "lineItems": [{"quantity": 1}],
        });
        let update = PushKind::Update { id: "inv_1".into() };
        let body = build(&SPEC, &update, &record).unwrap();
        assert_eq!(body["status"], "void");
        assert_eq!(body["reference"], Value::Null);
        let other = PushKind::Update { id: "inv_2".into() };
        assert_eq!(fields(&build(&SPEC, &other, &record).unwrap_err()), ["id"]);
    }

    #[test]
    fn dates_are_read_in_every_codat_form() {
        for text in [
            "2024-03-01",
            "2024-03-01T00:00:00",
            "2024-03-01T10:11:12.5",
            "2024-03-01T23:00:00Z",
        ] {
            assert_eq!(
                parse_date(text),
                NaiveDate::from_ymd_opt(2024, 3, 1),
                "{text}"
            );
        }
        assert_eq!(parse_date("01/03/2024"), None);
    }
}
