//! Pushes of invoices and bills.

use serde_json::{Map, Value};

use crate::data::accounting::push::{field, ID};
use crate::data::push::{parse_date, Choices, Kind, Lines, PushSpec};
use crate::data::{DataType, FieldError};

/// Invoice statuses a push may set; Codat's `Submitted` is an approved, open invoice.
static INVOICE_STATUS: Choices = Choices {
    values: &[("Draft", "draft"), ("Submitted", "open"), ("Void", "void")],
    update_only: &["Void"],
};
/// Bill statuses a push may set.
static BILL_STATUS: Choices = Choices {
    values: &[("Draft", "draft"), ("Open", "open"), ("Void", "void")],
    update_only: &["Void"],
};

/// A document line sells or buys either an item (whose price, account and tax rate are the defaults) or a
/// described amount booked to an account.
fn check_document_line(line: &Value, prefix: &str, errors: &mut Vec<FieldError>) {
    if !line["itemRef"]["id"].is_null() {
        return;
    }
    for (field, present) in [
        ("description", !line["description"].is_null()),
        ("unitAmount", !line["unitAmount"].is_null()),
        ("accountRef.id", !line["accountRef"]["id"].is_null()),
    ] {
        if !present {
            errors.push(FieldError {
                field: format!("{prefix}{field}"),
                message: "is required when the line has no itemRef".to_owned(),
            });
        }
    }
}

macro_rules! line_fields {
    ($account:literal) => {
        [
            field(
                "itemRef.id",
                "item_id",
                ID,
                false,
                "Item id",
                "The item; its price, account and tax rate are the defaults of the line.",
            ),
            field(
                "description",
                "description",
                Kind::Text { max: 1000 },
                false,
                "Description",
                "Required without an item.",
            ),
            field(
                "quantity",
                "quantity",
                Kind::Quantity,
                true,
                "Quantity",
                "Above 0.",
            ),
            field(
                "unitAmount",
                "unit_price_minor",
                Kind::Amount,
                false,
                "Unit amount",
                "Price of one unit before tax; required without an item.",
            ),
            field(
                "accountRef.id",
                "account_id",
                ID,
                false,
                "Account id",
                $account,
            ),
            field(
                "taxRateRef.id",
                "tax_rate_id",
                ID,
                false,
                "Tax rate id",
                "Tax on the line; the item's rate, or none, when left out.",
            ),
        ]
    };
}

static INVOICE_LINES: Lines = Lines {
    fields: &line_fields!("An Income account; required without an item."),
    min: 1,
    max: 100,
    check: Some(check_document_line),
};
static BILL_LINES: Lines = Lines {
    fields: &line_fields!("An Expense or Asset account; required without an item."),
    min: 1,
    max: 100,
    check: Some(check_document_line),
};

/// A due date is not before the issue date.
fn check_due_date(record: &Value, _body: &mut Map<String, Value>, errors: &mut Vec<FieldError>) {
    let issued = record["issueDate"].as_str().and_then(parse_date);
    let due = record["dueDate"].as_str().and_then(parse_date);
    if let (Some(issued), Some(due)) = (issued, due) {
        if due < issued {
            errors.push(FieldError {
                field: "dueDate".to_owned(),
                message: "must not be before issueDate".to_owned(),
            });
        }
    }
}

pub(crate) static INVOICES: PushSpec = PushSpec {
    data_type: DataType::Invoices,
    display: "Invoice",
    description: "An invoice to a customer. The platform numbers it and computes its totals.",
    fields: &[
        field(
            "customerRef.id",
            "customer_id",
            ID,
            true,
            "Customer id",
            "The customer invoiced.",
        ),
        field(
            "issueDate",
            "issue_date",
            Kind::Date,
            true,
            "Issue date",
            "Date of the invoice.",
        ),
        field(
            "dueDate",
            "due_date",
            Kind::Date,
            false,
            "Due date",
            "The customer's payment terms after the issue date when left out.",
        ),
        field(
            "status",
            "status",
            Kind::Choice(&INVOICE_STATUS),
            false,
            "Status",
            "Draft when left out; Void only on an update.",
        ),
        field(
            "currency",
            "currency",
            Kind::Currency,
            false,
            "Currency",
            "ISO 4217 code; the company's base currency when left out.",
        ),
        field(
            "note",
            "reference",
            Kind::Text { max: 100 },
            false,
            "Note",
            "The customer's reference, such as a purchase order number.",
        ),
        field(
            "lineItems",
            "lines",
            Kind::Lines(&INVOICE_LINES),
            true,
            "Line items",
            "What is sold, 1 to 100 lines.",
        ),
    ],
    rule: Some(check_due_date),
    rule_paths: &[],
};

pub(crate) static BILLS: PushSpec = PushSpec {
    data_type: DataType::Bills,
    display: "Bill",
    description: "A bill from a supplier. The platform numbers it and computes its totals.",
    fields: &[
        field(
            "supplierRef.id",
            "supplier_id",
            ID,
            true,
            "Supplier id",
            "The supplier that billed.",
        ),
        field(
            "issueDate",
            "issue_date",
            Kind::Date,
            true,
            "Issue date",
            "Date of the bill.",
        ),
        field(
            "dueDate",
            "due_date",
            Kind::Date,
            false,
            "Due date",
            "The supplier's payment terms after the issue date when left out.",
        ),
        field(
            "status",
            "status",
            Kind::Choice(&BILL_STATUS),
            false,
            "Status",
            "Draft when left out; Void only on an update.",
        ),
        field(
            "currency",
            "currency",
            Kind::Currency,
            false,
            "Currency",
            "ISO 4217 code; the company's base currency when left out.",
        ),
        field(
            "note",
            "reference",
            Kind::Text { max: 100 },
            false,
            "Note",
            "The supplier's reference.",
        ),
        field(
            "lineItems",
            "lines",
            Kind::Lines(&BILL_LINES),
            true,
            "Line items",
            "What is bought, 1 to 100 lines.",
        ),
    ],
    rule: Some(check_due_date),
    rule_paths: &[],
};

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::data::accounting::push::testing::{body, error_fields};
    use crate::data::PushKind;

    #[test]
    fn an_invoice_becomes_the_platform_body() {
        let record = json!({
            "customerRef": {"id": "cus_0000000012", "companyName": "Harbour Analytics Ltd"},
            "issueDate": "2024-03-01T00:00:00",
            "dueDate": "2024-03-31T00:00:00",
            "status": "Submitted",
            "currency": "GBP",
            "note": "PO-04417",
            "lineItems": [
                {"itemRef": {"id": "itm_0000000004"}, "quantity": 2},
                {"description": "Installation", "quantity": 1.5, "unitAmount": 60, "accountRef": {"id": "acc_0000000012"}, "taxRateRef": {"id": "txr_0000000002"}},
            ],
            "totalAmount": 181.98,
            "status_history": [],
        });
        assert_eq!(
            body(&INVOICES, record),
            json!({
                "customer_id": "cus_0000000012",
                "issue_date": "2024-03-01",
                "due_date": "2024-03-31",
                "status": "open",
                "currency": "GBP",
                "reference": "PO-04417",
                "lines": [
                    {"item_id": "itm_0000000004", "quantity": 2},
                    {"description": "Installation", "quantity": 1.5, "unit_price_minor": 6000, "account_id": "acc_0000000012", "tax_rate_id": "txr_0000000002"},
                ],
            })
        );
    }

    #[test]
    fn invoice_checks_name_codat_fields() {
        let record = json!({
            "customerRef": {"id": "cus_0000000012"},
            "issueDate": "2024-03-10",
            "dueDate": "2024-03-01",
            "status": "Paid",
            "lineItems": [{"quantity": -1}, {"itemRef": {"id": "itm_1"}, "quantity": "two"}],
        });
        assert_eq!(
            error_fields(&INVOICES, &PushKind::Create, record),
            [
                "status",
                "lineItems[0].quantity",
                "lineItems[0].description",
                "lineItems[0].unitAmount",
                "lineItems[0].accountRef.id",
                "lineItems[1].quantity",
                "dueDate",
            ]
        );
        let void = json!({"supplierRef": {"id": "sup_1"}, "issueDate": "2024-03-10", "status": "Void", "lineItems": [{"itemRef": {"id": "itm_1"}, "quantity": 1}]});
        assert_eq!(
            error_fields(&BILLS, &PushKind::Create, void.clone()),
            ["status"]
        );
        let update = PushKind::Update { id: "bil_1".into() };
        assert!(error_fields(&BILLS, &update, void).is_empty());
    }
}
