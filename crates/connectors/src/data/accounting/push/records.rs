//! Pushes of reference records: customers, suppliers, items and accounts.

use crate::data::accounting::contacts::STATUS;
use crate::data::accounting::ledger::{ACCOUNT_TYPES, ITEM_TYPES};
use crate::data::accounting::push::{field, ID};
use crate::data::push::{Field, Kind, PushSpec};
use crate::data::DataType;

static ADDRESS: [Field; 4] = [
    field(
        "line1",
        "line1",
        Kind::Text { max: 200 },
        false,
        "Line 1",
        "First line of the address.",
    ),
    field(
        "city",
        "city",
        Kind::Text { max: 100 },
        false,
        "City",
        "City of the address.",
    ),
    field(
        "postalCode",
        "postal_code",
        Kind::Text { max: 20 },
        false,
        "Postal code",
        "Postal or zip code.",
    ),
    field(
        "country",
        "country",
        Kind::Country,
        false,
        "Country",
        "ISO 3166 alpha-2 country code.",
    ),
];

macro_rules! contact_fields {
    ($name:literal, $display:literal) => {
        [
            field($name, "name", Kind::Text { max: 200 }, true, $display, "Name of the business."),
            field("contactName", "contact_name", Kind::Text { max: 200 }, false, "Contact name", "The person to contact."),
            field("emailAddress", "email", Kind::Email, false, "Email address", "Where to send documents."),
            field("phone", "phone", Kind::Text { max: 40 }, false, "Phone", "Phone number."),
            field(
                "addresses",
                "billing_address",
                Kind::Address(&ADDRESS),
                false,
                "Addresses",
                "The billing address (typed Billing, or else the first) is kept; the platform holds one address.",
            ),
            field("defaultCurrency", "currency", Kind::Currency, false, "Default currency", "ISO 4217 code; the company's base currency when left out."),
            field("taxNumber", "tax_number", Kind::Text { max: 40 }, false, "Tax number", "VAT or other tax registration number."),
            field("status", "status", Kind::Choice(&STATUS), false, "Status", "Active when left out."),
        ]
    };
}

static CUSTOMER_FIELDS: [Field; 8] = contact_fields!("customerName", "Customer name");
static SUPPLIER_FIELDS: [Field; 8] = contact_fields!("supplierName", "Supplier name");

pub(crate) static CUSTOMERS: PushSpec = PushSpec {
    data_type: DataType::Customers,
    display: "Customer",
    description: "A customer the company sells to.",
    fields: &CUSTOMER_FIELDS,
    rule: None,
    rule_paths: &[],
};

pub(crate) static SUPPLIERS: PushSpec = PushSpec {
    data_type: DataType::Suppliers,
    display: "Supplier",
    description: "A supplier the company buys from.",
    fields: &SUPPLIER_FIELDS,
    rule: None,
    rule_paths: &[],
};

pub(crate) static ITEMS: PushSpec = PushSpec {
    data_type: DataType::Items,
    display: "Item",
    description: "A product or service the company buys or sells.",
    fields: &[
        field(
            "name",
            "name",
            Kind::Text { max: 200 },
            true,
            "Name",
            "Name of the item.",
        ),
        field(
            "code",
            "code",
            Kind::Text { max: 30 },
            true,
            "Code",
            "The item's code (SKU), unique to the company.",
        ),
        field(
            "type",
            "type",
            Kind::Choice(&ITEM_TYPES),
            true,
            "Type",
            "Inventory for stocked goods, Service otherwise.",
        ),
        field(
            "itemStatus",
            "status",
            Kind::Choice(&STATUS),
            false,
            "Status",
            "Active when left out.",
        ),
        field(
            "invoiceItem.description",
            "description",
            Kind::Text { max: 1000 },
            false,
            "Description",
            "Description shown on documents.",
        ),
        field(
            "invoiceItem.unitPrice",
            "unit_price_minor",
            Kind::Amount,
            true,
            "Sale price",
            "Price of one unit when sold.",
        ),
        field(
            "invoiceItem.accountRef.id",
            "sales_account_id",
            ID,
            false,
            "Sales account id",
            "An Income account; the platform's Sales account when left out.",
        ),
        field(
            "invoiceItem.taxRateRef.id",
            "tax_rate_id",
            ID,
            false,
            "Tax rate id",
            "The platform's standard rate when left out.",
        ),
        field(
            "billItem.unitPrice",
            "purchase_price_minor",
            Kind::Amount,
            false,
            "Purchase price",
            "Price of one unit when bought.",
        ),
        field(
            "billItem.accountRef.id",
            "purchase_account_id",
            ID,
            false,
            "Purchase account id",
            "An Expense or Asset account.",
        ),
    ],
    rule: None,
    rule_paths: &[],
};

pub(crate) static ACCOUNTS: PushSpec = PushSpec {
    data_type: DataType::ChartOfAccounts,
    display: "Account",
    description: "An account of the chart of accounts.",
    fields: &[
        field(
            "nominalCode",
            "code",
            Kind::Digits { max: 10 },
            true,
            "Nominal code",
            "Digits only, unique in the chart of accounts.",
        ),
        field(
            "name",
            "name",
            Kind::Text { max: 150 },
            true,
            "Name",
            "Name of the account.",
        ),
        field(
            "type",
            "type",
            Kind::Choice(&ACCOUNT_TYPES),
            true,
            "Type",
            "The kind of account.",
        ),
        field(
            "description",
            "description",
            Kind::Text { max: 1000 },
            false,
            "Description",
            "What the account is for.",
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
            "status",
            "status",
            Kind::Choice(&STATUS),
            false,
            "Status",
            "Active when left out.",
        ),
    ],
    rule: None,
    rule_paths: &[],
};

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::data::accounting::push::testing::{body, error_fields};
    use crate::data::PushKind;

    #[test]
    fn a_customer_becomes_the_platform_body() {
        let record = json!({
            "customerName": "Harbour Analytics Ltd",
            "contactName": "Priya Shah",
            "emailAddress": "priya@harbour.example.com",
            "phone": "+44 20 7946 0311",
            "addresses": [{"type": "Billing", "line1": "12 Mill Lane", "city": "Leeds", "postalCode": "LS1 4AB", "country": "GB", "region": "West Yorkshire"}],
            "defaultCurrency": "GBP",
            "taxNumber": "GB123456789",
            "status": "Active",
            "metadata": {"isDeleted": false},
        });
        assert_eq!(
            body(&CUSTOMERS, record),
            json!({
                "name": "Harbour Analytics Ltd",
                "contact_name": "Priya Shah",
                "email": "priya@harbour.example.com",
                "phone": "+44 20 7946 0311",
                "billing_address": {"line1": "12 Mill Lane", "city": "Leeds", "postal_code": "LS1 4AB", "country": "GB"},
                "currency": "GBP",
                "tax_number": "GB123456789",
                "status": "active",
            })
        );
        assert_eq!(
            error_fields(
                &SUPPLIERS,
                &PushKind::Create,
                json!({"emailAddress": "nobody", "status": "Gone"})
            ),
            ["supplierName", "emailAddress", "status"]
        );
    }

    #[test]
    fn an_item_and_an_account_become_platform_bodies() {
        let item = json!({
            "name": "Oak Desk Lamp", "code": "SKU-00099", "type": "Inventory", "itemStatus": "Active",
            "isInvoiceItem": true, "isBillItem": true,
            "invoiceItem": {"description": "A lamp", "unitPrice": 45.99, "accountRef": {"id": "acc_0000000011"}, "taxRateRef": {"id": "txr_0000000000"}},
            "billItem": {"unitPrice": 27.59, "accountRef": {"id": "acc_0000000014"}},
        });
        assert_eq!(
            body(&ITEMS, item),
            json!({
                "name": "Oak Desk Lamp", "code": "SKU-00099", "type": "inventory", "status": "active",
                "description": "A lamp", "unit_price_minor": 4599, "sales_account_id": "acc_0000000011",
                "tax_rate_id": "txr_0000000000", "purchase_price_minor": 2759, "purchase_account_id": "acc_0000000014",
            })
        );
        let account = json!({"nominalCode": "6110", "name": "Training", "type": "Expense", "status": "Active"});
        assert_eq!(
            body(&ACCOUNTS, account),
            json!({"code": "6110", "name": "Training", "type": "expense", "status": "active"})
        );
        assert_eq!(
            error_fields(
                &ACCOUNTS,
                &PushKind::Create,
                json!({"nominalCode": "61-10", "name": "", "type": "Revenue"})
            ),
            ["nominalCode", "name", "type"]
        );
    }
}
