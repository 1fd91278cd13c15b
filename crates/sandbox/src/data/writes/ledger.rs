//! Ledger writes on mqjo: a payment recorded against an invoice, and a manual journal entry.
//! Both are posted, never edited; a payment pays down its invoice, and a journal entry must
//! balance, as on the accounting platforms these imitate.

use chrono::NaiveDate;
use serde_json::{json, Value};

use super::{account_of_type, Input, MAX_LINES};
use crate::data::accounting::BANK;
use crate::data::model::{Profile, Resource};
use crate::data::View;

/// The largest amount a payment or a journal line may carry, in minor units: large enough for
/// any business, small enough that a hundred lines cannot overflow their sum.
const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000_000;

const PAYMENT_METHODS: [&str; 6] = [
    "bank_transfer",
    "card",
    "direct_debit",
    "cash",
    "cheque",
    "other",
];

/// The invoice a payment is for, when it can take one: approved, not void, with something
/// left to pay.
fn payable_invoice(fields: &mut Input<'_>, view: &View<'_>) -> Option<(String, Value)> {
    let (id, invoice) = fields.reference(view, "invoice_id", Resource::Invoices, true)?;
    let status = invoice["status"].as_str().unwrap_or_default();
    let problem = match status {
        "void" => Some(format!("invoice {id} is void")),
        "draft" => Some(format!(
            "invoice {id} is a draft; approve it before recording a payment"
        )),
        _ if invoice["amount_due_minor"].as_i64().unwrap_or(0) <= 0 => {
            Some(format!("invoice {id} has nothing left to pay"))
        }
        _ => None,
    };
    match problem {
        Some(message) => {
            fields.error("invoice_id", message);
            None
        }
        None => Some((id, invoice)),
    }
}

pub(super) fn payment(fields: &mut Input<'_>, view: &View<'_>, profile: &Profile) -> Value {
    let invoice = payable_invoice(fields, view);
    let invoice_record = invoice.as_ref().map(|(_, record)| record);
    let amount = fields.integer("amount_minor", true, 1, MAX_AMOUNT_MINOR);
    if let (Some(amount), Some(due)) = (
        amount,
        invoice_record.and_then(|record| record["amount_due_minor"].as_i64()),
    ) {
        if amount > due {
            fields.error(
                "amount_minor",
                format!("must be at most the invoice's amount due, {due}"),
            );
        }
    }
    let paid_on = fields.date("paid_on", true);
    let issued = invoice_record
        .and_then(|record| record["issue_date"].as_str())
        .and_then(|issued| NaiveDate::parse_from_str(issued, "%Y-%m-%d").ok());
    if let (Some(paid_on), Some(issued)) = (paid_on, issued) {
        if paid_on < issued {
            fields.error(
                "paid_on",
                format!("must not be before the invoice's issue date, {issued}"),
            );
        }
    }
    let invoice_currency = invoice_record
        .and_then(|record| record["currency"].as_str())
        .unwrap_or(profile.currency)
        .to_owned();
    let currency = fields.currency("currency", &invoice_currency);
    if invoice.is_some() && currency != invoice_currency {
        fields.error(
            "currency",
            format!("must be the invoice's currency, {invoice_currency}"),
        );
    }
    let customer = invoice_record.and_then(|record| record["customer_id"].as_str());
    if let (Some(sent), Some(customer)) = (fields.value("customer_id"), customer) {
        if sent != customer {
            fields.error(
                "customer_id",
                format!("must be the invoice's customer, {customer}; it may be left out"),
            );
        }
    }
    let account = if fields.value("account_id").is_some() {
        account_of_type(fields, view, "account_id", &["asset"])
    } else {
        Some(Resource::Accounts.id(BANK))
    };
    let method = fields.one_of("method", &PAYMENT_METHODS, Some("bank_transfer"));
    let reference = fields
        .string("reference", false, 100)
        .or_else(|| invoice_record.and_then(|record| record["number"].as_str().map(str::to_owned)));
    json!({
        "invoice_id": invoice.as_ref().map(|(id, _)| id),
        "customer_id": customer,
        "amount_minor": amount,
        "currency": currency,
        "paid_on": paid_on.map(|date| date.to_string()),
        "method": method,
        "account_id": account,
        "reference": reference,
    })
}

/// The invoice once `payment` is recorded against it: paid when nothing is left to pay.
pub(super) fn paid_down(invoice: &Value, payment: &Value) -> Value {
    let amount = payment["amount_minor"].as_i64().unwrap_or(0);
    let paid = invoice["amount_paid_minor"].as_i64().unwrap_or(0) + amount;
    let due = invoice["amount_due_minor"].as_i64().unwrap_or(0) - amount;
    let mut invoice = invoice.clone();
    invoice["amount_paid_minor"] = json!(paid);
    invoice["amount_due_minor"] = json!(due);
    if due == 0 {
        invoice["status"] = json!("paid");
    }
    invoice
}

/// A journal line: `(account, description, debit, credit)`, exactly one of the amounts above 0.
fn journal_line(
    line: &mut Input<'_>,
    view: &View<'_>,
    memo: Option<&String>,
) -> Option<(String, Option<String>, i64, i64)> {
    let errors_before = line.errors.len();
    let account = line.reference(view, "account_id", Resource::Accounts, true);
    let description = line.string("description", false, 1000).or(memo.cloned());
    let debit = line.integer("debit_minor", false, 0, MAX_AMOUNT_MINOR);
    let credit = line.integer("credit_minor", false, 0, MAX_AMOUNT_MINOR);
    if line.errors.len() > errors_before {
        return None;
    }
    match (debit.unwrap_or(0), credit.unwrap_or(0)) {
        (0, 0) => {
            line.error(
                "debit_minor",
                "a line needs debit_minor or credit_minor above 0",
            );
            None
        }
        (debit, credit) if debit > 0 && credit > 0 => {
            line.error(
                "credit_minor",
                "a line is a debit or a credit, not both; debit_minor is already set",
            );
            None
        }
        (debit, credit) => account.map(|(id, _)| (id, description, debit, credit)),
    }
}

pub(super) fn journal_entry(
    fields: &mut Input<'_>,
    view: &View<'_>,
    profile: &Profile,
    id: &str,
) -> Value {
    let entry_date = fields.date("entry_date", true);
    let memo = fields.string("memo", false, 500);
    let currency = fields.currency("currency", profile.currency);
    let index = Resource::JournalEntries.index_of(id).unwrap_or_default();
    let mut lines = Vec::new();
    let (mut debits, mut credits) = (0, 0);
    if let Some(items) = fields.array("lines", MAX_LINES) {
        if items.len() < 2 {
            fields.error(
                "lines",
                "must have at least two lines, a debit and a credit",
            );
        }
        let mut every_line_valid = true;
        for (position, item) in items.iter().enumerate() {
            let Some(mut line) = fields.nested("lines", position, item) else {
                every_line_valid = false;
                continue;
            };
            match journal_line(&mut line, view, memo.as_ref()) {
                Some((account, description, debit, credit)) => {
                    debits += debit;
                    credits += credit;
                    lines.push(json!({
                        "account_id": account,
                        "description": description,
                        "debit_minor": debit,
                        "credit_minor": credit,
                    }));
                }
                None => every_line_valid = false,
            }
        }
        if every_line_valid && items.len() >= 2 && debits != credits {
            fields.error(
                "lines",
                format!("debits ({debits}) and credits ({credits}) must be equal"),
            );
        }
    }
    json!({
        "number": format!("JE-{:06}", index + 1),
        "entry_date": entry_date.map(|date| date.to_string()),
        "memo": memo,
        "currency": currency,
        "lines": lines,
        "total_minor": debits,
    })
}
