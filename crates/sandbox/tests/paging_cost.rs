//! What it costs to page through a big organisation: the first, the 1,000th and the last page of
//! `bench-1000000` invoices at 500 a page, then an incremental pull after 10,000 changes.
//! Ignored by default; run with
//! `cargo test --release -p linkwell-sandbox --test paging_cost -- --ignored --nocapture`.
//!
//! Every page should cost about what the first costs: a cursor is found by binary search, not by
//! walking or generating the records before it, and `updated_since` after the base timeline
//! reads only the changes.

mod common;

use std::time::{Duration, Instant};

use common::data::*;
use common::*;
use serde_json::Value;

const ORGANISATION: &str = "bench-1000000";
const INVOICES: usize = 1_000_000;
const PAGE: usize = 500;
const RUNS: usize = 3;

struct Figures {
    first_page: Duration,
    page_1000: Duration,
    last_page: Duration,
    full_pull: Duration,
    advance_batch: Duration,
    increment_first_page: Duration,
    increment_pull: Duration,
    increment_records: usize,
}

/// One timed page request.
async fn timed_page(app: &TestApp, token: &str, query: &[(&str, &str)]) -> (Duration, Value) {
    let started = Instant::now();
    let page = app.page("mqjo", "invoices", token, query).await;
    (started.elapsed(), page)
}

async fn measure() -> Figures {
    let app = spawn().await;
    let tokens = app.connect("mqjo", ORGANISATION).await;
    let limit = PAGE.to_string();

    // The full pull, following cursors, timing pages 1, 1,000 and the last.
    let pull_started = Instant::now();
    let (mut pages, mut records) = (0, 0);
    let mut cursor: Option<String> = None;
    let (mut first_page, mut page_1000) = Default::default();
    let last_page = loop {
        let mut query = vec![("limit", limit.as_str())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.as_str()));
        }
        let (elapsed, page) = timed_page(&app, &tokens.access, &query).await;
        pages += 1;
        records += page["data"].as_array().map_or(0, Vec::len);
        match pages {
            1 => first_page = elapsed,
            1_000 => page_1000 = elapsed,
            _ => {}
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break elapsed,
        }
    };
    let full_pull = pull_started.elapsed();
    assert_eq!(records, INVOICES);
    assert_eq!(pages, INVOICES / PAGE);

    // 1% of the organisation changes: ten batches of 1,000.
    let since = now_rfc3339(&app);
    let mut advance_total = Duration::ZERO;
    for _ in 0..10 {
        app.clock.advance(Duration::from_secs(60));
        let started = Instant::now();
        let summary = app.advance("mqjo", ORGANISATION, 1_000).await;
        advance_total += started.elapsed();
        assert_eq!(summary["changes"], 1_000);
    }

    let pull_started = Instant::now();
    let mut increment_records = 0;
    let mut cursor: Option<String> = None;
    let mut increment_first_page = Duration::ZERO;
    loop {
        let mut query = vec![("limit", limit.as_str()), ("updated_since", since.as_str())];
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.as_str()));
        }
        let (elapsed, page) = timed_page(&app, &tokens.access, &query).await;
        if cursor.is_none() {
            increment_first_page = elapsed;
        }
        increment_records += page["data"].as_array().map_or(0, Vec::len);
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    Figures {
        first_page,
        page_1000,
        last_page,
        full_pull,
        advance_batch: advance_total / 10,
        increment_first_page,
        increment_pull: pull_started.elapsed(),
        increment_records,
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement: run in --release with --ignored --nocapture"]
async fn bench_million_pages_cost_the_same_as_the_first() {
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        runs.push(measure().await);
    }
    let report = |name: &str, pick: fn(&Figures) -> Duration| {
        let values: Vec<Duration> = runs.iter().map(pick).collect();
        println!(
            "{name:<38} median {:>10.2?}  runs {values:.2?}",
            median(values.clone())
        );
        median(values)
    };
    let first = report("page 1 (limit 500)", |f| f.first_page);
    let middle = report("page 1,000 (by cursor)", |f| f.page_1000);
    let last = report("page 2,000, the last", |f| f.last_page);
    report("all 2,000 pages", |f| f.full_pull);
    report("advance, one batch of 1,000", |f| f.advance_batch);
    report("updated_since, first page", |f| f.increment_first_page);
    report("updated_since, every page", |f| f.increment_pull);
    println!(
        "records changed since, as served: {:?}",
        runs.iter().map(|f| f.increment_records).collect::<Vec<_>>()
    );
    // Generous bounds: a cursor deep in the list must not cost many times the first page.
    for (name, page) in [("page 1,000", middle), ("the last page", last)] {
        assert!(
            page < first * 4 + Duration::from_millis(20),
            "{name} took {page:?}, the first {first:?}"
        );
    }
}
