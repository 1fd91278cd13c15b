//! linkwell's catalogue (`catalogue/integrations.json`) tells clients which data types each
//! platform can read and write; for mqjo it must say exactly what the sandbox accepts.

mod common;

use common::data::*;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const CATALOGUE: &str = include_str!("../../../catalogue/integrations.json");

/// The mqjo resource behind each catalogue data type.
fn mqjo_path(data_type: &str) -> &'static str {
    match data_type {
        "chartOfAccounts" => "accounts",
        "bills" => "bills",
        "billPayments" => "bill-payments",
        "creditNotes" => "credit-notes",
        "customers" => "customers",
        "company" => "company",
        "invoices" => "invoices",
        "items" => "items",
        "journalEntries" => "journal-entries",
        "payments" => "payments",
        "suppliers" => "suppliers",
        "taxRates" => "tax-rates",
        "bankAccounts" => "bank-accounts",
        other => panic!("the catalogue lists {other} for mqjo; map it to a sandbox resource"),
    }
}

#[tokio::test]
async fn mqjo_features_are_what_the_sandbox_accepts() {
    let catalogue: Vec<Value> = serde_json::from_str(CATALOGUE).expect("the catalogue is JSON");
    let mqjo = catalogue
        .iter()
        .find(|integration| integration["key"] == "mqjo")
        .expect("mqjo is in the catalogue");
    let app = spawn().await;
    let token = app.connect("mqjo", "demo-small").await.access;
    let data_types = mqjo["dataTypes"].as_array().expect("dataTypes");
    assert_eq!(data_types.len(), 13, "every mqjo resource is catalogued");
    for support in data_types {
        let data_type = str_of(support, "dataType");
        let features: Vec<&str> = support["features"]
            .as_array()
            .expect("features")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let path = mqjo_path(data_type);
        assert!(features.contains(&"Get"), "{data_type}");
        assert_eq!(
            app.data_get("mqjo", path, &token, &[]).await.status(),
            StatusCode::OK,
            "{data_type}"
        );
        // A write the resource does not take is a 405 before anything else is looked at; one it
        // takes fails later, on the empty body (422) or the unknown id (404).
        let unknown = format!("{path}/unknown");
        for (feature, method, target) in [
            ("Post", Method::POST, path),
            ("Put", Method::PUT, unknown.as_str()),
            ("Delete", Method::DELETE, unknown.as_str()),
        ] {
            let status = app
                .data_send(method, "mqjo", target, &token, Some(json!({})))
                .await
                .status();
            assert_eq!(
                status != StatusCode::METHOD_NOT_ALLOWED,
                features.contains(&feature),
                "{data_type} {feature}: the sandbox answers {status}"
            );
        }
    }
}
