//! The banking platform's records (`bnks`) in Codat's banking model: accounts, balances, transactions and
//! transaction categories.
//!
//! The platform signs money from the holder's side (money out is negative), so a credit card owing 50.00 has
//! a balance of -50.00. Codat reads balances of `Credit` accounts the other way (a positive balance is owed),
//! so those balances change sign; transaction amounts keep theirs, which already match Codat's rule that a
//! positive transaction reduces what a credit account owes.

use serde_json::{json, Value};

use crate::data::standard::{amount, compact, date, named_reference, timestamp};

fn is_credit(account_type: Option<&str>) -> bool {
    account_type == Some("credit_card")
}

/// An amount of the platform's money object `{"minor_units", "currency"}`, negated when `negate`.
fn money(value: &Value, negate: bool) -> Value {
    match value["minor_units"].as_i64() {
        Some(minor) if negate => amount(&json!(-minor)),
        Some(minor) => amount(&json!(minor)),
        None => Value::Null,
    }
}

/// The standard model's balance amounts of a platform balance record, for an account of `account_type`. The
/// available amount and the limit are what can still be spent and the most that can be, never negated.
fn balance_amounts(balance: &Value, account_type: Option<&str>) -> Value {
    json!({
        "current": money(&balance["current"], is_credit(account_type)),
        "available": money(&balance["available"], false),
        "limit": money(&balance["credit_limit"], false),
    })
}

/// An account, with its balance record when the platform has one.
pub(crate) fn account(record: &Value, balance: Option<&Value>) -> Value {
    let account_type = record["type"].as_str();
    let kind = match account_type {
        Some("current" | "savings") => "Debit",
        Some("credit_card") => "Credit",
        _ => "Unknown",
    };
    let identifier_type = match account_type {
        Some("current" | "savings") => "Depository",
        Some("credit_card") => "Credit",
        _ => "Other",
    };
    let institution = &record["institution"];
    compact(json!({
        "id": record["id"],
        "name": record["name"],
        "holder": record["holder_name"],
        "type": kind,
        "balance": balance.map_or(Value::Null, |balance| balance_amounts(balance, account_type)),
        "identifiers": {
            "type": identifier_type,
            "subtype": record["type"],
            "iban": record["iban"],
            "bic": institution["bic"],
            "maskedAccountNumber": record["masked_number"],
        },
        "currency": record["currency"],
        "institution": {"id": institution["bic"], "name": institution["name"]},
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

/// A balance, for an account of `account_type` (the platform's `type` of the account it belongs to).
pub(crate) fn account_balance(record: &Value, account_type: Option<&str>) -> Value {
    compact(json!({
        "accountId": record["account_id"],
        "balance": balance_amounts(record, account_type),
        "date": timestamp(&record["as_of"]),
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

/// A transaction. A booked one was posted on its value date; a pending one is not posted yet.
pub(crate) fn transaction(record: &Value) -> Value {
    let posted = if record["status"] == "booked" {
        date(&record["value_date"])
    } else {
        Value::Null
    };
    compact(json!({
        "id": record["id"],
        "accountId": record["account_id"],
        "description": record["description"],
        "amount": money(&record["amount"], false),
        "currency": record["amount"]["currency"],
        "postedDate": posted,
        "authorizedDate": date(&record["booking_date"]),
        "merchantName": record["counterparty_name"],
        "transactionCategoryRef": named_reference(&record["category_id"], "name", &record["category_name"]),
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

pub(crate) fn transaction_category(record: &Value) -> Value {
    compact(json!({
        "id": record["id"],
        "name": record["name"],
        "parentId": record["parent_id"],
        "sourceModifiedDate": timestamp(&record["updated_at"]),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPDATED: &str = "2022-05-02T00:00:00.000Z";

    fn card_account() -> Value {
        json!({
            "id": "bac_0000000002", "name": "Business Card", "type": "credit_card", "currency": "GBP",
            "iban": "GB42SBOX12345687654321", "masked_number": "****4321", "holder_name": "Sam Okafor",
            "institution": {"name": "Sandbox Bank", "bic": "SBOXGB2L"}, "status": "open",
            "opened_on": "2022-05-02", "created_at": UPDATED, "updated_at": UPDATED,
        })
    }

    fn card_balance() -> Value {
        json!({
            "id": "bal_0000000002", "account_id": "bac_0000000002",
            "current": {"minor_units": -123456, "currency": "GBP"},
            "available": {"minor_units": 876544, "currency": "GBP"},
            "credit_limit": {"minor_units": 1000000, "currency": "GBP"},
            "as_of": "2025-01-01T00:00:00.000Z",
            "created_at": "2025-01-01T00:00:00.000Z", "updated_at": "2025-01-01T00:00:00.000Z",
        })
    }

    #[test]
    fn a_credit_card_account_maps_with_its_balance() {
        assert_eq!(
            account(&card_account(), Some(&card_balance())),
            json!({
                "id": "bac_0000000002",
                "name": "Business Card",
                "holder": "Sam Okafor",
                "type": "Credit",
                "balance": {"current": 1234.56, "available": 8765.44, "limit": 10000},
                "identifiers": {
                    "type": "Credit",
                    "subtype": "credit_card",
                    "iban": "GB42SBOX12345687654321",
                    "bic": "SBOXGB2L",
                    "maskedAccountNumber": "****4321",
                },
                "currency": "GBP",
                "institution": {"id": "SBOXGB2L", "name": "Sandbox Bank"},
                "sourceModifiedDate": UPDATED,
            })
        );
        let mut current = card_account();
        current["type"] = json!("current");
        let mapped = account(&current, None);
        assert_eq!(mapped["type"], "Debit");
        assert_eq!(mapped["identifiers"]["type"], "Depository");
        assert!(mapped.get("balance").is_none());
    }

    #[test]
    fn a_balance_maps_with_the_sign_of_its_account() {
        assert_eq!(
            account_balance(&card_balance(), Some("credit_card")),
            json!({
                "accountId": "bac_0000000002",
                "balance": {"current": 1234.56, "available": 8765.44, "limit": 10000},
                "date": "2025-01-01T00:00:00.000Z",
                "sourceModifiedDate": "2025-01-01T00:00:00.000Z",
            })
        );
        let mut savings = card_balance();
        savings["current"] = json!({"minor_units": 250000, "currency": "GBP"});
        savings["credit_limit"] = Value::Null;
        assert_eq!(
            account_balance(&savings, Some("savings"))["balance"],
            json!({"current": 2500, "available": 8765.44})
        );
    }

    #[test]
    fn transactions_map_posted_and_pending() {
        let booked = json!({
            "id": "txn_0000000019", "account_id": "bac_0000000000", "category_id": "cat_0000000009",
            "amount": {"minor_units": -1450, "currency": "GBP"}, "direction": "debit", "status": "booked",
            "description": "NOODLE BAR 448120", "counterparty_name": "Noodle Bar",
            "booking_date": "2023-03-04", "value_date": "2023-03-05",
            "created_at": "2023-03-04T12:00:00.000Z", "updated_at": "2023-03-04T12:00:00.000Z",
        });
        assert_eq!(
            transaction(&booked),
            json!({
                "id": "txn_0000000019",
                "accountId": "bac_0000000000",
                "description": "NOODLE BAR 448120",
                "amount": -14.5,
                "currency": "GBP",
                "postedDate": "2023-03-05T00:00:00",
                "authorizedDate": "2023-03-04T00:00:00",
                "merchantName": "Noodle Bar",
                "transactionCategoryRef": {"id": "cat_0000000009"},
                "sourceModifiedDate": "2023-03-04T12:00:00.000Z",
            })
        );
        let mut pending = booked;
        pending["status"] = json!("pending");
        assert!(transaction(&pending).get("postedDate").is_none());
    }

    #[test]
    fn a_category_maps_to_the_standard_model() {
        let record = json!({
            "id": "cat_0000000005", "name": "Groceries", "parent_id": "cat_0000000004", "direction": "out",
            "created_at": UPDATED, "updated_at": UPDATED,
        });
        assert_eq!(
            transaction_category(&record),
            json!({"id": "cat_0000000005", "name": "Groceries", "parentId": "cat_0000000004", "sourceModifiedDate": UPDATED})
        );
        let top = json!({"id": "cat_0000000004", "name": "Spending", "parent_id": null, "updated_at": UPDATED});
        assert!(transaction_category(&top).get("parentId").is_none());
    }
}
