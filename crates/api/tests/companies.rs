//! Companies over HTTP: create, read, list with paging, query, tags and ordering, replace, update, delete.

mod common;

use common::{assert_error, TestApp};
use serde_json::{json, Value};

backend_tests!(
    create_company_answers_with_the_spec_shape,
    company_names_follow_the_spec_rules,
    list_pages_with_links,
    paging_parameters_are_validated,
    query_filters_companies,
    tags_parameter_filters_on_tags,
    order_by_sorts_companies,
    malformed_queries_are_explained,
    replace_and_update_differ,
    delete_company_takes_its_connections,
    unknown_company_is_404,
);

async fn create_company_answers_with_the_spec_shape(app: TestApp) -> TestApp {
    let (status, body) = app
        .post(
            "/companies",
            json!({"name": "Bank of Dave", "description": "early access", "tags": {"region": "uk"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().unwrap();
    assert_eq!(body["name"], "Bank of Dave");
    assert_eq!(body["description"], "early access");
    assert_eq!(body["tags"], json!({"region": "uk"}));
    assert_eq!(
        body["redirect"],
        format!("{}/link/companies/{id}", app.base)
    );
    assert_eq!(body["dataConnections"], json!([]));
    assert!(body["created"].as_str().unwrap().ends_with('Z'));
    assert!(body["lastSync"].is_null());
    let (status, fetched) = app.get(&format!("/companies/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(fetched, body);
    app
}

async fn company_names_follow_the_spec_rules(app: TestApp) -> TestApp {
    let body = app.create_company("Company (Codat[1])").await;
    assert_eq!(body["name"], "Company Codat1");
    let (status, body) = app.post("/companies", json!({"name": "(){}[]"})).await;
    assert_error(status, &body, 400, "name");
    let (status, body) = app
        .post("/companies", json!({"description": "no name"}))
        .await;
    assert_error(status, &body, 400, "name");
    let many: serde_json::Map<String, Value> =
        (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
    let (status, body) = app
        .post("/companies", json!({"name": "Tags", "tags": many}))
        .await;
    assert_error(status, &body, 400, "tags");
    let (status, body) = app
        .post("/companies", json!({"name": "Tags", "tags": {"k": 1}}))
        .await;
    assert_error(status, &body, 400, "tags");
    let (_, list) = app.get("/companies").await;
    assert_eq!(
        list["totalResults"], 1,
        "rejected companies must not be created"
    );
    app
}

async fn list_pages_with_links(app: TestApp) -> TestApp {
    for i in 0..5 {
        app.create_company(&format!("Company {i}")).await;
    }
    let (status, first) = app.get("/companies?page=1&pageSize=2").await;
    assert_eq!(status, 200);
    assert_eq!(first["pageNumber"], 1);
    assert_eq!(first["pageSize"], 2);
    assert_eq!(first["totalResults"], 5);
    assert_eq!(first["results"].as_array().unwrap().len(), 2);
    assert_eq!(first["results"][0]["name"], "Company 0");
    assert_eq!(first["_links"]["self"]["href"], "/companies");
    assert_eq!(
        first["_links"]["current"]["href"],
        "/companies?page=1&pageSize=2"
    );
    assert_eq!(
        first["_links"]["next"]["href"],
        "/companies?page=2&pageSize=2"
    );
    assert!(first["_links"].get("previous").is_none());
    let (_, last) = app.get("/companies?page=3&pageSize=2").await;
    assert_eq!(last["results"].as_array().unwrap().len(), 1);
    assert_eq!(last["results"][0]["name"], "Company 4");
    assert!(last["_links"].get("next").is_none());
    assert_eq!(
        last["_links"]["previous"]["href"],
        "/companies?page=2&pageSize=2"
    );
    let (_, default) = app.get("/companies").await;
    assert_eq!(default["pageSize"], 100);
    assert_eq!(default["results"].as_array().unwrap().len(), 5);
    app
}

async fn paging_parameters_are_validated(app: TestApp) -> TestApp {
    for (query, needle) in [
        ("page=0", "page"),
        ("pageSize=0", "pageSize"),
        ("pageSize=5001", "pageSize"),
        ("page=abc", "page"),
    ] {
        let (status, body) = app.get(&format!("/companies?{query}")).await;
        assert_error(status, &body, 400, needle);
    }
    let (status, _) = app.get("/companies?pageSize=5000").await;
    assert_eq!(status, 200);
    app
}

async fn names(app: &TestApp, query: &str) -> Vec<String> {
    let (status, body) = app.get(&format!("/companies?{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

async fn query_filters_companies(app: TestApp) -> TestApp {
    let acme = app.create_company("Acme Ltd").await;
    app.create_company("Bravo Inc").await;
    app.create_company("Charlie Acme").await;
    app.create_connection(acme["id"].as_str().unwrap(), "bnks")
        .await;
    let q = |text: &str| format!("query={}", encode(text));
    assert_eq!(names(&app, &q("name=Acme Ltd")).await, ["Acme Ltd"]);
    assert_eq!(
        names(&app, &q("name!=Acme Ltd")).await,
        ["Bravo Inc", "Charlie Acme"]
    );
    assert_eq!(
        names(&app, &q("name~acme")).await,
        ["Acme Ltd", "Charlie Acme"]
    );
    assert_eq!(names(&app, &q("name~acme&&name~ltd")).await, ["Acme Ltd"]);
    assert_eq!(
        names(&app, &q("name=Bravo Inc||name=Charlie Acme")).await,
        ["Bravo Inc", "Charlie Acme"]
    );
    assert_eq!(
        names(&app, &q("{name=Bravo Inc||name~acme}&&name~charlie")).await,
        ["Charlie Acme"]
    );
    assert_eq!(
        names(&app, &q("dataConnections.status=PendingAuth")).await,
        ["Acme Ltd"]
    );
    assert_eq!(
        names(&app, &q("dataConnections.sourceType=Banking")).await,
        ["Acme Ltd"]
    );
    assert_eq!(
        names(&app, &q("dataConnections.status=Linked")).await,
        Vec::<String>::new()
    );
    assert_eq!(names(&app, &q("created>2000-01-01")).await.len(), 3);
    assert_eq!(names(&app, &q("created<2000-01-01")).await.len(), 0);
    let (_, page) = app
        .get(&format!("/companies?pageSize=1&{}", q("name~acme")))
        .await;
    assert_eq!(
        page["totalResults"], 2,
        "totalResults counts the filtered companies"
    );
    assert_eq!(
        page["_links"]["next"]["href"],
        format!("/companies?page=2&pageSize=1&{}", q("name~acme")),
        "next keeps the filter"
    );
    app
}

async fn tags_parameter_filters_on_tags(app: TestApp) -> TestApp {
    for (name, region, team) in [
        ("One", "uk", "lending"),
        ("Two", "us", "lending"),
        ("Three", "uk", "payables"),
    ] {
        let (status, _) = app
            .post(
                "/companies",
                json!({"name": name, "tags": {"region": region, "team": team}}),
            )
            .await;
        assert_eq!(status, 200);
    }
    app.create_company("Untagged").await;
    assert_eq!(
        names(&app, &format!("tags={}", encode("region=uk"))).await,
        ["One", "Three"]
    );
    assert_eq!(
        names(
            &app,
            &format!("tags={}", encode("region=uk && team=lending"))
        )
        .await,
        ["One"]
    );
    assert_eq!(
        names(&app, &format!("tags={}", encode("region!=uk"))).await,
        ["Two", "Untagged"]
    );
    assert_eq!(
        names(&app, &format!("tags={}", encode("team~pay"))).await,
        ["Three"]
    );
    assert_eq!(
        names(&app, &format!("query={}", encode("tags.region=us"))).await,
        ["Two"]
    );
    app
}

async fn order_by_sorts_companies(app: TestApp) -> TestApp {
    for name in ["Bravo", "Alpha", "Charlie"] {
        app.create_company(name).await;
    }
    assert_eq!(
        names(&app, "orderBy=name").await,
        ["Alpha", "Bravo", "Charlie"]
    );
    assert_eq!(
        names(&app, "orderBy=-name").await,
        ["Charlie", "Bravo", "Alpha"]
    );
    assert_eq!(
        names(&app, "orderBy=-created").await,
        ["Charlie", "Alpha", "Bravo"]
    );
    let (status, body) = app.get("/companies?orderBy=colour").await;
    assert_error(status, &body, 400, "colour");
    app
}

async fn malformed_queries_are_explained(app: TestApp) -> TestApp {
    for (query, needle) in [
        ("name", "operator"),
        ("{name=a", "{"),
        ("colour=red", "colour"),
        ("dataConnections.status=Sideways", "Sideways"),
        ("created>yesterday", "yesterday"),
        ("name=a&&", "position"),
    ] {
        let (status, body) = app
            .get(&format!("/companies?query={}", encode(query)))
            .await;
        assert_error(status, &body, 400, needle);
    }
    let long = format!("name={}", "a".repeat(2050));
    let (status, body) = app.get(&format!("/companies?query={long}")).await;
    assert_error(status, &body, 400, "2048");
    app
}

async fn replace_and_update_differ(app: TestApp) -> TestApp {
    let (_, created) = app
        .post(
            "/companies",
            json!({"name": "Original", "description": "d", "tags": {"a": "1"}}),
        )
        .await;
    let path = format!("/companies/{}", created["id"].as_str().unwrap());
    let (status, patched) = app.patch(&path, json!({"name": "Renamed"})).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["name"], "Renamed");
    assert_eq!(
        patched["description"], "d",
        "PATCH keeps fields it was not given"
    );
    assert_eq!(patched["tags"], json!({"a": "1"}));
    let (_, patched) = app
        .patch(&path, json!({"description": null, "tags": {"b": "2"}}))
        .await;
    assert_eq!(
        patched["description"], "d",
        "null in PATCH means 'leave as it is'"
    );
    assert_eq!(patched["tags"], json!({"b": "2"}));
    let (status, replaced) = app.put(&path, json!({"name": "Replaced"})).await;
    assert_eq!(status, 200);
    assert_eq!(replaced["name"], "Replaced");
    assert!(
        replaced["description"].is_null(),
        "PUT clears what it was not given"
    );
    assert_eq!(replaced["tags"], json!({}));
    assert_eq!(
        names(&app, &format!("tags={}", encode("b=2"))).await,
        Vec::<String>::new()
    );
    let (status, body) = app.put(&path, json!({"description": "no name"})).await;
    assert_error(status, &body, 400, "name");
    let (_, after) = app.get(&path).await;
    assert_eq!(
        after["name"], "Replaced",
        "a rejected replace changes nothing"
    );
    app
}

async fn delete_company_takes_its_connections(app: TestApp) -> TestApp {
    let company = app.create_company("Doomed").await;
    let id = company["id"].as_str().unwrap();
    let connection = app.create_connection(id, "mqjo").await;
    let keep = app.create_company("Kept").await;
    let (status, body) = app.delete(&format!("/companies/{id}")).await;
    assert_eq!(status, 204);
    assert!(body.is_null());
    let (status, body) = app.get(&format!("/companies/{id}")).await;
    assert_error(status, &body, 404, id);
    let (status, _) = app
        .get(&format!(
            "/companies/{id}/connections/{}",
            connection["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 404);
    let (_, list) = app.get("/companies").await;
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["results"][0]["id"], keep["id"]);
    let (status, _) = app.delete(&format!("/companies/{id}")).await;
    assert_eq!(status, 404, "deleting twice is 404");
    app
}

async fn unknown_company_is_404(app: TestApp) -> TestApp {
    let missing = uuid::Uuid::new_v4();
    for path in [
        format!("/companies/{missing}"),
        format!("/companies/{missing}/connections"),
        "/companies/not-a-uuid".to_owned(),
    ] {
        let (status, body) = app.get(&path).await;
        assert_error(status, &body, 404, "company");
    }
    let (status, body) = app
        .patch(&format!("/companies/{missing}"), json!({"name": "x"}))
        .await;
    assert_error(status, &body, 404, "company");
    app
}

mod deep_pages {
    use super::*;
    use linkwell_domain::company::{CompanyName, Tags};
    use linkwell_store::NewCompany;

    backend_tests!(deep_pages_match_a_full_listing_across_blocks);

    /// More companies than one block of the page index holds, with deletions in several blocks: every page of
    /// the default listing must be exactly the matching slice of the whole list.
    async fn deep_pages_match_a_full_listing_across_blocks(app: TestApp) -> TestApp {
        let mut tasks = Vec::new();
        for worker in 0..4 {
            let store = app.store.clone();
            let client = app.client;
            tasks.push(tokio::spawn(async move {
                for i in 0..550 {
                    let company = NewCompany {
                        name: CompanyName::parse(&format!("Bulk {worker} {i}")).unwrap(),
                        description: None,
                        tags: Tags::default(),
                    };
                    store.create_company(client, company).await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let (_, all) = app.get("/companies?pageSize=5000").await;
        let all_ids: Vec<String> = all["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(all_ids.len(), 2200);
        for index in [0, 5, 1000, 1023, 1024, 1500, 2199] {
            let (status, _) = app.delete(&format!("/companies/{}", all_ids[index])).await;
            assert_eq!(status, 204);
        }
        let (_, all) = app.get("/companies?pageSize=5000").await;
        let remaining: Vec<String> = all["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(remaining.len(), 2193);
        for (page, size) in [
            (2, 100),
            (11, 100),
            (21, 100),
            (22, 100),
            (23, 100),
            (3, 999),
            (1024, 2),
            (1097, 2),
        ] {
            let (status, body) = app
                .get(&format!("/companies?page={page}&pageSize={size}"))
                .await;
            assert_eq!(status, 200);
            let ids: Vec<&str> = body["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap())
                .collect();
            let start = ((page - 1) * size).min(remaining.len());
            let end = (start + size).min(remaining.len());
            assert_eq!(ids, remaining[start..end], "page {page} of size {size}");
            assert_eq!(body["totalResults"], 2193);
        }
        app
    }
}

/// The listing's fast path (rendered by the database) and its cache (SQLite, one writer).
mod listing_path {
    use super::*;
    use common::Db;
    use linkwell_api::dto::{Companies, Company};
    use linkwell_domain::connection::ConnectionEvent;
    use linkwell_domain::ids::{CompanyId, ConnectionId};
    use linkwell_domain::paging::PageRequest;
    use linkwell_domain::query::{parse_order_by, parse_query};
    use linkwell_store::{Backend, CompanyFilter};

    backend_tests!(
        listings_reflect_every_write_at_once,
        clients_never_see_each_others_listings,
        listings_are_byte_for_byte_the_serialised_records,
        cache_control_asks_for_a_fresh_listing,
    );

    fn db(app: &TestApp) -> Db {
        match app.store.backend() {
            Backend::Sqlite => Db::Sqlite,
            Backend::Postgres => Db::Postgres,
        }
    }

    /// Lists twice with the same parameters and returns the body. On SQLite the second answer must come from
    /// the listing cache (so every check after a write below really is made against a cached listing); on
    /// PostgreSQL there must be no cache at all.
    async fn listed(app: &TestApp, query: &str) -> Value {
        let path = format!("/companies?{query}");
        let (status, first) = app.get(&path).await;
        assert_eq!(status, 200, "{path}: {first}");
        let before = app.store.listing_cache_stats();
        let (_, second) = app.get(&path).await;
        let after = app.store.listing_cache_stats();
        assert_eq!(first, second, "{path}");
        match db(app) {
            Db::Sqlite => assert_eq!(
                after.unwrap().hits,
                before.unwrap().hits + 1,
                "{path} was not served from the listing cache"
            ),
            Db::Postgres => assert!(before.is_none() && after.is_none()),
        }
        first
    }

    fn names_in(body: &Value) -> Vec<&str> {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect()
    }

    fn company_in<'a>(body: &'a Value, id: &str) -> &'a Value {
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("company {id} is not listed in {body}"))
    }

    async fn listings_reflect_every_write_at_once(app: TestApp) -> TestApp {
        let all = "page=1&pageSize=10";
        assert_eq!(listed(&app, all).await["totalResults"], 0);

        // Create.
        let (_, alpha) = app
            .post(
                "/companies",
                json!({"name": "Alpha", "tags": {"region": "uk"}}),
            )
            .await;
        let alpha_id = alpha["id"].as_str().unwrap().to_owned();
        let listing = listed(&app, all).await;
        assert_eq!(names_in(&listing), ["Alpha"]);
        assert_eq!(listing["totalResults"], 1);
        let beta = app.create_company("Beta").await;
        let beta_id = beta["id"].as_str().unwrap().to_owned();
        let listing = listed(&app, all).await;
        assert_eq!(names_in(&listing), ["Alpha", "Beta"]);
        assert_eq!(listing["totalResults"], 2);

        // PATCH.
        let (status, _) = app
            .patch(
                &format!("/companies/{alpha_id}"),
                json!({"name": "Alpha Two"}),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(names_in(&listed(&app, all).await), ["Alpha Two", "Beta"]);

        // PUT.
        let (status, _) = app
            .put(
                &format!("/companies/{beta_id}"),
                json!({"name": "Beta", "description": "replaced", "tags": {"team": "x"}}),
            )
            .await;
        assert_eq!(status, 200);
        let listing = listed(&app, all).await;
        assert_eq!(company_in(&listing, &beta_id)["description"], "replaced");
        assert_eq!(company_in(&listing, &beta_id)["tags"], json!({"team": "x"}));

        // Tags, seen by a tags-filtered listing cached before the change.
        let uk = format!("tags={}", encode("region=uk"));
        let us = format!("tags={}", encode("region=us"));
        assert_eq!(names_in(&listed(&app, &uk).await), ["Alpha Two"]);
        assert!(names_in(&listed(&app, &us).await).is_empty());
        app.patch(
            &format!("/companies/{alpha_id}"),
            json!({"tags": {"region": "us"}}),
        )
        .await;
        assert!(names_in(&listed(&app, &uk).await).is_empty());
        assert_eq!(names_in(&listed(&app, &us).await), ["Alpha Two"]);
        assert_eq!(
            company_in(&listed(&app, all).await, &alpha_id)["tags"],
            json!({"region": "us"})
        );

        // Create a connection.
        let connection = app.create_connection(&alpha_id, "mqjo").await;
        let connection_id = connection["id"].as_str().unwrap().to_owned();
        let listing = listed(&app, all).await;
        let connections = &company_in(&listing, &alpha_id)["dataConnections"];
        assert_eq!(connections.as_array().unwrap().len(), 1);
        assert_eq!(connections[0]["id"], connection_id.as_str());
        assert_eq!(connections[0]["status"], "PendingAuth");
        assert_eq!(connections[0], connection, "listed as created");

        // Status changes: linked by the Link flow, then unlinked over HTTP.
        app.store
            .apply_connection_event(
                app.client,
                alpha_id.parse::<CompanyId>().unwrap(),
                connection_id.parse::<ConnectionId>().unwrap(),
                &ConnectionEvent::AuthorizationCompleted,
            )
            .await
            .unwrap();
        let linked = format!("query={}", encode("dataConnections.status=Linked"));
        let listing = listed(&app, all).await;
        assert_eq!(
            company_in(&listing, &alpha_id)["dataConnections"][0]["status"],
            "Linked"
        );
        assert_eq!(names_in(&listed(&app, &linked).await), ["Alpha Two"]);
        let connection_path = format!("/companies/{alpha_id}/connections/{connection_id}");
        let (status, body) = app
            .patch(&connection_path, json!({"status": "Unlinked"}))
            .await;
        assert_eq!(status, 200, "{body}");
        let listing = listed(&app, all).await;
        assert_eq!(
            company_in(&listing, &alpha_id)["dataConnections"][0]["status"],
            "Unlinked"
        );
        assert!(names_in(&listed(&app, &linked).await).is_empty());

        // Delete the connection.
        let (status, body) = app.delete(&connection_path).await;
        assert_eq!(status, 200, "{body}");
        let listing = listed(&app, all).await;
        assert_eq!(
            company_in(&listing, &alpha_id)["dataConnections"],
            json!([])
        );

        // Delete a company.
        let (status, _) = app.delete(&format!("/companies/{beta_id}")).await;
        assert_eq!(status, 204);
        let listing = listed(&app, all).await;
        assert_eq!(names_in(&listing), ["Alpha Two"]);
        assert_eq!(listing["totalResults"], 1);
        app
    }

    async fn clients_never_see_each_others_listings(app: TestApp) -> TestApp {
        let (_, other_key) = app.other_client("listing-neighbour").await;
        let same = "/companies?page=1&pageSize=10";
        let as_other = |app: &TestApp| {
            let request = app.request_as(&other_key, reqwest::Method::GET, same);
            async move { common::read(request.send().await.unwrap()).await.1 }
        };
        app.create_company("Mine").await;
        // Both clients list with identical parameters, twice, in turn.
        for _ in 0..2 {
            assert_eq!(names_in(&app.get(same).await.1), ["Mine"]);
            let theirs = as_other(&app).await;
            assert!(names_in(&theirs).is_empty(), "{theirs}");
            assert_eq!(theirs["totalResults"], 0);
        }
        let (status, _) = app
            .request_as(&other_key, reqwest::Method::POST, "/companies")
            .json(&json!({"name": "Theirs"}))
            .send()
            .await
            .map(|response| response.status().as_u16())
            .map(|status| (status, ()))
            .unwrap();
        assert_eq!(status, 200);
        for _ in 0..2 {
            assert_eq!(names_in(&as_other(&app).await), ["Theirs"]);
            assert_eq!(names_in(&app.get(same).await.1), ["Mine"]);
        }
        if db(&app) == Db::Sqlite {
            let stats = app.store.listing_cache_stats().unwrap();
            assert!(stats.hits >= 2, "{stats:?}");
            assert!(stats.entries >= 2, "one listing per client: {stats:?}");
        }
        app
    }

    /// Text that needs every kind of JSON escaping, and some that needs none.
    fn awkward(db: Db) -> String {
        let mut text: String = (1u8..0x20).map(char::from).collect();
        text.push_str("\"\\/ <>&' é ß 中文 😀 \u{7f} \u{2028}\u{2029} \u{fffd}");
        if db == Db::Sqlite {
            // PostgreSQL text cannot hold NUL.
            text.push('\0');
        }
        text
    }

    /// Every listing body is exactly what serialising the store's records through the API's DTOs gives.
    async fn listings_are_byte_for_byte_the_serialised_records(app: TestApp) -> TestApp {
        let text = awkward(db(&app));
        for i in 0..4 {
            let (status, body) = app
                .post(
                    "/companies",
                    json!({
                        "name": format!("Company {i} - O'Brien & Co."),
                        "description": if i % 2 == 0 { Value::from(text.clone()) } else { Value::Null },
                        "tags": if i == 3 { json!({}) } else { json!({"region": "uk", "k\"ey": text.chars().take(100).collect::<String>(), "é": "ü"}) },
                    }),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            let company = body["id"].as_str().unwrap().to_owned();
            for platform in ["mqjo", "bnks"].iter().take(i % 3) {
                let connection = app.create_connection(&company, platform).await;
                let (company, connection): (CompanyId, ConnectionId) = (
                    company.parse().unwrap(),
                    connection["id"].as_str().unwrap().parse().unwrap(),
                );
                app.store
                    .apply_connection_event(
                        app.client,
                        company,
                        connection,
                        &ConnectionEvent::AuthorizationFailed {
                            reason: text.clone(),
                        },
                    )
                    .await
                    .unwrap();
                if *platform == "bnks" {
                    app.store
                        .apply_connection_event(
                            app.client,
                            company,
                            connection,
                            &ConnectionEvent::AuthorizationCompleted,
                        )
                        .await
                        .unwrap();
                }
            }
        }
        // Paging, then query, orderBy and tags.
        type Case<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);
        let cases: [Case; 8] = [
            ("", None, None, None),
            ("page=1&pageSize=2", None, None, None),
            ("page=2&pageSize=2", None, None, None),
            ("page=3&pageSize=3", None, None, None),
            ("page=1&pageSize=100", None, Some("-name"), None),
            ("pageSize=3", Some("name~Company"), Some("created"), None),
            ("", None, None, Some("region=uk")),
            ("", Some("dataConnections.status=Linked"), None, None),
        ];
        for (paging, query, order_by, tags) in cases {
            let mut url = format!("/companies?{paging}");
            for (name, value) in [("query", query), ("orderBy", order_by), ("tags", tags)] {
                if let Some(value) = value {
                    url.push_str(&format!("&{name}={}", encode(value)));
                }
            }
            let response = app
                .request(reqwest::Method::GET, &url)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(
                response.headers()["content-type"],
                "application/json",
                "{url}"
            );
            let body = response.bytes().await.unwrap();

            let number = |name: &str| {
                paging
                    .split('&')
                    .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
                    .map(|value| value.parse::<i64>().unwrap())
            };
            let request = PageRequest::new(number("page"), number("pageSize")).unwrap();
            let filter = CompanyFilter {
                query: query.map(|q| parse_query(q).unwrap()),
                tags: tags.map(|t| parse_query(t).unwrap()),
                order: order_by.map(|o| parse_order_by(o).unwrap()),
            };
            let page = app
                .store
                .list_companies(app.client, request, &filter)
                .await
                .unwrap();
            let extra: Vec<(&str, &str)> =
                [("query", query), ("orderBy", order_by), ("tags", tags)]
                    .into_iter()
                    .filter_map(|(name, value)| value.map(|v| (name, v)))
                    .collect();
            let expected = serde_json::to_vec(&Companies::new(
                page.items
                    .iter()
                    .map(|c| Company::from_record(c, &app.base))
                    .collect(),
                "/companies",
                &extra,
                page.request,
                page.total,
            ))
            .unwrap();
            assert!(
                body.as_ref() == expected.as_slice(),
                "{url}:\n  listed:   {}\n  expected: {}",
                String::from_utf8_lossy(&body),
                String::from_utf8_lossy(&expected)
            );
        }
        app
    }

    async fn cache_control_asks_for_a_fresh_listing(app: TestApp) -> TestApp {
        app.create_company("Fresh").await;
        let path = "/companies?pageSize=5";
        let (_, plain) = app.get(path).await;
        for directive in ["no-cache", "no-store", "max-age=0, No-Cache"] {
            let before = app.store.listing_cache_stats();
            let response = app
                .request(reqwest::Method::GET, path)
                .header("Cache-Control", directive)
                .send()
                .await
                .unwrap();
            let (status, body) = common::read(response).await;
            assert_eq!(status, 200);
            assert_eq!(body, plain, "{directive}");
            assert_eq!(
                app.store.listing_cache_stats().map(|stats| stats.hits),
                before.map(|stats| stats.hits),
                "{directive} must not be answered from the cache"
            );
        }
        app
    }
}
