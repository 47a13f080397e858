//! `GET /v1/openapi.json` is public, covers every route, and passes an independent
//! OpenAPI 3.1 validator (openapi-spec-validator, installed by `tests/run`).

use std::process::Command;

use lambda_http::http::StatusCode;
use latchkey_store::testing;
use latchkey_tests::Harness;
use latchkey_web::ROUTES;
use serde_json::Value;

const VALIDATOR_VAR: &str = "LATCHKEY_TEST_OPENAPI_VALIDATOR";

fn validate(document: &Value) -> Result<(), String> {
    let validator = std::env::var(VALIDATOR_VAR)
        .unwrap_or_else(|_| panic!("{VALIDATOR_VAR} is not set: run the suite with `tests/run`"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, document.to_string()).unwrap();
    let out = Command::new(validator)
        .arg(&path)
        .output()
        .expect("run openapi-spec-validator");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[tokio::test]
async fn the_openapi_document_is_valid_and_covers_every_route() {
    let h = Harness::new(testing::sqlite_table().await).await;
    let (status, document) = h.call("GET", "/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["openapi"], "3.1.0");
    for route in ROUTES.iter().filter(|r| r.path.starts_with("/v1/")) {
        // OpenAPI has no greedy `{path+}` and no ANY: the proxy is described per method.
        let path = route.path.replace("+}", "}");
        let methods = match route.method {
            "ANY" => vec!["get", "post", "put", "patch", "delete"],
            method => vec![method],
        };
        for method in methods {
            let op = &document["paths"][path.as_str()][method.to_ascii_lowercase()];
            assert!(op.is_object(), "{method} {path} is not described");
        }
    }
    validate(&document).unwrap();

    // The validator is not a rubber stamp: a document with a dangling reference fails.
    let mut broken = document.clone();
    broken["components"]["schemas"]
        .as_object_mut()
        .unwrap()
        .remove("Consumer");
    assert!(validate(&broken).is_err());
}
