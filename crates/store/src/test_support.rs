//! Stores for the crate's own tests: an in-memory SQLite database, or a schema of its own on the PostgreSQL
//! server named by `LINKWELL_TEST_POSTGRES_URL` (default the local `test` database), so tests run in
//! parallel. PostgreSQL is required: a test that cannot reach it fails rather than skipping.

use sqlx::Executor;

use crate::Store;

async fn migrated(url: &str) -> Store {
    sqlx::any::install_default_drivers();
    let store = Store::connect(url).await.expect("connect");
    store.migrate().await.expect("migrate");
    store
}

/// A migrated store on an in-memory SQLite database.
pub(crate) async fn sqlite() -> Store {
    migrated("sqlite::memory:").await
}

/// Runs `test` with a migrated store in a new PostgreSQL schema, and drops the schema afterwards.
pub(crate) async fn on_postgres(name: &str, test: impl AsyncFnOnce(Store)) {
    sqlx::any::install_default_drivers();
    let admin_url = std::env::var("LINKWELL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("lw_{name}_{}", uuid::Uuid::new_v4().simple());
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
        .await
        .expect("PostgreSQL is required for this test");
    admin
        .execute(format!("CREATE SCHEMA {schema}").as_str())
        .await
        .unwrap();
    let separator = if admin_url.contains('?') { '&' } else { '?' };
    let store = migrated(&format!(
        "{admin_url}{separator}options=-c%20search_path%3D{schema}"
    ))
    .await;
    test(store.clone()).await;
    store.close().await;
    admin
        .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
        .await
        .unwrap();
}

/// A company named `name` with no tags or description.
pub(crate) async fn company(
    store: &Store,
    client: linkwell_domain::ids::ClientId,
    name: &str,
) -> crate::CompanyRecord {
    store
        .create_company(
            client,
            crate::NewCompany {
                name: linkwell_domain::company::CompanyName::parse(name).unwrap(),
                description: None,
                tags: linkwell_domain::company::Tags::default(),
            },
        )
        .await
        .unwrap()
}

/// A `PendingAuth` connection of `company` to `platform_key`.
pub(crate) async fn connection(
    store: &Store,
    client: linkwell_domain::ids::ClientId,
    company: linkwell_domain::ids::CompanyId,
    platform_key: &str,
    source_type: linkwell_domain::connection::SourceType,
) -> crate::ConnectionRecord {
    store
        .create_connection(
            client,
            company,
            crate::NewConnection {
                platform_key: platform_key.into(),
                integration_id: "i".into(),
                source_id: "s".into(),
                source_type,
                platform_name: platform_key.into(),
            },
        )
        .await
        .unwrap()
}
