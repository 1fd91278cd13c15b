//! The connector of the built-in sandbox platforms (`mqjo`, `bnks`, `aiwb`): their data API over HTTP, with
//! the connection's token from [`TokenManager::call`] (which refreshes on a 401 and moves a connection whose
//! access is gone to `Deauthorized`), their answers sorted by `answers`, and their records mapped into the
//! standard model.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::Value;

use crate::data::accounting::documents::{self, DocumentKind};
use crate::data::accounting::push as accounting_push;
use crate::data::answers::{read_body, read_json, token_failure};
use crate::data::push::options::push_option;
use crate::data::push::{build, PushSpec};
use crate::data::standard::{source_record, tombstone, Unmappable};
use crate::data::{
    accounting, banking, commerce, Connector, ConnectorError, DataType, FetchedPage, FieldError,
    PushKind, SourceRecord, UnmappedPage,
};
use crate::tokens::{ConnectionRef, TokenManager};

/// The most records one list call asks for, the platform's own limit.
const MAX_PAGE: u32 = 500;
/// How many pages of a small related list (a bank's accounts or balances) are read at most.
const MAX_RELATED_PAGES: usize = 20;

/// One of the sandbox platforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SandboxPlatform {
    /// `mqjo`.
    Accounting,
    /// `bnks`.
    Banking,
    /// `aiwb`.
    Commerce,
}

const ACCOUNTING_TYPES: [&str; 13] = [
    "bankAccounts",
    "billPayments",
    "bills",
    "chartOfAccounts",
    "company",
    "creditNotes",
    "customers",
    "invoices",
    "items",
    "journalEntries",
    "payments",
    "suppliers",
    "taxRates",
];
const BANKING_TYPES: [&str; 4] = [
    "banking-accountBalances",
    "banking-accounts",
    "banking-transactionCategories",
    "banking-transactions",
];
const COMMERCE_TYPES: [&str; 7] = [
    "commerce-companyInfo",
    "commerce-customers",
    "commerce-locations",
    "commerce-orders",
    "commerce-payments",
    "commerce-products",
    "commerce-transactions",
];

impl SandboxPlatform {
    pub const ALL: [SandboxPlatform; 3] = [
        SandboxPlatform::Accounting,
        SandboxPlatform::Banking,
        SandboxPlatform::Commerce,
    ];

    /// The platform key.
    pub fn key(self) -> &'static str {
        match self {
            SandboxPlatform::Accounting => "mqjo",
            SandboxPlatform::Banking => "bnks",
            SandboxPlatform::Commerce => "aiwb",
        }
    }

    pub fn parse(key: &str) -> Option<SandboxPlatform> {
        SandboxPlatform::ALL
            .into_iter()
            .find(|platform| platform.key() == key)
    }

    fn readable(self) -> &'static [&'static str] {
        match self {
            SandboxPlatform::Accounting => &ACCOUNTING_TYPES,
            SandboxPlatform::Banking => &BANKING_TYPES,
            SandboxPlatform::Commerce => &COMMERCE_TYPES,
        }
    }
}

/// Where a data type lives in the platform's API.
enum Route {
    /// A paged list, `/v1/{path}`.
    List(&'static str),
    /// The single organisation object, `/v1/{path}`.
    Single(&'static str),
}

fn route(data_type: DataType) -> Route {
    match data_type {
        DataType::ChartOfAccounts => Route::List("accounts"),
        DataType::BankAccounts => Route::List("bank-accounts"),
        DataType::BillPayments => Route::List("bill-payments"),
        DataType::Bills => Route::List("bills"),
        DataType::Company => Route::Single("company"),
        DataType::CreditNotes => Route::List("credit-notes"),
        DataType::Customers => Route::List("customers"),
        DataType::Invoices => Route::List("invoices"),
        DataType::Items => Route::List("items"),
        DataType::JournalEntries => Route::List("journal-entries"),
        DataType::Payments => Route::List("payments"),
        DataType::Suppliers => Route::List("suppliers"),
        DataType::TaxRates => Route::List("tax-rates"),
        DataType::BankingAccounts => Route::List("accounts"),
        DataType::BankingAccountBalances => Route::List("balances"),
        DataType::BankingTransactions => Route::List("transactions"),
        DataType::BankingTransactionCategories => Route::List("transaction-categories"),
        DataType::CommerceCompanyInfo => Route::Single("store"),
        DataType::CommerceCustomers => Route::List("customers"),
        DataType::CommerceLocations => Route::List("locations"),
        DataType::CommerceOrders => Route::List("orders"),
        DataType::CommercePayments => Route::List("payments"),
        DataType::CommerceProducts => Route::List("products"),
        DataType::CommerceTransactions => Route::List("transactions"),
    }
}

/// Records of another list a data type's mapping needs: a bank account's balance, a balance's account type.
#[derive(Default)]
struct Related(HashMap<String, Value>);

/// A sandbox platform's data API seen through the standard model.
#[derive(Clone)]
pub struct SandboxConnector {
    platform: SandboxPlatform,
    tokens: TokenManager,
}

impl SandboxConnector {
    pub fn new(platform: SandboxPlatform, tokens: TokenManager) -> Self {
        Self { platform, tokens }
    }

    pub fn platform(&self) -> SandboxPlatform {
        self.platform
    }

    /// The data type `key` when this platform has it.
    fn readable_type(&self, key: &str) -> Result<DataType, ConnectorError> {
        DataType::parse(key)
            .filter(|_| self.platform.readable().contains(&key))
            .ok_or_else(|| {
                ConnectorError::NotSupported(format!("{key} on {}", self.platform.key()))
            })
    }

    fn push_spec(&self, data_type: &str, kind: &PushKind) -> Option<&'static PushSpec> {
        push_spec(self.platform, data_type, kind)
    }

    /// Sends a request built against the platform's API base, with the connection's token.
    async fn send(
        &self,
        at: ConnectionRef,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ConnectorError> {
        self.tokens.call(at, build).await.map_err(token_failure)
    }

    /// One page of a list: its records and the next cursor.
    async fn list(
        &self,
        at: ConnectionRef,
        path: &str,
        cursor: Option<&str>,
        since: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<Value>, Option<String>), ConnectorError> {
        let body = self.list_body(at, path, cursor, since, limit).await?;
        let mut page: Value = serde_json::from_slice(&body)
            .map_err(|_| ConnectorError::Failed("the platform's answer is not JSON".to_owned()))?;
        let next = page["next_cursor"].as_str().map(str::to_owned);
        match page.get_mut("data").map(Value::take) {
            Some(Value::Array(records)) => Ok((records, next)),
            _ => Err(no_data(path)),
        }
    }

    /// One page of a list as the platform sent it, with the cursor of the next: its records are read only when
    /// the page is mapped.
    async fn list_unread(
        &self,
        at: ConnectionRef,
        path: &str,
        cursor: Option<&str>,
        since: Option<&str>,
        limit: u32,
    ) -> Result<(bytes::Bytes, Option<String>), ConnectorError> {
        #[derive(serde::Deserialize)]
        struct Envelope {
            next_cursor: Option<String>,
            #[allow(dead_code)]
            data: Vec<serde::de::IgnoredAny>,
        }
        let body = self.list_body(at, path, cursor, since, limit).await?;
        let envelope: Envelope = serde_json::from_slice(&body).map_err(|_| no_data(path))?;
        Ok((body, envelope.next_cursor))
    }

    async fn list_body(
        &self,
        at: ConnectionRef,
        path: &str,
        cursor: Option<&str>,
        since: Option<&str>,
        limit: u32,
    ) -> Result<bytes::Bytes, ConnectorError> {
        let mut query = vec![("limit", limit.clamp(1, MAX_PAGE).to_string())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        if let Some(since) = since {
            query.push(("updated_since", since.to_owned()));
        }
        let answer = self
            .send(at, |http, base| {
                http.get(format!("{base}/v1/{path}")).query(&query)
            })
            .await?;
        read_body(answer, None).await
    }

    /// Every record of a small list, keyed by `key` of each record.
    async fn related(
        &self,
        at: ConnectionRef,
        path: &str,
        key: &str,
    ) -> Result<Related, ConnectorError> {
        let mut related = Related::default();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_RELATED_PAGES {
            let (records, next) = self
                .list(at, path, cursor.as_deref(), None, MAX_PAGE)
                .await?;
            for record in records {
                if let Some(id) = record[key].as_str() {
                    related.0.insert(id.to_owned(), record);
                }
            }
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(related)
    }

    async fn fetch_single(
        &self,
        at: ConnectionRef,
        data_type: DataType,
        path: &str,
        cursor: Option<&str>,
        since: Option<&str>,
    ) -> Result<FetchedPage, ConnectorError> {
        let empty = FetchedPage {
            records: Vec::new(),
            next_cursor: None,
        };
        // The object is the whole of its only page: any cursor is past it.
        if cursor.is_some() {
            return Ok(empty);
        }
        let answer = self
            .send(at, |http, base| http.get(format!("{base}/v1/{path}")))
            .await?;
        let record = read_json(answer, None).await?;
        let changed = record["updated_at"].as_str().map(str::to_owned);
        if let (Some(since), Some(changed)) = (since, changed.as_deref()) {
            if !is_after(changed, since) {
                return Ok(empty);
            }
        }
        let body = match data_type {
            DataType::Company => {
                accounting::ledger::company_info(&record, chrono::Utc::now().date_naive())
            }
            _ => commerce::company_info(&record),
        };
        Ok(FetchedPage {
            records: vec![source_record(&record, body).map_err(unmappable)?],
            next_cursor: None,
        })
    }
}

#[async_trait]
impl Connector for SandboxConnector {
    fn readable(&self) -> &'static [&'static str] {
        self.platform.readable()
    }

    fn supports_push(&self, data_type: &str, kind: &PushKind) -> bool {
        self.push_spec(data_type, kind).is_some()
    }

    async fn fetch_page(
        &self,
        at: ConnectionRef,
        data_type: &str,
        cursor: Option<&str>,
        modified_since: Option<&str>,
        page_size: u32,
    ) -> Result<FetchedPage, ConnectorError> {
        let page = self
            .fetch_unmapped_page(at, data_type, cursor, modified_since, page_size)
            .await?;
        let next_cursor = page.next_cursor.clone();
        Ok(FetchedPage {
            records: page.map()?,
            next_cursor,
        })
    }

    async fn fetch_unmapped_page(
        &self,
        at: ConnectionRef,
        data_type: &str,
        cursor: Option<&str>,
        modified_since: Option<&str>,
        page_size: u32,
    ) -> Result<UnmappedPage, ConnectorError> {
        let data_type = self.readable_type(data_type)?;
        if let Some(since) = modified_since {
            if chrono::DateTime::parse_from_rfc3339(since).is_err() {
                return Err(ConnectorError::Failed(format!(
                    "modified_since {since:?} is not an RFC 3339 timestamp"
                )));
            }
        }
        let path = match route(data_type) {
            Route::Single(path) => {
                return self
                    .fetch_single(at, data_type, path, cursor, modified_since)
                    .await
                    .map(UnmappedPage::mapped)
            }
            Route::List(path) => path,
        };
        let document = match data_type {
            DataType::Invoices => Some(DocumentKind::Invoice),
            DataType::Bills => Some(DocumentKind::Bill),
            DataType::CreditNotes => Some(DocumentKind::CreditNote),
            _ => None,
        };
        if let Some(kind) = document {
            let (body, next_cursor) = self
                .list_unread(at, path, cursor, modified_since, page_size)
                .await?;
            return Ok(UnmappedPage::new_json(next_cursor, move || {
                documents::page_as_json(&body, kind).map_err(unmappable)
            }));
        }
        let (records, next_cursor) = self
            .list(at, path, cursor, modified_since, page_size)
            .await?;
        let live = records.iter().any(|record| record["deleted"] != true);
        let related = match data_type {
            DataType::BankingAccounts if live => self.related(at, "balances", "account_id").await?,
            DataType::BankingAccountBalances if live => self.related(at, "accounts", "id").await?,
            _ => Related::default(),
        };
        Ok(UnmappedPage::new(next_cursor, move || {
            records
                .iter()
                .map(|record| source(data_type, record, &related))
                .collect()
        }))
    }

    fn validate(&self, data_type: &str, kind: &PushKind, record: &Value) -> Vec<FieldError> {
        match (self.push_spec(data_type, kind), kind) {
            (Some(spec), PushKind::Create | PushKind::Update { .. }) => {
                build(spec, kind, record).err().unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }

    async fn push(
        &self,
        at: ConnectionRef,
        data_type: &str,
        kind: &PushKind,
        record: &Value,
        idempotency_key: &str,
    ) -> Result<Option<SourceRecord>, ConnectorError> {
        let spec = self.push_spec(data_type, kind).ok_or_else(|| {
            ConnectorError::NotSupported(format!(
                "{} of {data_type} on {}",
                kind_name(kind),
                self.platform.key()
            ))
        })?;
        let Route::List(path) = route(spec.data_type) else {
            return Err(ConnectorError::NotSupported(data_type.to_owned()));
        };
        let answer = match kind {
            PushKind::Create => {
                let body = build(spec, kind, record).map_err(ConnectorError::Invalid)?;
                // The sandbox platforms take an Idempotency-Key on creations, as many platforms do.
                self.send(at, |http, base| {
                    http.post(format!("{base}/v1/{path}"))
                        .header("Idempotency-Key", idempotency_key)
                        .json(&body)
                })
                .await?
            }
            PushKind::Update { id } => {
                let body = build(spec, kind, record).map_err(ConnectorError::Invalid)?;
                let id = path_segment(id);
                self.send(at, |http, base| {
                    http.put(format!("{base}/v1/{path}/{id}")).json(&body)
                })
                .await?
            }
            PushKind::Delete { id } => {
                let id = path_segment(id);
                self.send(at, |http, base| {
                    http.delete(format!("{base}/v1/{path}/{id}"))
                })
                .await?
            }
        };
        let stored = read_json(answer, Some((spec, record))).await?;
        if matches!(kind, PushKind::Delete { .. }) {
            return Ok(None);
        }
        source(spec.data_type, &stored, &Related::default()).map(Some)
    }

    fn push_options(&self, data_type: &str) -> Option<Value> {
        if self.platform != SandboxPlatform::Accounting {
            return None;
        }
        DataType::parse(data_type)
            .and_then(accounting_push::spec)
            .map(push_option)
    }
}

/// What a push of `kind` to `data_type` on `platform` accepts; `None` when the platform does not take it.
/// Payments can only be created, journal entries created and deleted; the other accounting records can be
/// created, updated and deleted.
fn push_spec(
    platform: SandboxPlatform,
    data_type: &str,
    kind: &PushKind,
) -> Option<&'static PushSpec> {
    if platform != SandboxPlatform::Accounting {
        return None;
    }
    let data_type = DataType::parse(data_type)?;
    let supported = match data_type {
        DataType::Payments => matches!(kind, PushKind::Create),
        DataType::JournalEntries => matches!(kind, PushKind::Create | PushKind::Delete { .. }),
        _ => true,
    };
    accounting_push::spec(data_type).filter(|_| supported)
}

/// The standard model of a listed record of `data_type`.
fn to_standard(
    data_type: DataType,
    record: &Value,
    related: &Related,
) -> Option<Result<Value, Unmappable>> {
    let mapped = match data_type {
        DataType::BankingAccounts => {
            let id = record["id"].as_str().unwrap_or_default();
            banking::account(record, related.0.get(id))
        }
        DataType::BankingAccountBalances => {
            let account = record["account_id"].as_str().unwrap_or_default();
            let kind = related
                .0
                .get(account)
                .and_then(|account| account["type"].as_str());
            banking::account_balance(record, kind)
        }
        DataType::BankingTransactions => banking::transaction(record),
        DataType::BankingTransactionCategories => banking::transaction_category(record),
        DataType::CommerceCustomers => commerce::customer(record),
        DataType::CommerceLocations => commerce::location(record),
        DataType::CommerceOrders => commerce::order(record),
        DataType::CommercePayments => commerce::payment(record),
        DataType::CommerceProducts => commerce::product(record),
        DataType::CommerceTransactions => commerce::transaction(record),
        other => return accounting::to_standard(other, record),
    };
    Some(Ok(mapped))
}

fn source(
    data_type: DataType,
    record: &Value,
    related: &Related,
) -> Result<SourceRecord, ConnectorError> {
    if record["deleted"] == true {
        return tombstone(record).map_err(unmappable);
    }
    let body = to_standard(data_type, record, related)
        .ok_or_else(|| ConnectorError::NotSupported(data_type.to_string()))?
        .map_err(unmappable)?;
    source_record(record, body).map_err(unmappable)
}

fn kind_name(kind: &PushKind) -> &'static str {
    match kind {
        PushKind::Create => "create",
        PushKind::Update { .. } => "update",
        PushKind::Delete { .. } => "delete",
    }
}

/// Whether RFC 3339 `changed` is strictly after `since`.
fn is_after(changed: &str, since: &str) -> bool {
    match (
        chrono::DateTime::parse_from_rfc3339(changed),
        chrono::DateTime::parse_from_rfc3339(since),
    ) {
        (Ok(changed), Ok(since)) => changed > since,
        _ => true,
    }
}

/// An id as one URL path segment: everything but unreserved characters percent-encoded.
fn path_segment(id: &str) -> String {
    let mut encoded = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn no_data(path: &str) -> ConnectorError {
    ConnectorError::Failed(format!("the platform's {path} page has no data"))
}

fn unmappable(Unmappable(reason): Unmappable) -> ConnectorError {
    ConnectorError::Failed(format!(
        "the platform answered a record linkwell cannot map: {reason}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_have_keys_and_data_types() {
        for platform in SandboxPlatform::ALL {
            assert_eq!(SandboxPlatform::parse(platform.key()), Some(platform));
            for key in platform.readable() {
                assert!(DataType::parse(key).is_some(), "{key}");
            }
        }
        let all: usize = SandboxPlatform::ALL
            .iter()
            .map(|p| p.readable().len())
            .sum();
        assert_eq!(all, DataType::ALL.len());
        assert_eq!(SandboxPlatform::parse("xero"), None);
    }

    #[test]
    fn ids_are_one_path_segment() {
        assert_eq!(path_segment("cus_0000000001"), "cus_0000000001");
        assert_eq!(path_segment("a/b c?"), "a%2Fb%20c%3F");
    }

    #[test]
    fn pushes_follow_what_the_platform_accepts() {
        let update = PushKind::Update { id: "x".into() };
        let delete = PushKind::Delete { id: "x".into() };
        let accounting = SandboxPlatform::Accounting;
        for data_type in [
            "customers",
            "suppliers",
            "items",
            "chartOfAccounts",
            "invoices",
            "bills",
        ] {
            for kind in [&PushKind::Create, &update, &delete] {
                assert!(
                    push_spec(accounting, data_type, kind).is_some(),
                    "{data_type} {kind:?}"
                );
            }
        }
        assert!(push_spec(accounting, "payments", &PushKind::Create).is_some());
        assert!(push_spec(accounting, "payments", &update).is_none());
        assert!(push_spec(accounting, "journalEntries", &delete).is_some());
        assert!(push_spec(accounting, "journalEntries", &update).is_none());
        assert!(push_spec(accounting, "creditNotes", &PushKind::Create).is_none());
        assert!(push_spec(accounting, "company", &PushKind::Create).is_none());
        assert!(push_spec(SandboxPlatform::Commerce, "customers", &PushKind::Create).is_none());
        assert!(push_spec(
            SandboxPlatform::Banking,
            "banking-accounts",
            &PushKind::Create
        )
        .is_none());
    }
}
