//! Invoices, bills, credit notes and the payments against invoices and bills, from the accounting platform
//! (`mqjo`) into Codat's `AccountingInvoice`, `AccountingBill`, `AccountingCreditNote`, `AccountingPayment` and
//! `AccountingBillPayment`.
//!
//! The platform's `reference` on a document (a purchase-order number, say) has no field of its own in the
//! standard model and is carried in `note`; a push maps `note` back to it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{json, Number, Value};

use crate::data::standard::{
    amount, amount_of, choice, compact, date, date_text, identity_of, named_reference, timestamp,
    timestamp_text, Amount, Ref, Unmappable,
};
use crate::data::JsonRecord;

/// Payment methods with a display name; any other method is shown by its key.
const PAYMENT_METHODS: [(&str, &str); 3] = [
    ("bank_transfer", "Bank transfer"),
    ("card", "Card"),
    ("direct_debit", "Direct debit"),
];

/// An invoice, bill or credit note as the platform lists it (a tombstone has `deleted` and no more). Strings
/// are borrowed from the platform's answer where they need no unescaping, so a page of documents is read
/// without building a JSON tree for it.
#[derive(Debug, Deserialize)]
struct PlatformDocument<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(default)]
    deleted: bool,
    #[serde(default, borrow)]
    updated_at: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    number: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    customer_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    customer_name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    supplier_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    supplier_name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    issue_date: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    due_date: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    currency: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reference: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    lines: Option<Vec<PlatformLine<'a>>>,
    #[serde(default)]
    subtotal_minor: Option<i64>,
    #[serde(default)]
    tax_minor: Option<i64>,
    #[serde(default)]
    total_minor: Option<i64>,
    #[serde(default)]
    amount_paid_minor: Option<i64>,
    #[serde(default)]
    amount_due_minor: Option<i64>,
    #[serde(default)]
    remaining_credit_minor: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct PlatformLine<'a> {
    #[serde(default)]
    line_number: Option<i64>,
    #[serde(default, borrow)]
    item_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    item_name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    description: Option<Cow<'a, str>>,
    #[serde(default)]
    quantity: Option<Number>,
    #[serde(default)]
    unit_price_minor: Option<i64>,
    #[serde(default, borrow)]
    account_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    account_name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tax_rate_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tax_rate_name: Option<Cow<'a, str>>,
    #[serde(default)]
    subtotal_minor: Option<i64>,
    #[serde(default)]
    tax_minor: Option<i64>,
    #[serde(default)]
    total_minor: Option<i64>,
}

/// Which of the three a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocumentKind {
    Invoice,
    Bill,
    CreditNote,
}

/// An `AccountingInvoice`, `AccountingBill` or `AccountingCreditNote`, members in name order (as a JSON
/// object of the standard model is written everywhere else), absent members left out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StandardDocument<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    amount_due: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credit_note_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_ref: Option<Ref<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    due_date: Option<String>,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoice_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issue_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line_items: Option<Vec<StandardLine<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remaining_credit: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_modified_date: Option<String>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_total: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier_ref: Option<Ref<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tax_amount: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_amount: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_tax_amount: Option<Amount>,
}

/// A document line; bills number theirs (`lineNumber`), invoices and credit notes have no such member.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StandardLine<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    account_ref: Option<Ref<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    item_ref: Option<Ref<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quantity: Option<&'a Number>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_total: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tax_amount: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tax_rate_ref: Option<Ref<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_amount: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit_amount: Option<Amount>,
}

impl StandardLine<'_> {
    fn is_empty(&self) -> bool {
        self.account_ref.is_none()
            && self.description.is_none()
            && self.item_ref.is_none()
            && self.line_number.is_none()
            && self.quantity.is_none()
            && self.sub_total.is_none()
            && self.tax_amount.is_none()
            && self.tax_rate_ref.is_none()
            && self.total_amount.is_none()
            && self.unit_amount.is_none()
    }
}

fn is_partly_paid(document: &PlatformDocument<'_>) -> bool {
    document.amount_paid_minor.unwrap_or(0) > 0
}

fn status(document: &PlatformDocument<'_>, kind: DocumentKind) -> &'static str {
    let status = document.status.as_deref();
    if kind == DocumentKind::CreditNote {
        let remaining = document.remaining_credit_minor.unwrap_or(0);
        let total = document.total_minor.unwrap_or(0);
        return match status {
            Some("open") if remaining > 0 && remaining < total => "PartiallyPaid",
            Some("open") => "Submitted",
            Some("applied") => "Paid",
            Some("void") => "Void",
            _ => "Unknown",
        };
    }
    match status {
        Some("draft") => "Draft",
        Some("open") if is_partly_paid(document) => "PartiallyPaid",
        Some("open") if kind == DocumentKind::Bill => "Open",
        Some("open") => "Submitted",
        Some("paid") => "Paid",
        Some("void") => "Void",
        _ => "Unknown",
    }
}

fn line<'a>(line: &'a PlatformLine<'a>, numbered: bool) -> StandardLine<'a> {
    StandardLine {
        account_ref: Ref::named(
            line.account_id.as_deref(),
            "name",
            line.account_name.as_deref(),
        ),
        description: line.description.as_deref(),
        item_ref: Ref::named(line.item_id.as_deref(), "name", line.item_name.as_deref()),
        line_number: line
            .line_number
            .filter(|_| numbered)
            .map(|number| number.to_string()),
        quantity: line.quantity.as_ref(),
        sub_total: line.subtotal_minor.map(Amount),
        tax_amount: line.tax_minor.map(Amount),
        tax_rate_ref: Ref::named(
            line.tax_rate_id.as_deref(),
            "name",
            line.tax_rate_name.as_deref(),
        ),
        total_amount: line.total_minor.map(Amount),
        unit_amount: line.unit_price_minor.map(Amount),
    }
}

fn standard<'a>(document: &'a PlatformDocument<'a>, kind: DocumentKind) -> StandardDocument<'a> {
    let number = document.number.as_deref();
    let tax = document.tax_minor.map(Amount);
    let (invoice, bill, credit_note) = (
        kind == DocumentKind::Invoice,
        kind == DocumentKind::Bill,
        kind == DocumentKind::CreditNote,
    );
    StandardDocument {
        amount_due: document
            .amount_due_minor
            .map(Amount)
            .filter(|_| !credit_note),
        credit_note_number: number.filter(|_| credit_note),
        currency: document.currency.as_deref(),
        customer_ref: Ref::named(
            document.customer_id.as_deref(),
            "companyName",
            document.customer_name.as_deref(),
        )
        .filter(|_| !bill),
        due_date: document
            .due_date
            .as_deref()
            .and_then(date_text)
            .filter(|_| !credit_note),
        id: &document.id,
        invoice_number: number.filter(|_| invoice),
        issue_date: document.issue_date.as_deref().and_then(date_text),
        line_items: document.lines.as_ref().map(|lines| {
            lines
                .iter()
                .map(|platform| line(platform, bill))
                .filter(|line| !line.is_empty())
                .collect()
        }),
        note: document.reference.as_deref(),
        reference: number.filter(|_| bill),
        remaining_credit: document
            .remaining_credit_minor
            .map(Amount)
            .filter(|_| credit_note),
        source_modified_date: document.updated_at.as_deref().and_then(timestamp_text),
        status: status(document, kind),
        sub_total: document.subtotal_minor.map(Amount),
        supplier_ref: Ref::named(
            document.supplier_id.as_deref(),
            "supplierName",
            document.supplier_name.as_deref(),
        )
        .filter(|_| bill),
        tax_amount: tax.filter(|_| bill),
        total_amount: document.total_minor.map(Amount),
        total_tax_amount: tax.filter(|_| !bill),
    }
}

/// A document record (already parsed) in the standard model.
pub(crate) fn document(record: &Value, kind: DocumentKind) -> Result<Value, Unmappable> {
    let document = PlatformDocument::deserialize(record)
        .map_err(|error| Unmappable(format!("a {} is not as expected: {error}", kind.name())))?;
    serde_json::to_value(standard(&document, kind)).map_err(|error| Unmappable(error.to_string()))
}

impl DocumentKind {
    fn name(self) -> &'static str {
        match self {
            Self::Invoice => "invoice",
            Self::Bill => "bill",
            Self::CreditNote => "credit note",
        }
    }
}

#[derive(Deserialize)]
struct PlatformPage<'a> {
    #[serde(borrow)]
    data: Vec<PlatformDocument<'a>>,
}

/// A page of documents straight from the platform's answer into the standard model's JSON text, with no
/// JSON tree built on either side: the documents are what pulls fetch by the million.
pub(crate) fn page_as_json(page: &[u8], kind: DocumentKind) -> Result<Vec<JsonRecord>, Unmappable> {
    let page: PlatformPage<'_> = serde_json::from_slice(page).map_err(|error| {
        Unmappable(format!(
            "a page of {}s is not as expected: {error}",
            kind.name()
        ))
    })?;
    page.data
        .iter()
        .map(|document| {
            let (id, source_modified) =
                identity_of(Some(&document.id), document.updated_at.as_deref())?;
            let body = if document.deleted {
                None
            } else {
                Some(
                    serde_json::to_string(&standard(document, kind))
                        .map_err(|error| Unmappable(error.to_string()))?,
                )
            };
            Ok(JsonRecord {
                id,
                source_modified,
                deleted: document.deleted,
                body,
            })
        })
        .collect()
}

fn customer_ref(record: &Value) -> Value {
    named_reference(
        &record["customer_id"],
        "companyName",
        &record["customer_name"],
    )
}

fn supplier_ref(record: &Value) -> Value {
    named_reference(
        &record["supplier_id"],
        "supplierName",
        &record["supplier_name"],
    )
}

pub(crate) fn account_ref(record: &Value) -> Value {
    named_reference(&record["account_id"], "name", &record["account_name"])
}

pub(crate) fn invoice(record: &Value) -> Result<Value, Unmappable> {
    document(record, DocumentKind::Invoice)
}

pub(crate) fn bill(record: &Value) -> Result<Value, Unmappable> {
    document(record, DocumentKind::Bill)
}

pub(crate) fn credit_note(record: &Value) -> Result<Value, Unmappable> {
    document(record, DocumentKind::CreditNote)
}

/// The payment method as a reference: the platform has no payment-method records, so its method key is the
/// id.
fn payment_method(method: &Value) -> Value {
    match method.as_str() {
        Some(key) => json!({
            "id": key,
            "name": choice(method, &PAYMENT_METHODS, key),
        }),
        None => Value::Null,
    }
}

/// A payment of one document: one line for the whole amount, linked to the document, whose balance it
/// lowers (a negative link amount, as Codat records it).
fn payment_lines(record: &Value, link_type: &str, document_id: &Value) -> Value {
    let Some(paid) = record["amount_minor"].as_i64() else {
        return Value::Null;
    };
    json!([{
        "amount": amount_of(paid),
        "links": [{"type": link_type, "id": document_id, "amount": amount_of(-paid)}],
        "allocatedOnDate": date(&record["paid_on"]),
    }])
}

pub(crate) fn payment(record: &Value) -> Value {
    compact(json!({
        "id": record["id"],
        "customerRef": customer_ref(record),
        "accountRef": account_ref(record),
        "paymentMethodRef": payment_method(&record["method"]),
        "totalAmount": amount(&record["amount_minor"]),
        "currency": record["currency"],
        "date": date(&record["paid_on"]),
        "reference": record["reference"],
        "lines": payment_lines(record, "Invoice", &record["invoice_id"]),
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

pub(crate) fn bill_payment(record: &Value) -> Value {
    compact(json!({
        "id": record["id"],
        "supplierRef": supplier_ref(record),
        "accountRef": account_ref(record),
        "paymentMethodRef": payment_method(&record["method"]),
        "totalAmount": amount(&record["amount_minor"]),
        "currency": record["currency"],
        "date": date(&record["paid_on"]),
        "reference": record["reference"],
        "lines": payment_lines(record, "Bill", &record["bill_id"]),
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox_invoice() -> Value {
        json!({
            "id": "inv_0000000005",
            "number": "INV-0000006",
            "customer_id": "cus_0000000012",
            "customer_name": "Harbour Analytics Ltd",
            "status": "open",
            "issue_date": "2023-01-19",
            "due_date": "2023-02-18",
            "currency": "GBP",
            "reference": "PO-04417",
            "lines": [
                {
                    "line_number": 1,
                    "item_id": "itm_0000000004",
                    "item_name": "Oak Desk Lamp",
                    "description": "Oak Desk Lamp",
                    "quantity": 2,
                    "unit_price_minor": 4599,
                    "account_id": "acc_0000000011",
                    "account_name": "Sales",
                    "tax_rate_id": "txr_0000000000",
                    "tax_rate_name": "Standard",
                    "subtotal_minor": 9198,
                    "tax_minor": 1840,
                    "total_minor": 11038,
                },
                {
                    "line_number": 2,
                    "item_id": null,
                    "description": "Installation",
                    "quantity": 1.5,
                    "unit_price_minor": 6000,
                    "account_id": "acc_0000000012",
                    "account_name": "Services Revenue",
                    "tax_rate_id": null,
                    "subtotal_minor": 9000,
                    "tax_minor": 0,
                    "total_minor": 9000,
                },
            ],
            "subtotal_minor": 18198,
            "tax_minor": 1840,
            "total_minor": 20038,
            "amount_paid_minor": 10019,
            "amount_due_minor": 10019,
            "created_at": "2023-01-19T07:02:00.000Z",
            "updated_at": "2023-01-19T07:02:00.000Z",
        })
    }

    #[test]
    fn a_partly_paid_invoice_maps_to_the_standard_model() {
        assert_eq!(
            invoice(&sandbox_invoice()).unwrap(),
            json!({
                "id": "inv_0000000005",
                "invoiceNumber": "INV-0000006",
                "customerRef": {"id": "cus_0000000012", "companyName": "Harbour Analytics Ltd"},
                "issueDate": "2023-01-19T00:00:00",
                "dueDate": "2023-02-18T00:00:00",
                "currency": "GBP",
                "lineItems": [
                    {
                        "description": "Oak Desk Lamp",
                        "unitAmount": 45.99,
                        "quantity": 2,
                        "subTotal": 91.98,
                        "taxAmount": 18.4,
                        "totalAmount": 110.38,
                        "accountRef": {"id": "acc_0000000011", "name": "Sales"},
                        "taxRateRef": {"id": "txr_0000000000", "name": "Standard"},
                        "itemRef": {"id": "itm_0000000004", "name": "Oak Desk Lamp"},
                    },
                    {
                        "description": "Installation",
                        "unitAmount": 60,
                        "quantity": 1.5,
                        "subTotal": 90,
                        "taxAmount": 0,
                        "totalAmount": 90,
                        "accountRef": {"id": "acc_0000000012", "name": "Services Revenue"},
                    },
                ],
                "subTotal": 181.98,
                "totalTaxAmount": 18.4,
                "totalAmount": 200.38,
                "amountDue": 100.19,
                "status": "PartiallyPaid",
                "note": "PO-04417",
                "sourceModifiedDate": "2023-01-19T07:02:00.000Z",
            })
        );
    }

    #[test]
    fn invoice_statuses_follow_codat() {
        let mut record = sandbox_invoice();
        for (status, paid, expected) in [
            ("draft", 0, "Draft"),
            ("open", 0, "Submitted"),
            ("open", 100, "PartiallyPaid"),
            ("paid", 20038, "Paid"),
            ("void", 0, "Void"),
            ("sent", 0, "Unknown"),
        ] {
            record["status"] = json!(status);
            record["amount_paid_minor"] = json!(paid);
            assert_eq!(
                invoice(&record).unwrap()["status"],
                expected,
                "{status} {paid}"
            );
        }
    }

    #[test]
    fn a_bill_maps_to_the_standard_model() {
        let mut record = sandbox_invoice();
        record["id"] = json!("bil_0000000002");
        record["number"] = json!("BILL-0000003");
        record["supplier_id"] = json!("sup_0000000004");
        record["status"] = json!("open");
        record["amount_paid_minor"] = json!(0);
        record["amount_due_minor"] = json!(20038);
        let mapped = bill(&record).unwrap();
        assert_eq!(mapped["reference"], "BILL-0000003");
        assert_eq!(mapped["supplierRef"], json!({"id": "sup_0000000004"}));
        assert_eq!(mapped["status"], "Open");
        assert_eq!(mapped["taxAmount"], json!(18.4));
        assert_eq!(mapped["amountDue"], json!(200.38));
        assert_eq!(mapped["lineItems"][1]["lineNumber"], "2");
        assert_eq!(mapped["note"], "PO-04417");
        assert!(mapped.get("customerRef").is_none());
        assert!(mapped.get("invoiceNumber").is_none());
    }

    #[test]
    fn a_page_read_straight_into_json_text_matches_the_record_by_record_mapping() {
        let mut escaped = sandbox_invoice();
        escaped["id"] = json!("inv_0000000006");
        escaped["customer_name"] = json!("Caf\u{e9} \"Nord\" \\ Ltd");
        escaped["lines"][0]["description"] = json!("Line\nbreak");
        let mut bill_record = sandbox_invoice();
        bill_record["supplier_id"] = json!("sup_0000000004");
        bill_record["supplier_name"] = json!("Atlas Supplies");
        let tombstone =
            json!({"id": "inv_0000000007", "deleted": true, "updated_at": "2023-03-01T00:00:00Z"});
        for (kind, records) in [
            (
                DocumentKind::Invoice,
                vec![sandbox_invoice(), escaped.clone(), tombstone.clone()],
            ),
            (
                DocumentKind::Bill,
                vec![bill_record.clone(), tombstone.clone()],
            ),
            (
                DocumentKind::CreditNote,
                vec![sandbox_invoice(), tombstone.clone()],
            ),
        ] {
            let page = serde_json::to_vec(&json!({"data": records, "next_cursor": null})).unwrap();
            let read = page_as_json(&page, kind).unwrap();
            assert_eq!(read.len(), records.len());
            for (record, json_record) in records.iter().zip(&read) {
                assert_eq!(json_record.id, record["id"].as_str().unwrap());
                if record["deleted"] == true {
                    assert!(json_record.deleted && json_record.body.is_none());
                    assert_eq!(json_record.source_modified, "2023-03-01T00:00:00.000Z");
                    continue;
                }
                assert_eq!(json_record.source_modified, "2023-01-19T07:02:00.000Z");
                let expected = document(record, kind).unwrap();
                // The same text a JSON value of the mapping is written as: members in name order.
                assert_eq!(
                    json_record.body.as_deref(),
                    Some(serde_json::to_string(&expected).unwrap().as_str()),
                    "{kind:?}"
                );
            }
        }
        let text = page_as_json(
            &serde_json::to_vec(&json!({"data": [escaped]})).unwrap(),
            DocumentKind::Invoice,
        )
        .unwrap();
        let body: Value = serde_json::from_str(text[0].body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body["customerRef"]["companyName"],
            "Caf\u{e9} \"Nord\" \\ Ltd"
        );
        assert_eq!(body["lineItems"][0]["description"], "Line\nbreak");
    }

    #[test]
    fn a_document_not_as_the_platform_describes_it_is_refused_with_the_reason() {
        let mut record = sandbox_invoice();
        record["total_minor"] = json!("twenty");
        let refused = invoice(&record).unwrap_err();
        assert!(
            refused.0.contains("invoice") && refused.0.contains("twenty"),
            "{}",
            refused.0
        );
        let page = serde_json::to_vec(&json!({"data": [record]})).unwrap();
        assert!(page_as_json(&page, DocumentKind::Invoice).is_err());
        let no_time = serde_json::to_vec(&json!({"data": [{"id": "inv_1"}]})).unwrap();
        let refused = page_as_json(&no_time, DocumentKind::Invoice).unwrap_err();
        assert!(refused.0.contains("updated_at"), "{}", refused.0);
    }

    #[test]
    fn a_credit_note_maps_to_the_standard_model() {
        let mut record = sandbox_invoice();
        let fields = record.as_object_mut().unwrap();
        for platform_only in ["due_date", "amount_paid_minor", "amount_due_minor"] {
            fields.remove(platform_only);
        }
        record["id"] = json!("crn_0000000001");
        record["number"] = json!("CN-0000002");
        record["reference"] = json!("Returned goods");
        record["remaining_credit_minor"] = json!(20038);
        let mapped = credit_note(&record).unwrap();
        assert_eq!(mapped["creditNoteNumber"], "CN-0000002");
        assert_eq!(mapped["status"], "Submitted");
        assert_eq!(mapped["remainingCredit"], json!(200.38));
        assert_eq!(mapped["totalTaxAmount"], json!(18.4));
        assert!(mapped.get("dueDate").is_none());
        record["status"] = json!("applied");
        record["remaining_credit_minor"] = json!(0);
        assert_eq!(credit_note(&record).unwrap()["status"], "Paid");
    }

    #[test]
    fn payments_link_the_document_they_pay() {
        let record = json!({
            "id": "pay_0000000007",
            "invoice_id": "inv_0000000005",
            "customer_id": "cus_0000000012",
            "amount_minor": 10019,
            "currency": "GBP",
            "paid_on": "2023-02-02",
            "method": "bank_transfer",
            "account_id": "acc_0000000000",
            "reference": "INV-0000006",
            "created_at": "2023-02-02T07:02:00.000Z",
            "updated_at": "2023-02-02T07:02:00.000Z",
        });
        assert_eq!(
            payment(&record),
            json!({
                "id": "pay_0000000007",
                "customerRef": {"id": "cus_0000000012"},
                "accountRef": {"id": "acc_0000000000"},
                "paymentMethodRef": {"id": "bank_transfer", "name": "Bank transfer"},
                "totalAmount": 100.19,
                "currency": "GBP",
                "date": "2023-02-02T00:00:00",
                "reference": "INV-0000006",
                "lines": [{
                    "amount": 100.19,
                    "links": [{"type": "Invoice", "id": "inv_0000000005", "amount": -100.19}],
                    "allocatedOnDate": "2023-02-02T00:00:00",
                }],
                "sourceModifiedDate": "2023-02-02T07:02:00.000Z",
            })
        );
        let mut record = record;
        let fields = record.as_object_mut().unwrap();
        fields.remove("invoice_id");
        fields.remove("customer_id");
        fields.insert("bill_id".into(), json!("bil_0000000002"));
        fields.insert("supplier_id".into(), json!("sup_0000000004"));
        fields.insert("method".into(), json!("cheque"));
        let mapped = bill_payment(&record);
        assert_eq!(mapped["supplierRef"], json!({"id": "sup_0000000004"}));
        assert_eq!(
            mapped["lines"][0]["links"][0],
            json!({"type": "Bill", "id": "bil_0000000002", "amount": -100.19})
        );
        assert_eq!(
            mapped["paymentMethodRef"],
            json!({"id": "cheque", "name": "cheque"})
        );
        assert!(mapped.get("customerRef").is_none());
    }
}
