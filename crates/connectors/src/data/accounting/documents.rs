//! Invoices, bills, credit notes and the payments against invoices and bills, from the accounting platform
//! (`mqjo`) into Codat's `AccountingInvoice`, `AccountingBill`, `AccountingCreditNote`, `AccountingPayment` and
//! `AccountingBillPayment`.
//!
//! The platform's `reference` on a document (a purchase-order number, say) has no field of its own in the
//! standard model and is carried in `note`; a push maps `note` back to it.

use serde_json::{json, Value};

use crate::data::standard::{
    amount, amount_of, choice, compact, date, named_reference, timestamp, Fields,
};

/// Payment methods with a display name; any other method is shown by its key.
const PAYMENT_METHODS: [(&str, &str); 3] = [
    ("bank_transfer", "Bank transfer"),
    ("card", "Card"),
    ("direct_debit", "Direct debit"),
];

fn is_partly_paid(record: &Value) -> bool {
    record["amount_paid_minor"].as_i64().unwrap_or(0) > 0
}

fn invoice_status(record: &Value) -> &'static str {
    match record["status"].as_str() {
        Some("draft") => "Draft",
        Some("open") if is_partly_paid(record) => "PartiallyPaid",
        Some("open") => "Submitted",
        Some("paid") => "Paid",
        Some("void") => "Void",
        _ => "Unknown",
    }
}

fn bill_status(record: &Value) -> &'static str {
    match record["status"].as_str() {
        Some("draft") => "Draft",
        Some("open") if is_partly_paid(record) => "PartiallyPaid",
        Some("open") => "Open",
        Some("paid") => "Paid",
        Some("void") => "Void",
        _ => "Unknown",
    }
}

fn credit_note_status(record: &Value) -> &'static str {
    let remaining = record["remaining_credit_minor"].as_i64().unwrap_or(0);
    let total = record["total_minor"].as_i64().unwrap_or(0);
    match record["status"].as_str() {
        Some("open") if remaining > 0 && remaining < total => "PartiallyPaid",
        Some("open") => "Submitted",
        Some("applied") => "Paid",
        Some("void") => "Void",
        _ => "Unknown",
    }
}

/// A document's lines; bills number theirs (`lineNumber`), invoices and credit notes have no such field.
fn line_items(lines: &Value, numbered: bool) -> Value {
    let Some(lines) = lines.as_array() else {
        return Value::Null;
    };
    let mapped: Vec<Value> = lines
        .iter()
        .map(|line| {
            let mut item = Fields::new();
            item.copy("description", &line["description"])
                .put("unitAmount", amount(&line["unit_price_minor"]))
                .copy("quantity", &line["quantity"])
                .put("subTotal", amount(&line["subtotal_minor"]))
                .put("taxAmount", amount(&line["tax_minor"]))
                .put("totalAmount", amount(&line["total_minor"]))
                .put("accountRef", account_ref(line))
                .put(
                    "taxRateRef",
                    named_reference(&line["tax_rate_id"], "name", &line["tax_rate_name"]),
                )
                .put(
                    "itemRef",
                    named_reference(&line["item_id"], "name", &line["item_name"]),
                );
            if numbered {
                if let Some(number) = line["line_number"].as_i64() {
                    item.put("lineNumber", json!(number.to_string()));
                }
            }
            item.build()
        })
        .filter(|item| item.as_object().is_some_and(|fields| !fields.is_empty()))
        .collect();
    Value::Array(mapped)
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

/// What invoices, bills and credit notes have in common.
fn document(record: &Value, numbered_lines: bool) -> Fields {
    let mut fields = Fields::new();
    fields
        .copy("id", &record["id"])
        .put("issueDate", date(&record["issue_date"]))
        .copy("currency", &record["currency"])
        .put("lineItems", line_items(&record["lines"], numbered_lines))
        .put("subTotal", amount(&record["subtotal_minor"]))
        .put("totalAmount", amount(&record["total_minor"]))
        .copy("note", &record["reference"])
        .put("sourceModifiedDate", timestamp(&record["updated_at"]));
    fields
}

pub(crate) fn invoice(record: &Value) -> Value {
    document(record, false)
        .copy("invoiceNumber", &record["number"])
        .put("customerRef", customer_ref(record))
        .put("dueDate", date(&record["due_date"]))
        .put("totalTaxAmount", amount(&record["tax_minor"]))
        .put("amountDue", amount(&record["amount_due_minor"]))
        .put("status", json!(invoice_status(record)))
        .build()
}

pub(crate) fn bill(record: &Value) -> Value {
    document(record, true)
        .copy("reference", &record["number"])
        .put("supplierRef", supplier_ref(record))
        .put("dueDate", date(&record["due_date"]))
        .put("taxAmount", amount(&record["tax_minor"]))
        .put("amountDue", amount(&record["amount_due_minor"]))
        .put("status", json!(bill_status(record)))
        .build()
}

pub(crate) fn credit_note(record: &Value) -> Value {
    document(record, false)
        .copy("creditNoteNumber", &record["number"])
        .put("customerRef", customer_ref(record))
        .put("totalTaxAmount", amount(&record["tax_minor"]))
        .put("remainingCredit", amount(&record["remaining_credit_minor"]))
        .put("status", json!(credit_note_status(record)))
        .build()
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
            invoice(&sandbox_invoice()),
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
            assert_eq!(invoice(&record)["status"], expected, "{status} {paid}");
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
        let mapped = bill(&record);
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
        let mapped = credit_note(&record);
        assert_eq!(mapped["creditNoteNumber"], "CN-0000002");
        assert_eq!(mapped["status"], "Submitted");
        assert_eq!(mapped["remainingCredit"], json!(200.38));
        assert_eq!(mapped["totalTaxAmount"], json!(18.4));
        assert!(mapped.get("dueDate").is_none());
        record["status"] = json!("applied");
        record["remaining_credit_minor"] = json!(0);
        assert_eq!(credit_note(&record)["status"], "Paid");
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
