//! The ledger side of the accounting platform (`mqjo`): the chart of accounts, tax rates, items, bank
//! accounts, journal entries and the company itself, as Codat's `AccountingAccount`, `TaxRate`, `Item`,
//! `AccountingBankAccount`, `AccountingJournalEntry` and `AccountingCompanyInfo`.

use chrono::{Datelike, NaiveDate};
use serde_json::{json, Value};

use crate::data::accounting::contacts::{billing_addresses, STATUS};
use crate::data::accounting::documents::account_ref;
use crate::data::push::Choices;
use crate::data::standard::{amount, amount_of, compact, date, named_reference, timestamp};

/// Account types.
pub(crate) static ACCOUNT_TYPES: Choices = Choices {
    values: &[
        ("Asset", "asset"),
        ("Liability", "liability"),
        ("Equity", "equity"),
        ("Income", "revenue"),
        ("Expense", "expense"),
    ],
    update_only: &[],
};

/// Item types.
pub(crate) static ITEM_TYPES: Choices = Choices {
    values: &[("Inventory", "inventory"), ("Service", "service")],
    update_only: &[],
};

/// What a tax rate applies to, as the standard model's links to the fields that may use it.
const TAX_RATE_USES: [(&str, &str); 2] = [
    ("sales", "Invoice.LineItems.TaxRateRef.Id"),
    ("purchases", "Bill.LineItems.TaxRateRef.Id"),
];

/// `fixed_asset` → `FixedAsset`.
fn pascal_case(snake: &str) -> String {
    snake
        .split('_')
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut letters = word.chars();
            letters.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(letters).collect::<String>()
            })
        })
        .collect()
}

pub(crate) fn account(record: &Value) -> Value {
    let kind = ACCOUNT_TYPES.standard_of(&record["type"], "Unknown");
    let category = match (kind.as_str(), record["sub_type"].as_str()) {
        (Some(kind), Some(sub_type)) if kind != "Unknown" => {
            json!(format!("{kind}.{}", pascal_case(sub_type)))
        }
        _ => Value::Null,
    };
    let qualified_name = match (category.as_str(), record["name"].as_str()) {
        (Some(category), Some(name)) => json!(format!("{category}.{name}")),
        _ => Value::Null,
    };
    let sub_type = record["sub_type"].as_str();
    compact(json!({
        "id": record["id"],
        "nominalCode": record["code"],
        "name": record["name"],
        "description": record["description"],
        "fullyQualifiedCategory": category,
        "fullyQualifiedName": qualified_name,
        "currency": record["currency"],
        "type": kind,
        "status": STATUS.standard_of(&record["status"], "Unknown"),
        "isBankAccount": sub_type.map(|sub_type| matches!(sub_type, "bank" | "credit_card")),
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

pub(crate) fn tax_rate(record: &Value) -> Value {
    // Basis points are hundredths of a percent, as minor units are hundredths of a major unit.
    let percent = amount(&record["rate_basis_points"]);
    let links: Vec<&str> = record["applies_to"]
        .as_array()
        .map(|uses| {
            uses.iter()
                .filter_map(|used| {
                    TAX_RATE_USES
                        .iter()
                        .find(|(name, _)| used.as_str() == Some(name))
                        .map(|(_, link)| *link)
                })
                .collect()
        })
        .unwrap_or_default();
    let valid_links = if links.is_empty() {
        Value::Null
    } else {
        json!([{"property": "Id", "links": links}])
    };
    compact(json!({
        "id": record["id"],
        "name": record["name"],
        "code": record["code"],
        "effectiveTaxRate": percent,
        "totalTaxRate": percent,
        "components": [{"name": record["name"], "rate": percent, "isCompound": false}],
        "status": STATUS.standard_of(&record["status"], "Unknown"),
        "validDatatypeLinks": valid_links,
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

pub(crate) fn item(record: &Value) -> Value {
    let sells = !record["sales_account_id"].is_null();
    let buys =
        !record["purchase_account_id"].is_null() || !record["purchase_price_minor"].is_null();
    // `account` is the platform's field stem: `sales_account` for `sales_account_id` and
    // `sales_account_name`.
    let side = |price: &str, account: &str| {
        json!({
            "description": record["description"],
            "unitPrice": amount(&record[price]),
            "accountRef": named_reference(
                &record[format!("{account}_id")],
                "name",
                &record[format!("{account}_name")],
            ),
            "taxRateRef": named_reference(&record["tax_rate_id"], "name", &record["tax_rate_name"]),
        })
    };
    let invoice_item = if sells {
        side("unit_price_minor", "sales_account")
    } else {
        Value::Null
    };
    let bill_item = if buys {
        side("purchase_price_minor", "purchase_account")
    } else {
        Value::Null
    };
    compact(json!({
        "id": record["id"],
        "name": record["name"],
        "code": record["code"],
        "type": ITEM_TYPES.standard_of(&record["type"], "Unknown"),
        "itemStatus": STATUS.standard_of(&record["status"], "Unknown"),
        "isInvoiceItem": sells,
        "isBillItem": buys,
        "invoiceItem": invoice_item,
        "billItem": bill_item,
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

pub(crate) fn bank_account(record: &Value) -> Value {
    let kind = match record["account_type"].as_str() {
        Some("checking" | "savings") => "Debit",
        Some("credit_card") => "Credit",
        _ => "Unknown",
    };
    // The platform shows only the last four digits; the standard model's number carries them masked.
    let number = record["account_number_last4"]
        .as_str()
        .map_or(Value::Null, |last4| json!(format!("****{last4}")));
    compact(json!({
        "id": record["id"],
        "accountName": record["name"],
        "accountType": kind,
        "accountNumber": number,
        "institution": record["bank_name"],
        "currency": record["currency"],
        "status": STATUS.standard_of(&record["status"], "Unknown"),
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

/// A journal entry; each line's debit and credit become one signed `netAmount`, debits positive.
pub(crate) fn journal_entry(record: &Value) -> Value {
    let lines: Vec<Value> = record["lines"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .map(|line| {
                    let net = line["debit_minor"].as_i64().unwrap_or(0)
                        - line["credit_minor"].as_i64().unwrap_or(0);
                    json!({
                        "description": line["description"],
                        "netAmount": amount_of(net),
                        "currency": record["currency"],
                        "accountRef": account_ref(line),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    compact(json!({
        "id": record["id"],
        "description": record["memo"],
        "postedOn": date(&record["entry_date"]),
        "createdOn": timestamp(&record["created_at"]),
        "updatedOn": timestamp(&record["updated_at"]),
        "journalLines": lines,
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

/// The company. Codat's company info has no `id` or `sourceModifiedDate`; the record's id and change time
/// travel in the [`SourceRecord`](crate::data::SourceRecord) around it. The financial year start is the
/// one of the year that contains `as_of`.
pub(crate) fn company_info(record: &Value, as_of: NaiveDate) -> Value {
    let year_start = record["financial_year_end"]
        .as_str()
        .and_then(|end| financial_year_start(end, as_of))
        .map_or(Value::Null, |start| json!(format!("{start}T00:00:00")));
    compact(json!({
        "companyName": record["name"],
        "companyLegalName": record["legal_name"],
        "accountingPlatformRef": record["id"],
        "addresses": billing_addresses(&record["address"]),
        "registrationNumber": record["registration_number"],
        "taxNumber": record["tax_number"],
        "baseCurrency": record["base_currency"],
        "financialYearStartDate": year_start,
        "createdDate": timestamp(&record["created_at"]),
    }))
}

/// The first day of the financial year that contains `as_of`, for a year ending on `end` (`"MM-DD"`).
fn financial_year_start(end: &str, as_of: NaiveDate) -> Option<NaiveDate> {
    let (month, day) = end.split_once('-')?;
    let (month, day): (u32, u32) = (month.parse().ok()?, day.parse().ok()?);
    let end_in = |year: i32| {
        // A year ending on 29 February ends on the 28th in other years.
        NaiveDate::from_ymd_opt(year, month, day)
            .or_else(|| NaiveDate::from_ymd_opt(year, month, day.saturating_sub(1)))
    };
    let this_year = end_in(as_of.year())?;
    let previous_end = if this_year < as_of {
        this_year
    } else {
        end_in(as_of.year() - 1)?
    };
    previous_end.succ_opt()
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPDATED: &str = "2022-03-15T09:30:00.000Z";

    #[test]
    fn an_account_maps_to_the_standard_model() {
        let record = json!({
            "id": "acc_0000000002", "code": "1020", "name": "Company Credit Card", "type": "liability",
            "sub_type": "credit_card", "description": null, "currency": "GBP", "status": "active",
            "created_at": UPDATED, "updated_at": UPDATED,
        });
        assert_eq!(
            account(&record),
            json!({
                "id": "acc_0000000002",
                "nominalCode": "1020",
                "name": "Company Credit Card",
                "fullyQualifiedCategory": "Liability.CreditCard",
                "fullyQualifiedName": "Liability.CreditCard.Company Credit Card",
                "currency": "GBP",
                "type": "Liability",
                "status": "Active",
                "isBankAccount": true,
                "sourceModifiedDate": UPDATED,
            })
        );
        let revenue = json!({"id": "acc_0000000011", "type": "revenue", "sub_type": "sales", "status": "archived"});
        let mapped = account(&revenue);
        assert_eq!(mapped["type"], "Income");
        assert_eq!(mapped["status"], "Archived");
        assert_eq!(mapped["isBankAccount"], false);
    }

    #[test]
    fn a_tax_rate_maps_to_the_standard_model() {
        let record = json!({
            "id": "txr_0000000001", "name": "Reduced", "code": "RED", "rate_basis_points": 550,
            "applies_to": ["sales", "purchases"], "status": "active",
            "created_at": UPDATED, "updated_at": UPDATED,
        });
        assert_eq!(
            tax_rate(&record),
            json!({
                "id": "txr_0000000001",
                "name": "Reduced",
                "code": "RED",
                "effectiveTaxRate": 5.5,
                "totalTaxRate": 5.5,
                "components": [{"name": "Reduced", "rate": 5.5, "isCompound": false}],
                "status": "Active",
                "validDatatypeLinks": [{
                    "property": "Id",
                    "links": ["Invoice.LineItems.TaxRateRef.Id", "Bill.LineItems.TaxRateRef.Id"],
                }],
                "sourceModifiedDate": UPDATED,
            })
        );
    }

    #[test]
    fn an_item_maps_both_sides() {
        let record = json!({
            "id": "itm_0000000004", "code": "SKU-00005", "name": "Oak Desk Lamp", "type": "inventory",
            "description": "Oak Desk Lamp (inventory)", "unit_price_minor": 4599, "purchase_price_minor": 2759,
            "currency": "GBP", "sales_account_id": "acc_0000000011", "purchase_account_id": "acc_0000000014",
            "tax_rate_id": "txr_0000000000", "status": "active",
            "created_at": UPDATED, "updated_at": UPDATED,
        });
        assert_eq!(
            item(&record),
            json!({
                "id": "itm_0000000004",
                "name": "Oak Desk Lamp",
                "code": "SKU-00005",
                "type": "Inventory",
                "itemStatus": "Active",
                "isInvoiceItem": true,
                "isBillItem": true,
                "invoiceItem": {
                    "description": "Oak Desk Lamp (inventory)",
                    "unitPrice": 45.99,
                    "accountRef": {"id": "acc_0000000011"},
                    "taxRateRef": {"id": "txr_0000000000"},
                },
                "billItem": {
                    "description": "Oak Desk Lamp (inventory)",
                    "unitPrice": 27.59,
                    "accountRef": {"id": "acc_0000000014"},
                    "taxRateRef": {"id": "txr_0000000000"},
                },
                "sourceModifiedDate": UPDATED,
            })
        );
        let service = json!({
            "id": "itm_0000000001", "type": "service", "unit_price_minor": 50000,
            "purchase_price_minor": null, "sales_account_id": "acc_0000000012", "purchase_account_id": null,
            "status": "archived",
        });
        let mapped = item(&service);
        assert_eq!(mapped["type"], "Service");
        assert_eq!(mapped["itemStatus"], "Archived");
        assert_eq!(mapped["isBillItem"], false);
        assert!(mapped.get("billItem").is_none());
        assert_eq!(mapped["invoiceItem"]["unitPrice"], json!(500));
    }

    #[test]
    fn a_bank_account_maps_to_the_standard_model() {
        let record = json!({
            "id": "bac_0000000002", "name": "Company Credit Card", "account_type": "credit_card",
            "bank_name": "Sandbox Bank", "account_number_last4": "0042", "currency": "GBP",
            "ledger_account_id": "acc_0000000002", "status": "active",
            "created_at": UPDATED, "updated_at": UPDATED,
        });
        assert_eq!(
            bank_account(&record),
            json!({
                "id": "bac_0000000002",
                "accountName": "Company Credit Card",
                "accountType": "Credit",
                "accountNumber": "****0042",
                "institution": "Sandbox Bank",
                "currency": "GBP",
                "status": "Active",
                "sourceModifiedDate": UPDATED,
            })
        );
    }

    #[test]
    fn a_journal_entry_nets_debits_and_credits() {
        let record = json!({
            "id": "jnl_0000000003", "number": "JE-000004", "entry_date": "2023-06-30",
            "memo": "Payroll accrual", "currency": "GBP",
            "lines": [
                {"account_id": "acc_0000000023", "description": "Payroll accrual", "debit_minor": 250000, "credit_minor": 0},
                {"account_id": "acc_0000000008", "description": "Payroll accrual", "debit_minor": 0, "credit_minor": 250000},
            ],
            "total_minor": 250000,
            "created_at": "2023-06-30T08:00:00.000Z", "updated_at": "2023-07-01T08:00:00.000Z",
        });
        assert_eq!(
            journal_entry(&record),
            json!({
                "id": "jnl_0000000003",
                "description": "Payroll accrual",
                "postedOn": "2023-06-30T00:00:00",
                "createdOn": "2023-06-30T08:00:00.000Z",
                "updatedOn": "2023-07-01T08:00:00.000Z",
                "journalLines": [
                    {"description": "Payroll accrual", "netAmount": 2500, "currency": "GBP", "accountRef": {"id": "acc_0000000023"}},
                    {"description": "Payroll accrual", "netAmount": -2500, "currency": "GBP", "accountRef": {"id": "acc_0000000008"}},
                ],
                "sourceModifiedDate": "2023-07-01T08:00:00.000Z",
            })
        );
    }

    #[test]
    fn the_company_maps_to_company_info() {
        let record = json!({
            "id": "cmp_00000000deadbeef", "name": "Demo Small Ltd", "legal_name": "Demo Small Ltd",
            "organisation": "demo-small", "base_currency": "GBP", "country": "GB",
            "registration_number": "01234567", "tax_number": "GB012345678", "financial_year_end": "03-31",
            "address": {"line1": "1 High Street", "city": "York", "postal_code": "YO1 7HH", "country": "GB"},
            "created_at": "2022-01-01T00:00:00.000Z", "updated_at": "2022-01-01T00:00:00.000Z",
        });
        let as_of = NaiveDate::from_ymd_opt(2025, 2, 10).unwrap();
        assert_eq!(
            company_info(&record, as_of),
            json!({
                "companyName": "Demo Small Ltd",
                "companyLegalName": "Demo Small Ltd",
                "accountingPlatformRef": "cmp_00000000deadbeef",
                "addresses": [{"type": "Billing", "line1": "1 High Street", "city": "York", "postalCode": "YO1 7HH", "country": "GB"}],
                "registrationNumber": "01234567",
                "taxNumber": "GB012345678",
                "baseCurrency": "GBP",
                "financialYearStartDate": "2024-04-01T00:00:00",
                "createdDate": "2022-01-01T00:00:00.000Z",
            })
        );
    }

    #[test]
    fn financial_years_start_the_day_after_the_last_year_end() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            financial_year_start("12-31", day(2025, 6, 1)),
            Some(day(2025, 1, 1))
        );
        assert_eq!(
            financial_year_start("12-31", day(2025, 12, 31)),
            Some(day(2025, 1, 1))
        );
        assert_eq!(
            financial_year_start("03-31", day(2025, 4, 1)),
            Some(day(2025, 4, 1))
        );
        assert_eq!(
            financial_year_start("03-31", day(2025, 3, 31)),
            Some(day(2024, 4, 1))
        );
        assert_eq!(
            financial_year_start("02-29", day(2025, 6, 1)),
            Some(day(2025, 3, 1))
        );
        assert_eq!(financial_year_start("13-01", day(2025, 6, 1)), None);
    }
}
