//! The accounting platform's records (`mqjo`) in Codat's accounting model, and back for pushes.

pub(crate) mod contacts;
pub(crate) mod documents;
pub(crate) mod ledger;
pub(crate) mod push;

use serde_json::Value;

use crate::data::standard::Unmappable;
use crate::data::DataType;

/// A listed accounting record in the standard model; `None` for a data type that is not an accounting list
/// (the company is mapped by [`ledger::company_info`]).
pub(crate) fn to_standard(
    data_type: DataType,
    record: &Value,
) -> Option<Result<Value, Unmappable>> {
    let mapped = match data_type {
        DataType::ChartOfAccounts => ledger::account(record),
        DataType::TaxRates => ledger::tax_rate(record),
        DataType::Items => ledger::item(record),
        DataType::BankAccounts => ledger::bank_account(record),
        DataType::JournalEntries => ledger::journal_entry(record),
        DataType::Customers => contacts::customer(record),
        DataType::Suppliers => contacts::supplier(record),
        DataType::Invoices => return Some(documents::invoice(record)),
        DataType::Bills => return Some(documents::bill(record)),
        DataType::CreditNotes => return Some(documents::credit_note(record)),
        DataType::Payments => documents::payment(record),
        DataType::BillPayments => documents::bill_payment(record),
        _ => return None,
    };
    Some(Ok(mapped))
}
