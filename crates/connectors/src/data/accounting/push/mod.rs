//! What pushes to the accounting platform (`mqjo`) accept, field by field, with the rules no single field
//! can check: reference records ([`records`]), invoices and bills ([`documents`]), payments and journal
//! entries ([`entries`]). The platform sets ids, numbers and every computed amount; the standard model's
//! totals are ignored on a push.

mod documents;
mod entries;
mod records;

use crate::data::push::{Field, Kind, PushSpec};
use crate::data::DataType;

pub(crate) use documents::{BILLS, INVOICES};
pub(crate) use entries::{JOURNAL_ENTRIES, PAYMENTS};
pub(crate) use records::{ACCOUNTS, CUSTOMERS, ITEMS, SUPPLIERS};

/// A field written to the platform's body under `platform`.
pub(super) const fn field(
    standard: &'static str,
    platform: &'static str,
    kind: Kind,
    required: bool,
    display: &'static str,
    description: &'static str,
) -> Field {
    Field {
        standard,
        platform: Some(platform),
        kind,
        required,
        display,
        description,
    }
}

/// A field checked here but written by the data type's rule, or not written at all.
pub(super) const fn checked(
    standard: &'static str,
    kind: Kind,
    required: bool,
    display: &'static str,
    description: &'static str,
) -> Field {
    Field {
        standard,
        platform: None,
        kind,
        required,
        display,
        description,
    }
}

pub(super) const ID: Kind = Kind::Text { max: 64 };

/// The push description of an accounting data type; `None` when it cannot be pushed.
pub(crate) fn spec(data_type: DataType) -> Option<&'static PushSpec> {
    let spec = match data_type {
        DataType::Customers => &CUSTOMERS,
        DataType::Suppliers => &SUPPLIERS,
        DataType::Items => &ITEMS,
        DataType::ChartOfAccounts => &ACCOUNTS,
        DataType::Invoices => &INVOICES,
        DataType::Bills => &BILLS,
        DataType::Payments => &PAYMENTS,
        DataType::JournalEntries => &JOURNAL_ENTRIES,
        _ => return None,
    };
    Some(spec)
}

#[cfg(test)]
pub(super) mod testing {
    use serde_json::Value;

    use crate::data::push::{build, PushSpec};
    use crate::data::PushKind;

    pub(crate) fn body(spec: &PushSpec, record: Value) -> Value {
        Value::Object(
            build(spec, &PushKind::Create, &record).unwrap_or_else(|errors| panic!("{errors:?}")),
        )
    }

    pub(crate) fn error_fields(spec: &PushSpec, kind: &PushKind, record: Value) -> Vec<String> {
        build(spec, kind, &record)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|error| error.field)
            .collect()
    }
}
