//! Customers and suppliers of the accounting platform (`mqjo`), as Codat's `AccountingCustomer` and
//! `AccountingSupplier`.

use serde_json::{json, Value};

use crate::data::push::Choices;
use crate::data::standard::{compact, timestamp};

/// The status of a reference record (customer, supplier, item, account, tax rate, bank account).
pub(crate) static STATUS: Choices = Choices {
    values: &[("Active", "active"), ("Archived", "archived")],
    update_only: &[],
};

pub(crate) fn customer(record: &Value) -> Value {
    compact(json!({
        "id": record["id"],
        "customerName": record["name"],
        "contactName": record["contact_name"],
        "emailAddress": record["email"],
        "phone": record["phone"],
        "addresses": billing_addresses(&record["billing_address"]),
        "defaultCurrency": record["currency"],
        "taxNumber": record["tax_number"],
        "status": STATUS.standard_of(&record["status"], "Unknown"),
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

pub(crate) fn supplier(record: &Value) -> Value {
    compact(json!({
        "id": record["id"],
        "supplierName": record["name"],
        "contactName": record["contact_name"],
        "emailAddress": record["email"],
        "phone": record["phone"],
        "addresses": billing_addresses(&record["billing_address"]),
        "defaultCurrency": record["currency"],
        "taxNumber": record["tax_number"],
        "status": STATUS.standard_of(&record["status"], "Unknown"),
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

/// The platform's one address (`{line1, city, postal_code, country}`) as the standard model's list of
/// addresses, typed `Billing`.
pub(crate) fn billing_addresses(address: &Value) -> Value {
    if !address.is_object() {
        return Value::Null;
    }
    json!([{
        "type": "Billing",
        "line1": address["line1"],
        "city": address["city"],
        "postalCode": address["postal_code"],
        "country": address["country"],
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox_customer() -> Value {
        json!({
            "id": "cus_0000000003",
            "name": "Harbour Analytics Ltd",
            "contact_name": "Priya Shah",
            "email": "priya@harbour-analytics-ltd.example.com",
            "phone": "+44 20 7946 0311",
            "billing_address": {"line1": "12 Mill Lane", "city": "Leeds", "postal_code": "LS1 4AB", "country": "GB"},
            "currency": "GBP",
            "tax_number": null,
            "payment_terms_days": 30,
            "status": "active",
            "created_at": "2022-01-28T03:12:00.000Z",
            "updated_at": "2022-01-28T03:12:00.000Z",
        })
    }

    #[test]
    fn a_customer_maps_to_the_standard_model() {
        assert_eq!(
            customer(&sandbox_customer()),
            json!({
                "id": "cus_0000000003",
                "customerName": "Harbour Analytics Ltd",
                "contactName": "Priya Shah",
                "emailAddress": "priya@harbour-analytics-ltd.example.com",
                "phone": "+44 20 7946 0311",
                "addresses": [{
                    "type": "Billing",
                    "line1": "12 Mill Lane",
                    "city": "Leeds",
                    "postalCode": "LS1 4AB",
                    "country": "GB",
                }],
                "defaultCurrency": "GBP",
                "status": "Active",
                "sourceModifiedDate": "2022-01-28T03:12:00.000Z",
            })
        );
    }

    #[test]
    fn a_supplier_maps_to_the_standard_model() {
        let mut record = sandbox_customer();
        record["id"] = json!("sup_0000000001");
        record["status"] = json!("archived");
        record["tax_number"] = json!("GB123456789");
        record["billing_address"] = Value::Null;
        assert_eq!(
            supplier(&record),
            json!({
                "id": "sup_0000000001",
                "supplierName": "Harbour Analytics Ltd",
                "contactName": "Priya Shah",
                "emailAddress": "priya@harbour-analytics-ltd.example.com",
                "phone": "+44 20 7946 0311",
                "defaultCurrency": "GBP",
                "taxNumber": "GB123456789",
                "status": "Archived",
                "sourceModifiedDate": "2022-01-28T03:12:00.000Z",
            })
        );
    }
}
