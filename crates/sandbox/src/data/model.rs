//! What every dataset shares: the resources each platform serves, record ids, an
//! organisation's profile (seed, size, currency) and the fixed timeline base records sit on.

use chrono::{DateTime, SecondsFormat, TimeZone as _, Utc};

use crate::data::rng::{fnv1a, Rng};
use crate::params::{OrganisationName, Platform};

/// A list resource of one platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Resource {
    // mqjo, accounting
    Accounts,
    Customers,
    Suppliers,
    Items,
    TaxRates,
    Invoices,
    Bills,
    CreditNotes,
    Payments,
    BillPayments,
    JournalEntries,
    BankAccounts,
    // bnks, banking
    BankingAccounts,
    Balances,
    Transactions,
    TransactionCategories,
    // aiwb, commerce
    ShopCustomers,
    Orders,
    Products,
    ShopPayments,
    ShopTransactions,
    Locations,
}

/// A change a client can ask for on a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Write {
    Create,
    Update,
    Delete,
}

impl Write {
    /// How a refusal reads: "payments on mqjo cannot be updated".
    pub(crate) fn past_participle(self) -> &'static str {
        match self {
            Self::Create => "created",
            Self::Update => "updated",
            Self::Delete => "deleted",
        }
    }
}

/// Which writes a resource accepts. Payments can only be recorded, and journal entries posted
/// or removed, never edited, as on most ledgers.
#[derive(Debug, Clone, Copy)]
struct Writes {
    create: bool,
    update: bool,
    delete: bool,
}

const READ_ONLY: Writes = Writes {
    create: false,
    update: false,
    delete: false,
};
const EVERY_WRITE: Writes = Writes {
    create: true,
    update: true,
    delete: true,
};
const CREATE_ONLY: Writes = Writes {
    create: true,
    update: false,
    delete: false,
};
const CREATE_AND_DELETE: Writes = Writes {
    create: true,
    update: false,
    delete: true,
};

struct ResourceInfo {
    resource: Resource,
    platform: Platform,
    path: &'static str,
    prefix: &'static str,
    singular: &'static str,
    writes: Writes,
}

const fn info(
    resource: Resource,
    platform: Platform,
    path: &'static str,
    prefix: &'static str,
    singular: &'static str,
    writes: Writes,
) -> ResourceInfo {
    ResourceInfo {
        resource,
        platform,
        path,
        prefix,
        singular,
        writes,
    }
}

use Platform::{Aiwb, Bnks, Mqjo};

const RESOURCES: [ResourceInfo; 22] = [
    info(
        Resource::Accounts,
        Mqjo,
        "accounts",
        "acc",
        "account",
        EVERY_WRITE,
    ),
    info(
        Resource::Customers,
        Mqjo,
        "customers",
        "cus",
        "customer",
        EVERY_WRITE,
    ),
    info(
        Resource::Suppliers,
        Mqjo,
        "suppliers",
        "sup",
        "supplier",
        EVERY_WRITE,
    ),
    info(Resource::Items, Mqjo, "items", "itm", "item", EVERY_WRITE),
    info(
        Resource::TaxRates,
        Mqjo,
        "tax-rates",
        "tax",
        "tax rate",
        READ_ONLY,
    ),
    info(
        Resource::Invoices,
        Mqjo,
        "invoices",
        "inv",
        "invoice",
        EVERY_WRITE,
    ),
    info(Resource::Bills, Mqjo, "bills", "bil", "bill", EVERY_WRITE),
    info(
        Resource::CreditNotes,
        Mqjo,
        "credit-notes",
        "crn",
        "credit note",
        READ_ONLY,
    ),
    info(
        Resource::Payments,
        Mqjo,
        "payments",
        "pay",
        "payment",
        CREATE_ONLY,
    ),
    info(
        Resource::BillPayments,
        Mqjo,
        "bill-payments",
        "bpy",
        "bill payment",
        READ_ONLY,
    ),
    info(
        Resource::JournalEntries,
        Mqjo,
        "journal-entries",
        "jnl",
        "journal entry",
        CREATE_AND_DELETE,
    ),
    info(
        Resource::BankAccounts,
        Mqjo,
        "bank-accounts",
        "bka",
        "bank account",
        READ_ONLY,
    ),
    info(
        Resource::BankingAccounts,
        Bnks,
        "accounts",
        "acct",
        "account",
        READ_ONLY,
    ),
    info(
        Resource::Balances,
        Bnks,
        "balances",
        "bal",
        "balance",
        READ_ONLY,
    ),
    info(
        Resource::Transactions,
        Bnks,
        "transactions",
        "txn",
        "transaction",
        READ_ONLY,
    ),
    info(
        Resource::TransactionCategories,
        Bnks,
        "transaction-categories",
        "cat",
        "transaction category",
        READ_ONLY,
    ),
    info(
        Resource::ShopCustomers,
        Aiwb,
        "customers",
        "cust",
        "customer",
        READ_ONLY,
    ),
    info(Resource::Orders, Aiwb, "orders", "ord", "order", READ_ONLY),
    info(
        Resource::Products,
        Aiwb,
        "products",
        "prod",
        "product",
        EVERY_WRITE,
    ),
    info(
        Resource::ShopPayments,
        Aiwb,
        "payments",
        "pmt",
        "payment",
        READ_ONLY,
    ),
    info(
        Resource::ShopTransactions,
        Aiwb,
        "transactions",
        "trx",
        "transaction",
        READ_ONLY,
    ),
    info(
        Resource::Locations,
        Aiwb,
        "locations",
        "loc",
        "location",
        READ_ONLY,
    ),
];

/// Record ids are `<prefix>_<10 digits>`: the digits are the record's index, so ids sort in
/// index order and a base record is found from its id without a lookup table. Records created
/// later (by `advance` or a write) continue the numbering past the base count.
const ID_DIGITS: usize = 10;

impl Resource {
    fn info(self) -> &'static ResourceInfo {
        RESOURCES
            .iter()
            .find(|info| info.resource == self)
            .unwrap_or(&RESOURCES[0])
    }

    pub(crate) fn parse(platform: Platform, path: &str) -> Option<Self> {
        RESOURCES
            .iter()
            .find(|info| info.platform == platform && info.path == path)
            .map(|info| info.resource)
    }

    pub(crate) fn of(platform: Platform) -> impl Iterator<Item = Resource> {
        RESOURCES
            .iter()
            .filter(move |info| info.platform == platform)
            .map(|info| info.resource)
    }

    pub(crate) fn path(self) -> &'static str {
        self.info().path
    }

    pub(crate) fn singular(self) -> &'static str {
        self.info().singular
    }

    pub(crate) fn allows(self, write: Write) -> bool {
        let writes = self.info().writes;
        match write {
            Write::Create => writes.create,
            Write::Update => writes.update,
            Write::Delete => writes.delete,
        }
    }

    /// Salts this resource's record streams, so record 7 of two resources differ.
    pub(crate) fn salt(self) -> u64 {
        fnv1a(self.info().prefix.as_bytes())
    }

    pub(crate) fn id(self, index: u64) -> String {
        format!("{}_{index:0ID_DIGITS$}", self.info().prefix)
    }

    /// The index inside a well-formed id of this resource.
    pub(crate) fn index_of(self, id: &str) -> Option<u64> {
        let digits = id.strip_prefix(self.info().prefix)?.strip_prefix('_')?;
        if digits.len() != ID_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }
}

/// How big an organisation's dataset is, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Size {
    /// `demo-small`: tens of customers, about a hundred documents.
    Small,
    /// `demo-medium`: a few thousand records.
    Medium,
    /// Any other name: a small dataset of its own; the number varies the counts.
    Other(u64),
    /// `bench-N`: exactly N invoices / transactions / orders, generated on demand.
    Bench(u64),
}

pub(crate) const MAX_BENCH: u64 = 10_000_000;

impl Size {
    pub(crate) fn of(name: &str, seed: u64) -> Self {
        match name {
            "demo-small" => Self::Small,
            "demo-medium" => Self::Medium,
            _ => name
                .strip_prefix("bench-")
                .filter(|digits| {
                    !digits.is_empty()
                        && !digits.starts_with('0')
                        && digits.bytes().all(|b| b.is_ascii_digit())
                })
                .and_then(|digits| digits.parse::<u64>().ok())
                .filter(|n| (1..=MAX_BENCH).contains(n))
                .map_or(Self::Other(seed), Self::Bench),
        }
    }

    /// Picks a count: `small` and `medium` for the demo organisations, `small` plus up to
    /// `spread` for other names, and for `bench-N` N divided by `per_bench` (at least 1),
    /// capped at `cap`.
    pub(crate) fn count(
        self,
        small: u64,
        medium: u64,
        spread: u64,
        per_bench: u64,
        cap: u64,
    ) -> u64 {
        match self {
            Self::Small => small,
            Self::Medium => medium,
            Self::Other(seed) => small / 2 + seed % (spread + 1),
            Self::Bench(n) => (n / per_bench + 1).min(cap),
        }
    }

    /// The main collection's count (invoices, transactions, orders).
    pub(crate) fn main(self, small: u64, medium: u64, spread: u64) -> u64 {
        match self {
            Self::Bench(n) => n,
            other => other.count(small, medium, spread, 1, u64::MAX),
        }
    }
}

/// Everything a dataset is derived from: a pure function of (platform, organisation name).
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    pub seed: u64,
    pub size: Size,
    pub name: String,
    pub currency: &'static str,
    pub country: &'static str,
}

pub(crate) const CURRENCIES: [(&str, &str); 4] =
    [("GBP", "GB"), ("USD", "US"), ("EUR", "DE"), ("EUR", "NL")];

impl Profile {
    pub(crate) fn new(platform: Platform, organisation: &OrganisationName) -> Self {
        let seed = fnv1a(
            format!(
                "linkwell-sandbox/{}/{}",
                platform.key(),
                organisation.as_str()
            )
            .as_bytes(),
        );
        let (currency, country) = match organisation.as_str() {
            // The demo organisations are British, which keeps their fixtures easy to read.
            "demo-small" | "demo-medium" => CURRENCIES[0],
            _ => *Rng::new(seed).pick(&CURRENCIES),
        };
        Self {
            seed,
            size: Size::of(organisation.as_str(), seed),
            name: organisation.as_str().to_owned(),
            currency,
            country,
        }
    }

    pub(crate) fn rng(&self, resource: Resource, index: u64) -> Rng {
        Rng::for_record(self.seed, resource.salt(), index)
    }
}

/// Base records live on a fixed timeline ending at 2025-01-01, never on the wall clock, so two
/// routers serve byte-identical pages. Reference data (customers, accounts, products…) is
/// created during 2022; documents and transactions during 2023–2024.
pub(crate) const REFERENCE_START: i64 = 1_640_995_200; // 2022-01-01T00:00:00Z
pub(crate) const REFERENCE_SPAN: i64 = 365 * 86_400;
pub(crate) const ACTIVITY_START: i64 = 1_672_531_200; // 2023-01-01T00:00:00Z
pub(crate) const ACTIVITY_SPAN: i64 = 731 * 86_400; // to 2025-01-01T00:00:00Z

/// Milliseconds since the Unix epoch of record `index` of `count` spread evenly over a window:
/// non-decreasing in `index`, so base records are already in (updated, id) order.
pub(crate) fn spread_ms(start_seconds: i64, span_seconds: i64, count: u64, index: u64) -> i64 {
    let offset = i128::from(span_seconds) * i128::from(index) / i128::from(count.max(1));
    (i128::from(start_seconds) + offset) as i64 * 1000
}

pub(crate) fn reference_ms(count: u64, index: u64) -> i64 {
    spread_ms(REFERENCE_START, REFERENCE_SPAN, count, index)
}

pub(crate) fn activity_ms(count: u64, index: u64) -> i64 {
    spread_ms(ACTIVITY_START, ACTIVITY_SPAN, count, index)
}

pub(crate) fn datetime(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// RFC 3339, UTC, milliseconds: every timestamp the data API writes.
pub(crate) fn timestamp(ms: i64) -> String {
    datetime(ms).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `YYYY-MM-DD`.
pub(crate) fn date(ms: i64) -> String {
    datetime(ms).format("%Y-%m-%d").to_string()
}

pub(crate) const DAY_MS: i64 = 86_400_000;

/// Adds `id`, `created_at` and `updated_at` to a generated record.
pub(crate) fn stamp(record: &mut serde_json::Value, id: &str, updated: &str) {
    if let Some(fields) = record.as_object_mut() {
        fields.insert("id".into(), id.into());
        fields.insert("created_at".into(), updated.into());
        fields.insert("updated_at".into(), updated.into());
    }
}

/// Children derived from a parent collection in blocks of ten consecutive parents, such as the
/// payments of paid invoices: which of a block's ten positions have a child is fixed per block,
/// so child j maps to its parent in constant time and nothing is ever scanned.
pub(crate) struct Blocks<F: Fn(u64) -> [bool; 10]> {
    pub parents: u64,
    /// Which positions of block b have a child.
    pub has_child: F,
}

impl<F: Fn(u64) -> [bool; 10]> Blocks<F> {
    fn positions(&self, block: u64) -> Vec<u64> {
        let present = self.parents.saturating_sub(block * 10).min(10);
        (self.has_child)(block)
            .iter()
            .enumerate()
            .filter(|(position, has)| **has && (*position as u64) < present)
            .map(|(position, _)| position as u64)
            .collect()
    }

    fn per_full_block(&self) -> u64 {
        (self.has_child)(0).iter().filter(|has| **has).count() as u64
    }

    pub fn count(&self) -> u64 {
        let full = self.parents / 10;
        let tail = if self.parents.is_multiple_of(10) {
            0
        } else {
            self.positions(full).len() as u64
        };
        full * self.per_full_block() + tail
    }

    /// The parent index of child `index`, with the child's rank in its block.
    pub fn parent(&self, index: u64) -> Option<(u64, u64)> {
        let per_block = self.per_full_block().max(1);
        let block = index / per_block;
        let rank = index % per_block;
        let position = *self.positions(block).get(rank as usize)?;
        Some((block * 10 + position, rank))
    }

    /// The last parent index of the block of child `index`, which children are timed after.
    pub fn block_end(&self, index: u64) -> u64 {
        let block = index / self.per_full_block().max(1);
        (block * 10 + 9).min(self.parents.saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sort_in_index_order() {
        let id = Resource::Invoices.id(42);
        assert_eq!(id, "inv_0000000042");
        assert_eq!(Resource::Invoices.index_of(&id), Some(42));
        assert_eq!(Resource::Invoices.index_of("inv_42"), None);
        assert_eq!(Resource::Bills.index_of(&id), None);
        assert!(Resource::Invoices.id(9) < Resource::Invoices.id(10));
    }

    #[test]
    fn sizes_come_from_the_name() {
        assert_eq!(Size::of("demo-small", 1), Size::Small);
        assert_eq!(Size::of("demo-medium", 1), Size::Medium);
        assert_eq!(Size::of("bench-10000000", 1), Size::Bench(10_000_000));
        assert_eq!(Size::of("bench-1", 1), Size::Bench(1));
        assert_eq!(Size::of("bench-0", 1), Size::Other(1));
        assert_eq!(Size::of("bench-010", 1), Size::Other(1));
        assert_eq!(Size::of("bench-10000001", 1), Size::Other(1));
        assert_eq!(Size::of("acme", 7), Size::Other(7));
    }

    #[test]
    fn the_timeline_is_fixed() {
        assert_eq!(timestamp(ACTIVITY_START * 1000), "2023-01-01T00:00:00.000Z");
        assert_eq!(
            timestamp((ACTIVITY_START + ACTIVITY_SPAN) * 1000),
            "2025-01-01T00:00:00.000Z"
        );
        assert_eq!(date(REFERENCE_START * 1000), "2022-01-01");
        let count = 10_000_000;
        assert!(activity_ms(count, count - 1) < (ACTIVITY_START + ACTIVITY_SPAN) * 1000);
        assert!((1..count)
            .step_by(999_983)
            .all(|i| activity_ms(count, i - 1) <= activity_ms(count, i)));
    }

    #[test]
    fn block_children_map_to_parents() {
        let blocks = Blocks {
            parents: 23,
            has_child: |block: u64| {
                let mut has = [false; 10];
                has[(block % 10) as usize] = true;
                has[9] = true;
                has
            },
        };
        // Blocks 0 and 1 are full (2 children each); block 2 has parents 20..23, so only
        // position 2 (parent 22) of its two.
        assert_eq!(blocks.count(), 5);
        assert_eq!(blocks.parent(0), Some((0, 0)));
        assert_eq!(blocks.parent(1), Some((9, 1)));
        assert_eq!(blocks.parent(2), Some((11, 0)));
        assert_eq!(blocks.parent(4), Some((22, 0)));
        assert_eq!(blocks.parent(5), None);
        assert_eq!(blocks.block_end(4), 22);
    }
}
