//! Writing pulled pages: ids stay dense in the order records were first seen, whichever way a page is written
//! (inserted outright into a data set that holds nothing of earlier pulls, or merged with what is stored), and
//! a platform that lists a record twice still yields it once.

use linkwell_domain::connection::SourceType;

use super::*;
use crate::test_support;

struct Fixture {
    store: Store,
    client: ClientId,
    company: CompanyId,
    connection: ConnectionId,
}

async fn fixture(store: Store) -> Fixture {
    let client = store.ensure_client("pages").await.unwrap();
    let company = test_support::company(&store, client, "Pages").await;
    let connection =
        test_support::connection(&store, client, company.id, "mqjo", SourceType::Accounting).await;
    Fixture {
        store,
        client,
        company: company.id,
        connection: connection.id,
    }
}

fn record(id: &str, version: u32) -> PulledRecord {
    PulledRecord {
        id: id.to_owned(),
        source_modified: Some(format!("2026-01-01T00:00:{version:02}Z")),
        deleted: false,
        body: Some(format!(r#"{{"id":"{id}","version":{version}}}"#)),
    }
}

fn tombstone(id: &str) -> PulledRecord {
    PulledRecord {
        id: id.to_owned(),
        source_modified: Some("2026-01-01T00:00:59Z".to_owned()),
        deleted: true,
        body: None,
    }
}

impl Fixture {
    async fn queue(&self) {
        let outcome = self
            .store
            .queue_pulls(
                self.client,
                self.company,
                &[(self.connection, "invoices".to_owned())],
                false,
            )
            .await
            .unwrap();
        assert!(matches!(outcome[0], QueueOutcome::Queued(_)), "{outcome:?}");
    }

    async fn claim(&self, owner: &str, at: Timestamp) -> ClaimedPull {
        self.store
            .claim_pull(owner, at, at.plus_millis(60_000))
            .await
            .unwrap()
            .expect("a pull to claim")
    }

    async fn write(&self, pull: &mut ClaimedPull, records: &[PulledRecord], last: bool) {
        let cursor = (!last).then(|| format!("after-{}", pull.pages + 1));
        self.store
            .write_pull_page(
                pull,
                records,
                cursor.as_deref(),
                Timestamp::now().plus_millis(60_000),
            )
            .await
            .unwrap()
            .expect("the lease is held");
        if last {
            self.store
                .complete_pull(pull)
                .await
                .unwrap()
                .expect("completed");
        }
    }

    /// Every record in listing order: (id, version, deleted), and the total the listing reports.
    async fn listing(&self) -> (Vec<(String, i64, bool)>, u64) {
        let page = self
            .store
            .list_records(
                self.client,
                self.company,
                None,
                "invoices",
                PageRequest::new(Some(1), Some(5000)).unwrap(),
                &RecordListing {
                    query: None,
                    order: None,
                },
            )
            .await
            .unwrap()
            .unwrap();
        let records = page
            .items
            .iter()
            .map(|json| {
                let value: serde_json::Value = serde_json::from_str(json).unwrap();
                (
                    value["id"].as_str().unwrap().to_owned(),
                    value["version"].as_i64().unwrap(),
                    value["metadata"]["isDeleted"].as_bool().unwrap(),
                )
            })
            .collect();
        (records, page.total)
    }

    async fn ordinals(&self) -> Vec<i64> {
        sqlx::query("SELECT ordinal FROM data_records WHERE connection_id = $1 ORDER BY ordinal")
            .bind(self.connection.to_string())
            .fetch_all(&self.store.pool)
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<i64, _>(0).unwrap())
            .collect()
    }

    async fn modified_count(&self, pull: &ClaimedPull) -> i64 {
        sqlx::query("SELECT records_modified FROM pull_operations WHERE seq = $1")
            .bind(pull.seq)
            .fetch_one(&self.store.pool)
            .await
            .unwrap()
            .try_get(0)
            .unwrap()
    }
}

fn ids(listing: &[(String, i64, bool)]) -> Vec<&str> {
    listing.iter().map(|(id, _, _)| id.as_str()).collect()
}

async fn pages_are_written_densely_whichever_way(store: Store) {
    // Claims happen a little after the pulls are queued.
    let at = Timestamp::now().plus_millis(1_000);
    let fixture = fixture(store.clone()).await;
    fixture.queue().await;
    let mut first = fixture.claim("worker-a", at).await;
    assert!(
        first.fresh && first.insert_only,
        "nothing was stored before"
    );
    fixture
        .write(&mut first, &[record("a", 1), record("b", 1)], false)
        .await;
    assert!(
        first.insert_only,
        "a page of new records is inserted outright"
    );

    // The worker stops; another takes the operation over when the lease has run out. Only this operation's
    // own page is stored, so it is still fresh.
    let mut resumed = fixture.claim("worker-b", at.plus_millis(120_000)).await;
    assert_eq!(resumed.seq, first.seq);
    assert!(resumed.fresh && resumed.insert_only);
    // The platform lists a new record next to one it reports as deleted, then lists "a" again, changed.
    fixture
        .write(&mut resumed, &[record("c", 1), tombstone("zz")], false)
        .await;
    assert!(
        resumed.insert_only,
        "a page with a deletion is merged without giving up inserting later pages"
    );
    fixture
        .write(&mut resumed, &[record("d", 1), record("a", 3)], false)
        .await;
    assert!(
        !resumed.insert_only,
        "a record seen again turns inserting off"
    );
    fixture
        .write(&mut resumed, &[record("e", 1), record("e", 2)], true)
        .await;

    let (listing, total) = fixture.listing().await;
    assert_eq!(ids(&listing), ["a", "b", "c", "d", "e"], "first-seen order");
    assert_eq!(total, 5);
    let versions: Vec<i64> = listing.iter().map(|(_, version, _)| *version).collect();
    assert_eq!(
        versions,
        [3, 1, 1, 1, 2],
        "the latest version of each stands"
    );
    assert!(listing.iter().all(|(_, _, deleted)| !deleted));
    assert_eq!(fixture.ordinals().await, [1, 2, 3, 4, 5], "no gaps");
    // New: a, b, c, d, e; changed: a.
    assert_eq!(fixture.modified_count(&resumed).await, 6);

    // A full pull of a data set holding another operation's records merges with them, and marks what it no
    // longer sees as deleted.
    let other = self::fixture(store).await;
    other.queue().await;
    let mut failed = other.claim("worker-a", at).await;
    other
        .write(&mut failed, &[record("a", 1), record("b", 1)], false)
        .await;
    other
        .store
        .fail_pull(&failed, pull_status::FETCH_ERROR, "the platform failed")
        .await
        .unwrap()
        .unwrap();
    other.queue().await;
    let mut again = other.claim("worker-a", at).await;
    assert_ne!(again.seq, failed.seq);
    assert!(
        again.modified_since.is_none(),
        "nothing was pulled in full yet"
    );
    assert!(!again.fresh && !again.insert_only);
    other
        .write(&mut again, &[record("b", 2), record("c", 1)], false)
        .await;
    other.write(&mut again, &[record("d", 1)], true).await;
    let (listing, total) = other.listing().await;
    assert_eq!(ids(&listing), ["a", "b", "c", "d"]);
    assert_eq!(total, 4);
    let deleted: Vec<&str> = listing
        .iter()
        .filter(|(_, _, deleted)| *deleted)
        .map(|(id, _, _)| id.as_str())
        .collect();
    assert_eq!(deleted, ["a"]);
    assert_eq!(listing[1].1, 2);
    assert_eq!(other.ordinals().await, [1, 2, 3, 4]);
    // Changed: b; new: c, d; deleted: a.
    assert_eq!(other.modified_count(&again).await, 4);
}

#[tokio::test]
async fn pages_are_written_densely_whichever_way_on_sqlite() {
    pages_are_written_densely_whichever_way(crate::test_support::sqlite().await).await;
}

#[tokio::test]
async fn pages_are_written_densely_whichever_way_on_postgres() {
    crate::test_support::on_postgres("pages", pages_are_written_densely_whichever_way).await;
}

/// More records than one deletion batch on SQLite, so the batches, their end and the cascade all take part.
async fn deleting_a_connection_or_its_company_removes_every_stored_record(store: Store) {
    let fixture = fixture(store).await;
    let other = test_support::connection(
        &fixture.store,
        fixture.client,
        fixture.company,
        "mqjo",
        SourceType::Accounting,
    )
    .await;
    let count = |connection: ConnectionId| {
        let store = fixture.store.clone();
        async move {
            sqlx::query("SELECT COUNT(*) FROM data_records WHERE connection_id = $1")
                .bind(connection.to_string())
                .fetch_one(&store.pool)
                .await
                .unwrap()
                .try_get::<i64, _>(0)
                .unwrap()
        }
    };
    fixture.queue().await;
    let mut pull = fixture.claim("deleter", Timestamp::now()).await;
    let records: Vec<PulledRecord> = (0..25_000)
        .map(|index| record(&format!("inv_{index:06}"), 1))
        .collect();
    for (page, chunk) in records.chunks(5_000).enumerate() {
        fixture.write(&mut pull, chunk, page == 4).await;
    }
    assert_eq!(count(fixture.connection).await, 25_000);
    let kept = Fixture {
        store: fixture.store.clone(),
        client: fixture.client,
        company: fixture.company,
        connection: other.id,
    };
    kept.queue().await;
    let mut pull = kept.claim("deleter", Timestamp::now()).await;
    kept.write(&mut pull, &[record("a", 1), record("b", 1)], true)
        .await;

    fixture
        .store
        .delete_connection(fixture.client, fixture.company, fixture.connection)
        .await
        .unwrap();
    assert_eq!(count(fixture.connection).await, 0);
    assert_eq!(
        count(other.id).await,
        2,
        "another connection's records stay"
    );

    fixture
        .store
        .delete_company(fixture.client, fixture.company)
        .await
        .unwrap();
    assert_eq!(count(other.id).await, 0);
}

#[tokio::test]
async fn deleting_a_connection_or_its_company_removes_every_stored_record_on_sqlite() {
    deleting_a_connection_or_its_company_removes_every_stored_record(
        crate::test_support::sqlite().await,
    )
    .await;
}

#[tokio::test]
async fn deleting_a_connection_or_its_company_removes_every_stored_record_on_postgres() {
    crate::test_support::on_postgres(
        "deletes",
        deleting_a_connection_or_its_company_removes_every_stored_record,
    )
    .await;
}
