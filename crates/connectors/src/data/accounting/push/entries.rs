//! Pushes of payments and journal entries.

use serde_json::{json, Map, Value};

use crate::data::accounting::push::{checked, field, ID};
use crate::data::push::{Choices, Kind, Lines, PushSpec};
use crate::data::standard::minor_units;
use crate::data::{DataType, FieldError};

static INVOICE_LINK: Choices = Choices {
    values: &[("Invoice", "Invoice")],
    update_only: &[],
};

static PAYMENT_LINKS: Lines = Lines {
    fields: &[
        checked(
            "type",
            Kind::Choice(&INVOICE_LINK),
            true,
            "Type",
            "Invoice: a payment settles one invoice.",
        ),
        checked("id", ID, true, "Invoice id", "The invoice paid."),
        checked(
            "amount",
            Kind::SignedAmount,
            false,
            "Amount",
            "How much the invoice's balance goes down, as a negative amount: minus totalAmount.",
        ),
    ],
    min: 1,
    max: 1,
    check: None,
};
static PAYMENT_LINES: Lines = Lines {
    fields: &[
        checked(
            "amount",
            Kind::PositiveAmount,
            false,
            "Amount",
            "Equal to totalAmount.",
        ),
        checked(
            "links",
            Kind::Lines(&PAYMENT_LINKS),
            true,
            "Links",
            "The invoice paid.",
        ),
        checked(
            "allocatedOnDate",
            Kind::Date,
            false,
            "Allocated on",
            "The payment's date.",
        ),
    ],
    min: 1,
    max: 1,
    check: None,
};

/// A payment pays one invoice: the invoice comes from the one link of the one line, and the line and link
/// amounts, when given, agree with the total.
fn payment_rule(record: &Value, body: &mut Map<String, Value>, errors: &mut Vec<FieldError>) {
    let line = &record["lines"][0];
    if let Some(invoice) = line["links"][0]["id"].as_str() {
        body.insert("invoice_id".to_owned(), json!(invoice));
    }
    let Some(total) = record["totalAmount"].as_f64().and_then(minor_units) else {
        return;
    };
    if let Some(amount) = line["amount"].as_f64().and_then(minor_units) {
        if amount != total {
            errors.push(FieldError {
                field: "lines[0].amount".to_owned(),
                message: "must equal totalAmount".to_owned(),
            });
        }
    }
    if let Some(amount) = line["links"][0]["amount"].as_f64().and_then(minor_units) {
        if amount != -total {
            errors.push(FieldError {
                field: "lines[0].links[0].amount".to_owned(),
                message: "must be minus totalAmount".to_owned(),
            });
        }
    }
}

pub(crate) static PAYMENTS: PushSpec = PushSpec {
    data_type: DataType::Payments,
    display: "Payment",
    description: "A customer's payment of one invoice.",
    fields: &[
        field(
            "totalAmount",
            "amount_minor",
            Kind::PositiveAmount,
            true,
            "Total amount",
            "Amount paid, above 0.",
        ),
        field(
            "date",
            "paid_on",
            Kind::Date,
            true,
            "Date",
            "When the payment was made.",
        ),
        checked(
            "customerRef.id",
            ID,
            false,
            "Customer id",
            "The paying customer; the platform takes it from the invoice.",
        ),
        field(
            "accountRef.id",
            "account_id",
            ID,
            false,
            "Account id",
            "The account the money went into.",
        ),
        field(
            "paymentMethodRef.id",
            "method",
            Kind::Text { max: 40 },
            false,
            "Payment method",
            "How the customer paid, such as bank_transfer or card.",
        ),
        field(
            "reference",
            "reference",
            Kind::Text { max: 100 },
            false,
            "Reference",
            "Reference of the payment.",
        ),
        field(
            "currency",
            "currency",
            Kind::Currency,
            false,
            "Currency",
            "ISO 4217 code; the invoice's currency when left out.",
        ),
        checked(
            "lines",
            Kind::Lines(&PAYMENT_LINES),
            true,
            "Lines",
            "One line, linked to the invoice paid.",
        ),
    ],
    rule: Some(payment_rule),
    rule_paths: &[("invoice_id", "lines[0].links[0].id")],
};

static JOURNAL_LINES: Lines = Lines {
    fields: &[
        field(
            "accountRef.id",
            "account_id",
            ID,
            true,
            "Account id",
            "The account the line posts to.",
        ),
        field(
            "description",
            "description",
            Kind::Text { max: 1000 },
            false,
            "Description",
            "What the line is for.",
        ),
        checked(
            "netAmount",
            Kind::SignedAmount,
            true,
            "Net amount",
            "Debits positive, credits negative; the lines add up to 0.",
        ),
        checked(
            "currency",
            Kind::Currency,
            false,
            "Currency",
            "ISO 4217 code, the same on every line; the company's base currency when left out.",
        ),
    ],
    min: 2,
    max: 100,
    check: None,
};

/// Each line's signed net amount becomes the platform's debit or credit; the entry balances, and has one
/// currency.
fn journal_rule(record: &Value, body: &mut Map<String, Value>, errors: &mut Vec<FieldError>) {
    let Some(lines) = record["journalLines"].as_array() else {
        return;
    };
    let mut balance = 0_i64;
    let mut complete = true;
    let mut currency: Option<&str> = None;
    for (position, line) in lines.iter().enumerate() {
        let net = line["netAmount"].as_f64().and_then(minor_units);
        match net {
            Some(net) => balance += net,
            None => complete = false,
        }
        if let Some(written) = body
            .get_mut("lines")
            .and_then(|written| written.get_mut(position))
            .and_then(Value::as_object_mut)
        {
            let net = net.unwrap_or(0);
            written.insert("debit_minor".to_owned(), json!(net.max(0)));
            written.insert("credit_minor".to_owned(), json!((-net).max(0)));
        }
        if let Some(code) = line["currency"].as_str() {
            match currency {
                Some(first) if first != code => errors.push(FieldError {
                    field: format!("journalLines[{position}].currency"),
                    message: "must be the same on every line".to_owned(),
                }),
                Some(_) => {}
                None => currency = Some(code),
            }
        }
    }
    if complete && balance != 0 {
        errors.push(FieldError {
            field: "journalLines".to_owned(),
            message: format!(
                "must balance: the net amounts add up to {}",
                crate::data::standard::amount_of(balance)
            ),
        });
    }
    if let Some(code) = currency {
        body.insert("currency".to_owned(), json!(code));
    }
}

pub(crate) static JOURNAL_ENTRIES: PushSpec = PushSpec {
    data_type: DataType::JournalEntries,
    display: "Journal entry",
    description: "A balanced journal entry.",
    fields: &[
        field(
            "postedOn",
            "entry_date",
            Kind::Date,
            true,
            "Posted on",
            "Date of the entry.",
        ),
        field(
            "description",
            "memo",
            Kind::Text { max: 500 },
            true,
            "Description",
            "What the entry is for.",
        ),
        field(
            "journalLines",
            "lines",
            Kind::Lines(&JOURNAL_LINES),
            true,
            "Journal lines",
            "2 to 100 lines that add up to 0.",
        ),
    ],
    rule: Some(journal_rule),
    rule_paths: &[
        ("lines[].debit_minor", "journalLines[].netAmount"),
        ("lines[].credit_minor", "journalLines[].netAmount"),
        ("currency", "journalLines[0].currency"),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::accounting::push::testing::{body, error_fields};
    use crate::data::push::{build, standard_path};
    use crate::data::PushKind;

    #[test]
    fn a_payment_pays_one_invoice() {
        let record = json!({
            "customerRef": {"id": "cus_0000000012"},
            "accountRef": {"id": "acc_0000000000"},
            "paymentMethodRef": {"id": "bank_transfer"},
            "totalAmount": 100.19,
            "currency": "GBP",
            "date": "2024-03-05T00:00:00",
            "reference": "INV-0000006",
            "lines": [{"amount": 100.19, "links": [{"type": "Invoice", "id": "inv_0000000005", "amount": -100.19}]}],
        });
        assert_eq!(
            body(&PAYMENTS, record.clone()),
            json!({
                "amount_minor": 10019, "paid_on": "2024-03-05", "account_id": "acc_0000000000",
                "method": "bank_transfer", "reference": "INV-0000006", "currency": "GBP",
                "invoice_id": "inv_0000000005",
            })
        );
        let mut wrong = record;
        wrong["lines"][0]["amount"] = json!(50);
        wrong["lines"][0]["links"][0]["amount"] = json!(100.19);
        assert_eq!(
            error_fields(&PAYMENTS, &PushKind::Create, wrong),
            ["lines[0].amount", "lines[0].links[0].amount"]
        );
        let two_links = json!({
            "totalAmount": 10, "date": "2024-03-05",
            "lines": [{"links": [{"type": "Invoice", "id": "inv_1"}, {"type": "CreditNote", "id": "crn_1"}]}],
        });
        assert_eq!(
            error_fields(&PAYMENTS, &PushKind::Create, two_links),
            ["lines[0].links"]
        );
        assert_eq!(
            standard_path(&PAYMENTS, &json!({}), "invoice_id"),
            "lines[0].links[0].id"
        );
    }

    #[test]
    fn a_journal_entry_splits_net_amounts_and_balances() {
        let record = json!({
            "postedOn": "2024-06-30T00:00:00",
            "description": "Payroll accrual",
            "journalLines": [
                {"accountRef": {"id": "acc_0000000023"}, "description": "Wages", "netAmount": 2500, "currency": "GBP"},
                {"accountRef": {"id": "acc_0000000008"}, "netAmount": -2500, "currency": "GBP"},
            ],
        });
        assert_eq!(
            body(&JOURNAL_ENTRIES, record.clone()),
            json!({
                "entry_date": "2024-06-30",
                "memo": "Payroll accrual",
                "lines": [
                    {"account_id": "acc_0000000023", "description": "Wages", "debit_minor": 250000, "credit_minor": 0},
                    {"account_id": "acc_0000000008", "debit_minor": 0, "credit_minor": 250000},
                ],
                "currency": "GBP",
            })
        );
        let mut unbalanced = record;
        unbalanced["journalLines"][1]["netAmount"] = json!(-2499.99);
        unbalanced["journalLines"][1]["currency"] = json!("EUR");
        let errors = build(&JOURNAL_ENTRIES, &PushKind::Create, &unbalanced).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(fields, ["journalLines[1].currency", "journalLines"]);
        assert!(errors[1].message.contains("0.01"), "{}", errors[1].message);
        assert_eq!(
            standard_path(&JOURNAL_ENTRIES, &json!({}), "lines[1].credit_minor"),
            "journalLines[1].netAmount"
        );
        assert_eq!(
            standard_path(&JOURNAL_ENTRIES, &json!({}), "lines[0].account_id"),
            "journalLines[0].accountRef.id"
        );
    }
}
