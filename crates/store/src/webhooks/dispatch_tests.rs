//! The dispatcher's side of the outbox: claims take each consumer's deliveries about one company in order,
//! a batch of attempts (successes and failures together) is recorded in one call, and a rotation of the
//! signing secrets shows in the next claim.

use std::sync::Arc;
use std::time::Duration;

use linkwell_domain::ids::CompanyId;

use super::*;
use crate::events::{DomainEvent, EventRenderer};

struct NamesOnly;

impl EventRenderer for NamesOnly {
    fn payload(&self, event: &DomainEvent<'_>) -> serde_json::Value {
        serde_json::json!({ "companyName": event.company().map(|company| company.name.clone()) })
    }
}

fn secret(id: &str) -> SealedSecret {
    SealedSecret {
        id: id.to_owned(),
        sealed: "sealed".to_owned(),
        key_id: "k".to_owned(),
    }
}

async fn company(store: &Store, client: ClientId, name: &str) -> CompanyId {
    crate::test_support::company(store, client, name).await.id
}

fn answered(status: u16) -> AttemptResult {
    AttemptResult {
        success: (200..300).contains(&status),
        status_code: Some(status),
        error: None,
        duration_ms: 3,
    }
}

fn event_type(delivery: &ClaimedDelivery) -> String {
    let body: serde_json::Value = serde_json::from_str(&delivery.body).unwrap();
    format!(
        "{} {}",
        body["eventType"].as_str().unwrap(),
        body["payload"]["companyName"].as_str().unwrap()
    )
}

async fn claim(store: &Store, owner: &str) -> Vec<ClaimedDelivery> {
    let now = Timestamp::now();
    store
        .claim_deliveries(owner, now, now.plus_seconds(60), 100)
        .await
        .unwrap()
}

async fn deliveries_are_claimed_in_order_and_recorded_in_batches(store: Store) {
    store.set_event_renderer(Arc::new(NamesOnly));
    let client = store.ensure_client("dispatch").await.unwrap();
    store
        .create_webhook_consumer(
            client,
            NewConsumer {
                id: "hook".to_owned(),
                url: "http://127.0.0.1:9/hook".to_owned(),
                event_types: vec!["company.created".to_owned(), "company.deleted".to_owned()],
                company_tags: None,
                disabled: false,
                secret: secret("s1"),
            },
        )
        .await
        .unwrap();
    let first = company(&store, client, "First").await;
    store.delete_company(client, first).await.unwrap();
    company(&store, client, "Second").await;

    // First's deletion waits for its creation; Second's creation is about another company.
    let claimed = claim(&store, "one").await;
    let claimed_types: Vec<String> = claimed.iter().map(event_type).collect();
    assert_eq!(
        claimed_types,
        ["company.created First", "company.created Second"]
    );
    assert!(claimed.iter().all(|delivery| delivery.secret_version == 0));
    assert!(
        claim(&store, "two").await.is_empty(),
        "claimed ones are leased"
    );

    let policy = FailurePolicy {
        retries: &[Duration::from_secs(3600)],
        disable_after: Duration::from_secs(5 * 86_400),
    };
    let ok = answered(200);
    let refused = answered(500);
    store
        .record_delivery_attempts(&[(&claimed[0], &ok), (&claimed[1], &refused)], policy)
        .await
        .unwrap();

    // First's deletion is next; Second's retry is an hour away. A rotation shows in the claim.
    store
        .rotate_webhook_secret(
            client,
            "hook",
            &secret("s2"),
            Timestamp::now().plus_seconds(86_400),
        )
        .await
        .unwrap();
    let next = claim(&store, "two").await;
    assert_eq!(
        next.iter().map(event_type).collect::<Vec<_>>(),
        ["company.deleted First"]
    );
    assert_eq!(next[0].secret_version, 1);
    let secrets = store
        .webhook_secrets("hook", Timestamp::now())
        .await
        .unwrap();
    assert_eq!(secrets.len(), 2, "both sign during the overlap");
    assert!(secrets
        .iter()
        .all(|stored| stored.retires_at.is_some() == (stored.sealed.id == "s1")));

    // Retries used up: the delivery fails, and a consumer failing for long enough is disabled.
    store
        .record_delivery_attempts(
            &[(&next[0], &refused)],
            FailurePolicy {
                retries: &[],
                disable_after: Duration::ZERO,
            },
        )
        .await
        .unwrap();
    let listed = store
        .list_deliveries(client, "hook", PageRequest::default())
        .await
        .unwrap();
    let summary: Vec<(String, String, Vec<Option<i64>>)> = listed
        .items
        .iter()
        .map(|delivery| {
            (
                delivery.event_type.clone(),
                delivery.status.clone(),
                delivery
                    .attempts
                    .iter()
                    .map(|attempt| attempt.status_code)
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "company.created".to_owned(),
                "Pending".to_owned(),
                vec![Some(500)]
            ),
            (
                "company.deleted".to_owned(),
                "Failed".to_owned(),
                vec![Some(500)]
            ),
            (
                "company.created".to_owned(),
                "Succeeded".to_owned(),
                vec![Some(200)]
            ),
        ]
    );
    assert!(listed.items[0].next_attempt_at.unwrap() > Timestamp::now().plus_seconds(3000));
    let consumer = store.get_webhook_consumer(client, "hook").await.unwrap();
    assert!(consumer.disabled, "{consumer:?}");

    // Recording the same attempt again (a dispatcher retrying after an error) adds no second attempt row.
    store
        .record_delivery_attempts(&[(&claimed[0], &ok)], policy)
        .await
        .unwrap();
    let again = store
        .list_deliveries(client, "hook", PageRequest::default())
        .await
        .unwrap();
    assert_eq!(again.items[2].attempts.len(), 1);
}

#[tokio::test]
async fn deliveries_are_claimed_in_order_and_recorded_in_batches_on_sqlite() {
    deliveries_are_claimed_in_order_and_recorded_in_batches(crate::test_support::sqlite().await)
        .await;
}

#[tokio::test]
async fn deliveries_are_claimed_in_order_and_recorded_in_batches_on_postgres() {
    crate::test_support::on_postgres(
        "dispatch",
        deliveries_are_claimed_in_order_and_recorded_in_batches,
    )
    .await;
}
