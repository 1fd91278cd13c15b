//! `bnks`, the banking platform: accounts, their balances, transactions and the categories
//! transactions are filed under.
//!
//! Style: snake_case fields; money as an object `{"minor_units": -1234, "currency": "GBP"}`,
//! signed (money out is negative); `booking_date`/`value_date` as `YYYY-MM-DD`; timestamps
//! RFC 3339 UTC.

use serde_json::{json, Value};

use crate::data::model::{
    activity_ms, date, reference_ms, stamp, timestamp, Profile, Resource, Size, ACTIVITY_SPAN,
    ACTIVITY_START, DAY_MS,
};
use crate::data::words;

/// `(name, parent index, direction)`; direction is "in", "out" or "both".
pub(crate) const CATEGORIES: [(&str, Option<u64>, &str); 16] = [
    ("Income", None, "in"),
    ("Salary", Some(0), "in"),
    ("Customer receipts", Some(0), "in"),
    ("Refunds", Some(0), "in"),
    ("Spending", None, "out"),
    ("Groceries", Some(4), "out"),
    ("Rent", Some(4), "out"),
    ("Utilities", Some(4), "out"),
    ("Transport", Some(4), "out"),
    ("Eating out", Some(4), "out"),
    ("Shopping", Some(4), "out"),
    ("Subscriptions", Some(4), "out"),
    ("Bank fees", Some(4), "out"),
    ("Transfers", None, "both"),
    ("Internal transfer", Some(13), "both"),
    ("Uncategorised", None, "both"),
];

/// Leaf categories money comes in under, and goes out under, with a merchant or payer.
const INCOMING: [(u64, &str); 3] = [(1, "PAYROLL"), (2, "CUSTOMER PAYMENT"), (3, "REFUND")];
const OUTGOING: [(u64, &str); 16] = [
    (5, "Green Grocer"),
    (5, "Corner Market"),
    (6, "Harbour Lettings"),
    (7, "City Power & Water"),
    (7, "Fibre Broadband"),
    (8, "Metro Rail"),
    (8, "Quick Cabs"),
    (9, "Noodle Bar"),
    (9, "Bean Roasters"),
    (10, "Bookshop"),
    (10, "Hardware Store"),
    (11, "Cloud Hosting"),
    (11, "Music Streaming"),
    (12, "Sandbox Bank"),
    (14, "Own account"),
    (15, "Unknown merchant"),
];

const ACCOUNT_KINDS: [(&str, &str); 3] = [
    ("Business Current", "current"),
    ("Business Savings", "savings"),
    ("Business Card", "credit_card"),
];

pub(crate) struct Banking {
    pub profile: Profile,
    accounts: u64,
    transactions: u64,
}

pub(crate) fn money(minor_units: i64, currency: &str) -> Value {
    json!({ "minor_units": minor_units, "currency": currency })
}

/// Balances are as of the end of the generated timeline.
const BALANCES_AS_OF_MS: i64 = (ACTIVITY_START + ACTIVITY_SPAN) * 1000;

impl Banking {
    pub(crate) fn new(profile: Profile) -> Self {
        let accounts = match profile.size {
            Size::Small => 3,
            Size::Medium => 4,
            Size::Other(seed) => 2 + seed % 3,
            Size::Bench(n) => (2 + n / 1_000_000).min(12),
        };
        Self {
            accounts,
            transactions: profile.size.main(120, 3_000, 60),
            profile,
        }
    }

    pub(crate) fn count(&self, resource: Resource) -> u64 {
        match resource {
            Resource::BankingAccounts | Resource::Balances => self.accounts,
            Resource::Transactions => self.transactions,
            Resource::TransactionCategories => CATEGORIES.len() as u64,
            _ => 0,
        }
    }

    pub(crate) fn updated_ms(&self, resource: Resource, index: u64) -> i64 {
        match resource {
            Resource::Transactions => activity_ms(self.transactions, index),
            Resource::Balances => BALANCES_AS_OF_MS,
            other => reference_ms(self.count(other), index),
        }
    }

    pub(crate) fn base_name(&self, resource: Resource, index: u64) -> Option<String> {
        (resource == Resource::TransactionCategories)
            .then(|| CATEGORIES[index as usize % CATEGORIES.len()].0.to_owned())
    }

    pub(crate) fn base_referenced(&self, resource: Resource, _index: u64) -> bool {
        matches!(
            resource,
            Resource::BankingAccounts | Resource::TransactionCategories
        )
    }

    pub(crate) fn record(&self, resource: Resource, index: u64) -> Value {
        let updated_ms = self.updated_ms(resource, index);
        let mut record = match resource {
            Resource::BankingAccounts => self.account(index),
            Resource::Balances => self.balance(index),
            Resource::Transactions => self.transaction(index, updated_ms),
            Resource::TransactionCategories => category(index),
            _ => json!({}),
        };
        stamp(&mut record, &resource.id(index), &timestamp(updated_ms));
        record
    }

    fn account(&self, index: u64) -> Value {
        let mut rng = self.profile.rng(Resource::BankingAccounts, index);
        let (name, kind) = ACCOUNT_KINDS[(index % 3) as usize];
        let number = rng.below(100_000_000);
        let country = self.profile.country;
        let (first, last) = words::person(&mut rng);
        json!({
            "name": if index < 3 { name.to_owned() } else { format!("{name} {}", index / 3 + 1) },
            "type": kind,
            "currency": self.profile.currency,
            "iban": format!("{country}{:02}SBOX{:06}{number:08}", rng.below(100), rng.below(1_000_000)),
            "masked_number": format!("****{:04}", number % 10_000),
            "holder_name": format!("{first} {last}"),
            "institution": { "name": "Sandbox Bank", "bic": format!("SBOX{country}2L") },
            "status": "open",
            "opened_on": date(self.updated_ms(Resource::BankingAccounts, index)),
        })
    }

    fn balance(&self, index: u64) -> Value {
        let mut rng = self.profile.rng(Resource::Balances, index);
        let kind = ACCOUNT_KINDS[(index % 3) as usize].1;
        let currency = self.profile.currency;
        let (current, available) = if kind == "credit_card" {
            let owed = -rng.between(0, 5_000) * 100;
            (owed, owed + 1_000_000)
        } else {
            let current = rng.between(1_000, 250_000) * 100;
            (current, current)
        };
        json!({
            "account_id": Resource::BankingAccounts.id(index),
            "current": money(current, currency),
            "available": money(available, currency),
            "credit_limit": (kind == "credit_card").then(|| money(1_000_000, currency)),
            "as_of": timestamp(BALANCES_AS_OF_MS),
        })
    }

    fn transaction(&self, index: u64, booked_ms: i64) -> Value {
        let mut rng = self.profile.rng(Resource::Transactions, index);
        let account = rng.below(self.accounts);
        let (category, counterparty, amount) = random_movement(&mut rng);
        let pending = rng.chance(4);
        let value_ms = booked_ms + rng.between(0, 1) * DAY_MS;
        transaction_json(&TransactionFields {
            account,
            category,
            amount,
            currency: self.profile.currency,
            description: format!("{} {}", counterparty.to_uppercase(), rng.below(1_000_000)),
            counterparty,
            pending,
            booking_date: date(booked_ms),
            value_date: date(value_ms),
        })
    }
}

pub(crate) struct TransactionFields<'a> {
    pub account: u64,
    pub category: u64,
    pub amount: i64,
    pub currency: &'a str,
    pub description: String,
    pub counterparty: &'a str,
    pub pending: bool,
    pub booking_date: String,
    pub value_date: String,
}

pub(crate) fn transaction_json(fields: &TransactionFields<'_>) -> Value {
    json!({
        "account_id": Resource::BankingAccounts.id(fields.account),
        "category_id": Resource::TransactionCategories.id(fields.category),
        "amount": money(fields.amount, fields.currency),
        "direction": if fields.amount >= 0 { "credit" } else { "debit" },
        "status": if fields.pending { "pending" } else { "booked" },
        "description": fields.description,
        "counterparty_name": fields.counterparty,
        "booking_date": fields.booking_date,
        "value_date": fields.value_date,
    })
}

/// A random incoming or outgoing `(category, counterparty, amount)`, for new transactions.
pub(crate) fn random_movement(rng: &mut crate::data::rng::Rng) -> (u64, &'static str, i64) {
    if rng.chance(30) {
        let (category, payer) = *rng.pick(&INCOMING);
        (category, payer, rng.between(10, 5_000) * 100)
    } else {
        let (category, merchant) = *rng.pick(&OUTGOING);
        (category, merchant, -rng.between(150, 60_000))
    }
}

fn category(index: u64) -> Value {
    let (name, parent, direction) = CATEGORIES[index as usize % CATEGORIES.len()];
    json!({
        "name": name,
        "parent_id": parent.map(|parent| Resource::TransactionCategories.id(parent)),
        "direction": direction,
    })
}
