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
