//! Companies: create, read, list (paged, filtered, ordered), update and delete, always within one client.

use std::collections::HashMap;
use std::sync::Arc;

use linkwell_domain::company::{CompanyDescription, CompanyName, Tags};
use linkwell_domain::connection::{ConnectionStatus, SourceType};
use linkwell_domain::ids::{ClientId, CompanyId};
use linkwell_domain::paging::{Page, PageRequest};
use linkwell_domain::query::{Expr, OrderBy};
use linkwell_domain::time::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::cache::ListingCacheStats;
use crate::database::{Backend, Store};
use crate::error::StoreError;
use crate::events::{company_in_tx, DomainEvent};
use crate::filter::{
    compile_filter, compile_order, Field, FieldKind, FieldMap, FieldSource, SqlParam,
};
use crate::records::{
    connection_from_row, json, optional_text, optional_timestamp, parsed, text, timestamp,
    CompanyRecord, ConnectionRecord, CONNECTION_COLUMNS,
};

pub struct NewCompany {
    pub name: CompanyName,
    pub description: Option<CompanyDescription>,
    pub tags: Tags,
}

/// Changes to a company. `None` leaves a field as it is; a replace (PUT) sets every field.
#[derive(Default)]
pub struct CompanyChanges {
    pub name: Option<CompanyName>,
    pub description: Option<Option<CompanyDescription>>,
    pub tags: Option<Tags>,
}

/// The parsed `query` and `tags` parameters and `orderBy` of a company listing.
#[derive(Default)]
pub struct CompanyFilter {
    pub query: Option<Expr>,
    pub tags: Option<Expr>,
    pub order: Option<OrderBy>,
}

/// A page of the company listing, rendered by the database: `results` is the JSON array of the page's companies
/// exactly as the API's `Company` schema serialises them (same fields, order, nulls and escaping), ready to be
/// spliced into the paging envelope without being parsed again.
#[derive(Debug, Clone, PartialEq)]
pub struct CompanyPageJson {
    pub results: String,
    pub request: PageRequest,
    pub total: u64,
}

const fn related(column: &'static str) -> FieldSource {
    FieldSource::Related {
        from: "connections x",
        join: "x.company_id = c.id",
        column,
    }
}

/// The properties the query language can address on a company.
pub static COMPANY_FIELDS: FieldMap = FieldMap {
    resource: "companies",
    fields: &[
        Field {
            path: "id",
            kind: FieldKind::Text,
            source: FieldSource::Column("c.id"),
        },
        Field {
            path: "name",
            kind: FieldKind::Text,
            source: FieldSource::Column("c.name"),
        },
        Field {
            path: "description",
            kind: FieldKind::Text,
            source: FieldSource::Column("c.description"),
        },
        Field {
            path: "created",
            kind: FieldKind::Timestamp,
            source: FieldSource::Column("c.created"),
        },
        Field {
            path: "lastSync",
            kind: FieldKind::Timestamp,
            source: FieldSource::Column("c.last_sync"),
        },
        Field {
            path: "tags",
            kind: FieldKind::Text,
            source: FieldSource::KeyValue {
                from: "company_tags t",
                join: "t.company_id = c.id",
                key_column: "t.key",
                value_column: "t.value",
            },
        },
        Field {
            path: "dataConnections.id",
            kind: FieldKind::Text,
            source: related("x.id"),
        },
        Field {
            path: "dataConnections.status",
            kind: FieldKind::Enum(ConnectionStatus::NAMES),
            source: related("x.status"),
        },
        Field {
            path: "dataConnections.sourceType",
            kind: FieldKind::Enum(SourceType::NAMES),
            source: related("x.source_type"),
        },
        Field {
            path: "dataConnections.platformName",
            kind: FieldKind::Text,
            source: related("x.platform_name"),
        },
        Field {
            path: "dataConnections.integrationKey",
            kind: FieldKind::Text,
            source: related("x.platform_key"),
        },
        Field {
            path: "dataConnections.integrationId",
            kind: FieldKind::Text,
            source: related("x.integration_id"),
        },
        Field {
            path: "dataConnections.sourceId",
            kind: FieldKind::Text,
            source: related("x.source_id"),
        },
        Field {
            path: "dataConnections.created",
            kind: FieldKind::Timestamp,
            source: related("x.created"),
        },
        Field {
            path: "dataConnections.lastSync",
            kind: FieldKind::Timestamp,
            source: related("x.last_sync"),
        },
    ],
};

/// The `tags` parameter: every property is a tag name.
static TAG_FIELDS: FieldMap = FieldMap {
    resource: "company tags",
    fields: &[Field {
        path: "",
        kind: FieldKind::Text,
        source: FieldSource::KeyValue {
            from: "company_tags t",
            join: "t.company_id = c.id",
            key_column: "t.key",
            value_column: "t.value",
        },
    }],
};

pub(crate) fn bind_params<'q>(
    mut query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    params: Vec<SqlParam>,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for param in params {
        query = match param {
            SqlParam::Text(value) => query.bind(value),
            SqlParam::Integer(value) => query.bind(value),
            SqlParam::Real(value) => query.bind(value),
        };
    }
    query
}

/// The ORDER BY list for `order`, ending with the insertion sequence so equal keys keep a stable order that
/// follows the direction of the first key.
pub(crate) fn order_with_tiebreak(
    order: &OrderBy,
    map: &FieldMap,
    sequence: &str,
) -> Result<String, StoreError> {
    let compiled = compile_order(order, map).map_err(StoreError::Query)?;
    let direction = if order.0.first().is_some_and(|key| key.descending) {
        "DESC"
    } else {
        "ASC"
    };
    Ok(format!("{compiled}, {sequence} {direction}"))
}

pub(crate) fn company_from_row(row: &AnyRow) -> Result<CompanyRecord, StoreError> {
    Ok(CompanyRecord {
        id: parsed(row, "id")?,
        name: text(row, "name")?,
        description: optional_text(row, "description")?,
        tags: json(row, "tags")?,
        created: timestamp(row, "created")?,
        last_sync: optional_timestamp(row, "last_sync")?,
        connections: Vec::new(),
    })
}

/// Sequence numbers per block in `company_buckets`.
const BUCKET_SIZE: i64 = 1024;

pub(crate) const COMPANY_COLUMNS: &str =
    "c.id, c.name, c.description, c.tags, c.created, c.last_sync";

async fn write_tags(
    tx: &mut Transaction<'_, Any>,
    company: CompanyId,
    tags: &Tags,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM company_tags WHERE company_id = $1")
        .bind(company.to_string())
        .execute(&mut **tx)
        .await?;
    for (key, value) in tags.as_map() {
        sqlx::query("INSERT INTO company_tags (company_id, key, value) VALUES ($1, $2, $3)")
            .bind(company.to_string())
            .bind(key.clone())
            .bind(value.clone())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

fn tags_json(tags: &Tags) -> String {
    serde_json::to_string(tags.as_map()).unwrap_or_else(|_| "{}".to_owned())
}

/// The WHERE conditions (after the client's), their parameters (`$1` is the client) and the ORDER BY list of
/// a company listing.
struct Listing {
    conditions: String,
    params: Vec<SqlParam>,
    order: String,
}

impl Listing {
    fn of(client: ClientId, filter: &CompanyFilter) -> Result<Self, StoreError> {
        let mut conditions = String::new();
        let mut params = vec![SqlParam::Text(client.to_string())];
        let parts = [
            (&filter.query, &COMPANY_FIELDS),
            (&filter.tags, &TAG_FIELDS),
        ];
        for (expr, map) in parts {
            let Some(expr) = expr else { continue };
            let fragment =
                compile_filter(expr, map, params.len() + 1).map_err(StoreError::Query)?;
            conditions.push_str(" AND ");
            conditions.push_str(&fragment.sql);
            params.extend(fragment.params);
        }
        let order = match &filter.order {
            Some(order) => order_with_tiebreak(order, &COMPANY_FIELDS, "c.seq")?,
            None => "c.seq".to_owned(),
        };
        Ok(Self {
            conditions,
            params,
            order,
        })
    }
}

/// A text expression as a JSON value: a quoted, escaped string, or `null`. SQLite's `json_quote` and
/// PostgreSQL's `to_json` escape exactly as serde_json does: `"`, `\`, `\b \f \n \r \t` and the other control
/// characters as `\u00xx` (lower-case hex); everything else is written as it is.
fn json_value(backend: Backend, expression: &str) -> String {
    match backend {
        Backend::Sqlite => format!("json_quote({expression})"),
        Backend::Postgres => format!("COALESCE(to_json({expression})::text, 'null')"),
    }
}

/// `values` joined with commas in `order` (an aggregate; NULL when there are no rows).
fn joined(backend: Backend, values: &str, order: &str) -> String {
    match backend {
        Backend::Sqlite => format!("group_concat({values}, ',' ORDER BY {order})"),
        Backend::Postgres => format!("string_agg({values}, ',' ORDER BY {order})"),
    }
}

/// How [`listing_json_sql`] puts the page's companies in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The aggregate orders the rendered companies itself (`ORDER BY` inside the aggregate): always right, but
    /// on SQLite it sorts the rendered text, 100 records of nearly 1 KB, and that costs about 40% of the query.
    Ordered,
    /// SQLite: the rendered companies are joined in the order the page subquery yields them, which is the
    /// listing's order, though SQLite does not promise it. To make that a checked fact, the same aggregation
    /// also joins the companies' `seq` in arrival order (`seen`) and, sorted by the listing's order,
    /// (`expected`): sorting those small keys is cheap. When they differ the page is rendered again, ordered.
    Checked,
}

/// The statement behind [`Store::list_companies_json`]. Parameters: `$1` the client, `$2..=$filter_params` the
/// filter's, then the public URL, the page size and the offset.
///
/// The innermost query picks the page's companies exactly as [`Store::list_companies`] does (for a deep page of
/// the default listing, seeking through `company_buckets` first); only those rows are rendered, each with its
/// connections from a correlated subquery on `connections_company_seq`, and the aggregate joins them in the
/// listing's order, which ends with the unique `seq`.
fn listing_json_sql(
    backend: Backend,
    conditions: &str,
    order: &str,
    filter_params: usize,
    seek: bool,
    shape: Shape,
) -> String {
    let url = format!("${}", filter_params + 1);
    let limit = format!("${}", filter_params + 2);
    let offset = format!("${}", filter_params + 3);
    let q = |expression: &str| json_value(backend, expression);
    // One format() call per object: concatenating with || would allocate and copy a growing string per piece.
    let connection = format!(
        "format('{{\"id\":%s,\"integrationId\":%s,\"integrationKey\":%s,\"sourceId\":%s,\"sourceType\":%s,\
         \"platformName\":%s,\"linkUrl\":%s,\"status\":%s,\"lastSync\":%s,\"created\":%s,\
         \"dataConnectionErrors\":%s,\"connectionInfo\":null}}', {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, x.errors)",
        q("x.id"),
        q("x.integration_id"),
        q("x.platform_key"),
        q("x.source_id"),
        q("x.source_type"),
        q("x.platform_name"),
        q(&format!(
            "format('%s/link/companies/%s/connections/%s/start', {url}, x.company_id, x.id)"
        )),
        q("x.status"),
        q("x.last_sync"),
        q("x.created"),
    );
    let connections = format!(
        "(SELECT {} FROM connections x WHERE x.company_id = c.id AND x.client_id = $1)",
        joined(backend, &connection, "x.seq")
    );
    let company = format!(
        "format('{{\"id\":%s,\"name\":%s,\"description\":%s,\"redirect\":%s,\"lastSync\":%s,\"created\":%s,\
         \"createdByUserName\":null,\"products\":[],\"tags\":%s,\"referenceParentCompany\":null,\
         \"referenceSubsidiaryCompanies\":[],\"dataConnections\":[%s]}}', {}, {}, {}, {}, {}, {}, c.tags, \
         COALESCE({connections}, ''))",
        q("c.id"),
        q("c.name"),
        q("c.description"),
        q(&format!("format('%s/link/companies/%s', {url}, c.id)")),
        q("c.last_sync"),
        q("c.created"),
    );
    let (with, seek_condition, skip) = if seek {
        (
            format!(
                "WITH block AS ( \
                     SELECT bucket, running - company_count AS before FROM ( \
                         SELECT bucket, company_count, \
                             CAST(SUM(company_count) OVER (ORDER BY bucket) AS BIGINT) AS running \
                         FROM company_buckets WHERE client_id = $1 \
                     ) blocks WHERE running > {offset} ORDER BY bucket LIMIT 1 \
                 ) "
            ),
            format!(" AND c.seq >= (SELECT bucket * {BUCKET_SIZE} FROM block)"),
            format!("{offset} - COALESCE((SELECT before FROM block), 0)"),
        )
    } else {
        (String::new(), String::new(), offset.clone())
    };
    let total = if conditions.is_empty() {
        "(SELECT company_count FROM clients WHERE id = $1)".to_owned()
    } else {
        format!("(SELECT COUNT(*) FROM companies c WHERE c.client_id = $1{conditions})")
    };
    let page = format!(
        "SELECT c.seq, c.id, c.name, c.description, c.tags, c.created, c.last_sync \
         FROM companies c WHERE c.client_id = $1{conditions}{seek_condition} \
         ORDER BY {order} LIMIT {limit} OFFSET {skip}"
    );
    let rendered = format!(
        "SELECT c.seq, c.id, c.name, c.description, c.created, c.last_sync, {company} AS body \
         FROM ({page}) c"
    );
    match (backend, shape) {
        (Backend::Sqlite, Shape::Checked) => format!(
            "{with}SELECT {total} AS total, '[' || COALESCE(group_concat(c.body, ','), '') || ']' AS results, \
             group_concat(c.seq, ',') AS seen, {} AS expected FROM ({rendered}) c",
            joined(backend, "c.seq", order)
        ),
        _ => format!(
            "{with}SELECT {total} AS total, '[' || COALESCE({}, '') || ']' AS results FROM ({rendered}) c",
            joined(backend, "c.body", order)
        ),
    }
}

impl Store {
    pub async fn create_company(
        &self,
        client: ClientId,
        company: NewCompany,
    ) -> Result<CompanyRecord, StoreError> {
        let record = CompanyRecord {
            id: CompanyId::new(),
            name: company.name.as_str().to_owned(),
            description: company.description.map(|d| d.as_str().to_owned()),
            tags: company.tags.as_map().clone(),
            created: Timestamp::now(),
            last_sync: None,
            connections: Vec::new(),
        };
        // The client's counters are rows every creation writes: they come last, so each creation holds
        // them only for its commit (and in the order deletion takes them).
        let _turn = self.write_turn().await;
        let mut tx = self.pool.begin().await?;
        let seq: i64 = sqlx::query(
            "INSERT INTO companies (id, client_id, name, description, tags, created) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
        )
        .bind(record.id.to_string())
        .bind(client.to_string())
        .bind(record.name.clone())
        .bind(record.description.clone())
        .bind(tags_json(&company.tags))
        .bind(record.created.to_storage())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        write_tags(&mut tx, record.id, &company.tags).await?;
        self.emit(&mut tx, client, DomainEvent::CompanyCreated(&record))
            .await?;
        sqlx::query(
            "INSERT INTO company_buckets (client_id, bucket, company_count) VALUES ($1, $2, 1) \
             ON CONFLICT (client_id, bucket) DO UPDATE SET company_count = company_buckets.company_count + 1",
        )
        .bind(client.to_string())
        .bind(seq / BUCKET_SIZE)
        .execute(&mut *tx)
        .await?;
        let counted =
            sqlx::query("UPDATE clients SET company_count = company_count + 1 WHERE id = $1")
                .bind(client.to_string())
                .execute(&mut *tx)
                .await?;
        if counted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        self.commit(tx).await?;
        Ok(record)
    }

    pub async fn get_company(
        &self,
        client: ClientId,
        company: CompanyId,
    ) -> Result<CompanyRecord, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COMPANY_COLUMNS} FROM companies c WHERE c.id = $1 AND c.client_id = $2"
        ))
        .bind(company.to_string())
        .bind(client.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound)?;
        let mut record = company_from_row(&row)?;
        record.connections = self
            .connections_of(client, &[record.id])
            .await?
            .remove(&record.id)
            .unwrap_or_default();
        Ok(record)
    }

    /// Whether the client has this company (cheaper than loading it).
    pub async fn company_exists(
        &self,
        client: ClientId,
        company: CompanyId,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 AS found FROM companies WHERE id = $1 AND client_id = $2")
            .bind(company.to_string())
            .bind(client.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    pub async fn list_companies(
        &self,
        client: ClientId,
        page: PageRequest,
        filter: &CompanyFilter,
    ) -> Result<Page<CompanyRecord>, StoreError> {
        let Listing {
            mut conditions,
            mut params,
            order,
        } = Listing::of(client, filter)?;
        let total: i64 = if conditions.is_empty() {
            // Kept in step with inserts and deletes, so the unfiltered count costs one row read.
            let row = sqlx::query("SELECT company_count FROM clients WHERE id = $1")
                .bind(client.to_string())
                .fetch_one(&self.pool)
                .await?;
            row.try_get(0)?
        } else {
            let sql =
                format!("SELECT COUNT(*) FROM companies c WHERE c.client_id = $1{conditions}");
            let row = bind_params(sqlx::query(&sql), params.clone())
                .fetch_one(&self.pool)
                .await?;
            row.try_get(0)?
        };
        let mut offset = page.offset();
        if conditions.is_empty() && filter.order.is_none() && offset > 0 {
            // The default listing seeks to the block holding the page's first company and skips only within
            // that block, so page 1,000 costs what page 1 does.
            match self.seek_company_block(client, offset).await? {
                Some((first_seq, skipped)) => {
                    conditions = format!(" AND c.seq >= ${}", params.len() + 1);
                    params.push(SqlParam::Integer(first_seq));
                    offset -= skipped;
                }
                None => {
                    return Ok(Page {
                        items: Vec::new(),
                        request: page,
                        total: total.max(0) as u64,
                    });
                }
            }
        }
        let sql = format!(
            "SELECT {COMPANY_COLUMNS} FROM companies c WHERE c.client_id = $1{conditions} \
             ORDER BY {order} LIMIT {} OFFSET {offset}",
            page.page_size(),
        );
        let rows = bind_params(sqlx::query(&sql), params)
            .fetch_all(&self.pool)
            .await?;
        let mut items = rows
            .iter()
            .map(company_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<CompanyId> = items.iter().map(|c| c.id).collect();
        let mut connections = self.connections_of(client, &ids).await?;
        for item in &mut items {
            item.connections = connections.remove(&item.id).unwrap_or_default();
        }
        Ok(Page {
            items,
            request: page,
            total: total.max(0) as u64,
        })
    }

    /// The same page as [`Store::list_companies`], rendered as the API's JSON by the database in one statement
    /// that returns one row: the total and the page's `results` array as one text value. `public_url` is the
    /// base of the `redirect` and `linkUrl` addresses (no trailing slash).
    ///
    /// This is the listing's fast path: a page of 100 companies with their connections is a few hundred column
    /// values, and fetching them as rows costs far more (each row crosses from the database driver's thread to
    /// the caller) than having the database write the JSON. Values are written as stored; the stored forms
    /// (hyphenated ids, fixed-width timestamps, enum names, the tag map and connection errors as compact JSON
    /// written by this crate) are already what the API sends.
    pub async fn list_companies_json(
        &self,
        client: ClientId,
        page: PageRequest,
        filter: &CompanyFilter,
        public_url: &str,
    ) -> Result<CompanyPageJson, StoreError> {
        let shapes: &[Shape] = match self.backend() {
            Backend::Sqlite => &[Shape::Checked, Shape::Ordered],
            Backend::Postgres => &[Shape::Ordered],
        };
        self.render_company_page(client, page, filter, public_url, shapes)
            .await
    }

    /// Renders the page with the first of `shapes` whose check holds.
    async fn render_company_page(
        &self,
        client: ClientId,
        page: PageRequest,
        filter: &CompanyFilter,
        public_url: &str,
        shapes: &[Shape],
    ) -> Result<CompanyPageJson, StoreError> {
        let Listing {
            conditions,
            mut params,
            order,
        } = Listing::of(client, filter)?;
        let seek = conditions.is_empty() && filter.order.is_none() && page.offset() > 0;
        let filter_params = params.len();
        params.push(SqlParam::Text(public_url.to_owned()));
        params.push(SqlParam::Integer(i64::from(page.page_size())));
        params.push(SqlParam::Integer(
            i64::try_from(page.offset()).unwrap_or(i64::MAX),
        ));
        for &shape in shapes {
            let sql = listing_json_sql(
                self.backend(),
                &conditions,
                &order,
                filter_params,
                seek,
                shape,
            );
            let row = bind_params(sqlx::query(&sql), params.clone())
                .fetch_one(&self.pool)
                .await?;
            if shape == Shape::Checked {
                let seen: Option<String> = row.try_get(2)?;
                let expected: Option<String> = row.try_get(3)?;
                if seen != expected {
                    tracing::debug!(
                        "company page rendered out of order; rendering it again, ordered"
                    );
                    continue;
                }
            }
            let total: Option<i64> = row.try_get(0)?;
            let results: String = row.try_get(1)?;
            return Ok(CompanyPageJson {
                results,
                request: page,
                total: total.unwrap_or(0).max(0) as u64,
            });
        }
        Err(StoreError::Corrupt(
            "the company page could not be rendered in order".into(),
        ))
    }

    /// The generation a listing rendered now should be stored under, or None when this store keeps no
    /// listings (no read cache: PostgreSQL, or SQLite shared with other writers). Take it before reading.
    pub fn listing_cache_generation(&self) -> Option<u64> {
        self.cache.as_ref().map(|cache| cache.generation())
    }

    /// A listing response stored by [`Store::remember_listing`] for this client and key, if no change to
    /// companies or connections was committed since it was read. A closed store answers nothing from memory
    /// either.
    pub fn cached_listing(&self, client: ClientId, key: &str) -> Option<Arc<[u8]>> {
        let cache = self.cache.as_ref()?;
        if self.pool.is_closed() {
            return None;
        }
        cache.listing(client, key)
    }

    /// Stores a listing response rendered from a read that started at `generation` (from
    /// [`Store::listing_cache_generation`]). `key` must identify everything the body depends on besides the
    /// client and the data. Memory is bounded: 1,024 listings and 64 MiB at most, least recently used first out.
    pub fn remember_listing(
        &self,
        generation: u64,
        client: ClientId,
        key: String,
        body: Arc<[u8]>,
    ) {
        if let Some(cache) = &self.cache {
            cache.remember_listing(generation, client, key, body);
        }
    }

    /// Counters of the listing cache; None when this store keeps no listings.
    pub fn listing_cache_stats(&self) -> Option<ListingCacheStats> {
        self.cache.as_ref().map(|cache| cache.listing_stats())
    }

    /// For the default listing: the first sequence number of the block where the company at `offset` (0-based,
    /// in sequence order) lies, and how many of the client's companies come before that block. None when the
    /// client has no more than `offset` companies.
    async fn seek_company_block(
        &self,
        client: ClientId,
        offset: u64,
    ) -> Result<Option<(i64, u64)>, StoreError> {
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let row = sqlx::query(
            "SELECT bucket, running - company_count AS before FROM ( \
                 SELECT bucket, company_count, CAST(SUM(company_count) OVER (ORDER BY bucket) AS BIGINT) AS running \
                 FROM company_buckets WHERE client_id = $1 \
             ) blocks WHERE running > $2 ORDER BY bucket LIMIT 1",
        )
        .bind(client.to_string())
        .bind(offset)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let bucket: i64 = row.try_get(0)?;
        let before: i64 = row.try_get(1)?;
        Ok(Some((
            bucket * BUCKET_SIZE,
            u64::try_from(before).unwrap_or(0),
        )))
    }

    /// The connections of several companies, in one query.
    async fn connections_of(
        &self,
        client: ClientId,
        companies: &[CompanyId],
    ) -> Result<HashMap<CompanyId, Vec<ConnectionRecord>>, StoreError> {
        let mut by_company: HashMap<CompanyId, Vec<ConnectionRecord>> = HashMap::new();
        if companies.is_empty() {
            return Ok(by_company);
        }
        let placeholders: Vec<String> = (0..companies.len())
            .map(|i| format!("${}", i + 2))
            .collect();
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS} FROM connections x WHERE x.client_id = $1 \
             AND x.company_id IN ({}) ORDER BY x.seq",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(client.to_string());
        for company in companies {
            query = query.bind(company.to_string());
        }
        for row in query.fetch_all(&self.pool).await? {
            let connection = connection_from_row(&row)?;
            by_company
                .entry(connection.company_id)
                .or_default()
                .push(connection);
        }
        Ok(by_company)
    }

    pub async fn update_company(
        &self,
        client: ClientId,
        company: CompanyId,
        changes: CompanyChanges,
    ) -> Result<CompanyRecord, StoreError> {
        let mut sets = Vec::new();
        let mut params: Vec<Option<String>> = Vec::new();
        if let Some(name) = &changes.name {
            params.push(Some(name.as_str().to_owned()));
            sets.push(format!("name = ${}", params.len() + 2));
        }
        if let Some(description) = &changes.description {
            params.push(description.as_ref().map(|d| d.as_str().to_owned()));
            sets.push(format!("description = ${}", params.len() + 2));
        }
        if let Some(tags) = &changes.tags {
            params.push(Some(tags_json(tags)));
            sets.push(format!("tags = ${}", params.len() + 2));
        }
        // Touch the row even when nothing changes: it proves the company exists and, on SQLite, takes the
        // write lock first so the transaction never has to upgrade a read lock.
        let assignments = if sets.is_empty() {
            "id = id".to_owned()
        } else {
            sets.join(", ")
        };
        let sql = format!("UPDATE companies SET {assignments} WHERE id = $1 AND client_id = $2");
        let mut tx = self.pool.begin().await?;
        let mut query = sqlx::query(&sql)
            .bind(company.to_string())
            .bind(client.to_string());
        for param in params {
            query = query.bind(param);
        }
        if query.execute(&mut *tx).await?.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        if let Some(tags) = &changes.tags {
            write_tags(&mut tx, company, tags).await?;
        }
        self.commit(tx).await?;
        self.get_company(client, company).await
    }

    /// Deletes the company with its connections, their history and its tags.
    pub async fn delete_company(
        &self,
        client: ClientId,
        company: CompanyId,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        // As it was, for the event that reports its deletion.
        let before = company_in_tx(&mut tx, client, company).await?;
        self.delete_records_in_batches(&mut tx, company, None)
            .await?;
        let deleted =
            sqlx::query("DELETE FROM companies WHERE id = $1 AND client_id = $2 RETURNING seq")
                .bind(company.to_string())
                .bind(client.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(deleted) = deleted else {
            return Err(StoreError::NotFound);
        };
        let seq: i64 = deleted.try_get(0)?;
        sqlx::query(
            "UPDATE company_buckets SET company_count = company_count - 1 WHERE client_id = $1 AND bucket = $2",
        )
        .bind(client.to_string())
        .bind(seq / BUCKET_SIZE)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE clients SET company_count = company_count - 1 WHERE id = $1")
            .bind(client.to_string())
            .execute(&mut *tx)
            .await?;
        self.emit(&mut tx, client, DomainEvent::CompanyDeleted(&before))
            .await?;
        self.commit(tx).await?;
        Ok(())
    }
}

#[cfg(test)]
mod listing_tests {
    use linkwell_domain::connection::{ConnectionEvent, SourceType};
    use linkwell_domain::query::{parse_order_by, parse_query};

    use super::*;
    use crate::NewConnection;

    /// Both ways of putting a rendered page in order give the same bytes, for the default listing (deep pages
    /// included), filters and every sortable property in both directions.
    #[tokio::test]
    async fn checked_and_ordered_renderings_agree() {
        sqlx::any::install_default_drivers();
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let client = store.ensure_client("shapes").await.unwrap();
        for i in 0..40 {
            let company = store
                .create_company(
                    client,
                    NewCompany {
                        // Repeated names and descriptions, so the tie-break on seq matters.
                        name: CompanyName::parse(&format!("Company {}", i % 7)).unwrap(),
                        description: (i % 3 == 0).then(|| {
                            CompanyDescription::parse(&format!("about \"{}\"\n", i % 4)).unwrap()
                        }),
                        tags: Tags::parse([("n".to_owned(), (i % 5).to_string())].into()).unwrap(),
                    },
                )
                .await
                .unwrap();
            for k in 0..(i % 3) {
                let connection = store
                    .create_connection(
                        client,
                        company.id,
                        NewConnection {
                            platform_key: format!("p{k}"),
                            integration_id: "i".into(),
                            source_id: "s".into(),
                            source_type: SourceType::Banking,
                            platform_name: "Bank \u{1}".into(),
                        },
                    )
                    .await
                    .unwrap();
                if k == 1 {
                    store
                        .apply_connection_event(
                            client,
                            company.id,
                            connection.id,
                            &ConnectionEvent::AuthorizationFailed {
                                reason: "denied".into(),
                            },
                        )
                        .await
                        .unwrap();
                }
            }
        }
        let mut filters = vec![
            (None, None),
            (Some("name~Company 1"), None),
            (Some("dataConnections.integrationKey=p1"), None),
        ];
        for property in ["id", "name", "description", "created", "lastSync"] {
            filters.push((None, Some(property.to_owned())));
            filters.push((None, Some(format!("-{property}"))));
        }
        for (query, order) in &filters {
            let filter = CompanyFilter {
                query: query.map(|q| parse_query(q).unwrap()),
                tags: None,
                order: order.as_deref().map(|o| parse_order_by(o).unwrap()),
            };
            for (number, size) in [(1, 100), (1, 7), (2, 7), (6, 7), (7, 7), (3, 15)] {
                let page = PageRequest::new(Some(number), Some(size)).unwrap();
                let render =
                    |shapes| store.render_company_page(client, page, &filter, "http://x", shapes);
                let checked = render(&[Shape::Checked]).await.unwrap();
                let ordered = render(&[Shape::Ordered]).await.unwrap();
                assert_eq!(
                    checked, ordered,
                    "{query:?} {order:?} page {number} of {size}"
                );
                let records = store.list_companies(client, page, &filter).await.unwrap();
                let ids: Vec<String> = records.items.iter().map(|c| c.id.to_string()).collect();
                let listed: Vec<serde_json::Value> =
                    serde_json::from_str(&checked.results).unwrap();
                let listed: Vec<&str> = listed.iter().map(|c| c["id"].as_str().unwrap()).collect();
                assert_eq!(listed, ids, "{query:?} {order:?} page {number} of {size}");
                assert_eq!(checked.total, records.total);
            }
        }
    }
}
