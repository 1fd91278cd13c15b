//! Companies: create, read, list (paged, filtered, ordered), update and delete, always within one client.

use std::collections::HashMap;

use linkwell_domain::company::{CompanyDescription, CompanyName, Tags};
use linkwell_domain::connection::{ConnectionStatus, SourceType};
use linkwell_domain::ids::{ClientId, CompanyId};
use linkwell_domain::paging::{Page, PageRequest};
use linkwell_domain::query::{Expr, OrderBy};
use linkwell_domain::time::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::database::Store;
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
        let mut tx = self.pool.begin().await?;
        let counted =
            sqlx::query("UPDATE clients SET company_count = company_count + 1 WHERE id = $1")
                .bind(client.to_string())
                .execute(&mut *tx)
                .await?;
        if counted.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
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
        sqlx::query(
            "INSERT INTO company_buckets (client_id, bucket, company_count) VALUES ($1, $2, 1) \
             ON CONFLICT (client_id, bucket) DO UPDATE SET company_count = company_buckets.company_count + 1",
        )
        .bind(client.to_string())
        .bind(seq / BUCKET_SIZE)
        .execute(&mut *tx)
        .await?;
        write_tags(&mut tx, record.id, &company.tags).await?;
        self.emit(&mut tx, client, DomainEvent::CompanyCreated(&record))
            .await?;
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
