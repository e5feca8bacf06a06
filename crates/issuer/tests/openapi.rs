//! The issuer service's `OpenAPI` document: version 3.1, one path per route (and the
//! identity provider's `/token`, where the pre-authorized code grant is redeemed), errors
//! declared for every operation, every reference resolving, and served as it is in the tree.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod harness;

use std::collections::BTreeSet;

use axum::http::{StatusCode, header};
use harness::Service;
use serde_json::Value;

const SOURCE: &str = include_str!("../../../specs/openapi/issuer.yaml");

/// Every route of `llavero_issuer::router` but the document's own, plus `/token`.
const ROUTES: &[&str] = &[
    "/.well-known/openid-credential-issuer/{agency}",
    "/{agency}/.well-known/openid-credential-issuer",
    "/.well-known/jwt-vc-issuer/{agency}",
    "/{agency}/did.json",
    "/{agency}/nonce",
    "/{agency}/credential",
    "/{agency}/deferred-credential",
    "/{agency}/notification",
    "/{agency}/offers/{id}",
    "/{agency}/offers/{id}/qr.svg",
    "/{agency}/offers/{id}/qr.png",
    "/{agency}/status/{n}",
    "/{agency}/status/{n}/{purpose}",
    "/agency/token",
    "/{agency}/api/offers",
    "/{agency}/api/credentials",
    "/{agency}/api/credentials/{id}/{action}",
    "/{agency}/api/deferred",
    "/{agency}/api/deferred/{id}/approve",
    "/token",
];

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];

fn document() -> Value {
    serde_yaml::from_str(SOURCE).unwrap()
}

/// The target of a local `$ref`.
fn resolve<'a>(document: &'a Value, reference: &str) -> Option<&'a Value> {
    document.pointer(reference.strip_prefix('#')?)
}

fn deref<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => resolve(document, reference).unwrap(),
        None => value,
    }
}

fn operations(document: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        // A path item may be a `$ref` to another (one operation served at two paths).
        for (method, operation) in deref(document, item).as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                out.push((path.clone(), method.clone(), operation));
            }
        }
    }
    out
}

fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                out.push(reference);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn it_is_openapi_3_1() {
    let document = document();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1."),
        "{:?}",
        document["openapi"]
    );
    assert!(document["info"]["title"].is_string());
    assert!(document["info"]["version"].is_string());
}

#[test]
fn its_paths_are_the_routes() {
    let document = document();
    let documented: BTreeSet<&str> = document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let routes: BTreeSet<&str> = ROUTES.iter().copied().collect();
    assert_eq!(documented, routes);
}

#[test]
fn every_operation_declares_its_errors_and_path_parameters() {
    let document = document();
    let operations = operations(&document);
    assert!(operations.len() >= ROUTES.len());
    for (path, method, operation) in operations {
        let responses = operation["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|status| status.starts_with('4')),
            "{method} {path} declares no 4xx response"
        );
        let declared: BTreeSet<&str> = operation["parameters"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|p| deref(&document, p))
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let templated: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        assert_eq!(declared, templated, "{method} {path}: path parameters");
    }
}

#[test]
fn every_reference_resolves() {
    let document = document();
    let mut found = Vec::new();
    refs(&document, &mut found);
    assert!(!found.is_empty());
    for reference in found {
        assert!(
            resolve(&document, reference).is_some(),
            "{reference} does not resolve"
        );
    }
}

#[tokio::test]
async fn it_is_served() {
    let service = Service::sqlite().await;
    let response = service.get("/openapi/issuer.yaml").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.headers[header::CONTENT_TYPE], "application/yaml");
    assert_eq!(response.text(), SOURCE);
    assert_eq!(llavero_issuer::openapi::DOCUMENT, SOURCE);
}

/// Whether the document declares `status` for `method path`.
fn declares(document: &Value, path: &str, method: &str, status: StatusCode) -> bool {
    let item = deref(document, &document["paths"][path]);
    item[method]["responses"]
        .get(status.as_str())
        .is_some_and(|response| !deref(document, response).is_null())
}

#[tokio::test]
async fn every_answer_of_the_token_endpoint_is_declared() {
    let document = document();
    let service = Service::sqlite().await;
    let grant = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
    let mut seen = BTreeSet::new();
    let mut answer = |status: StatusCode, what: &str| {
        assert!(
            declares(&document, "/token", "post", status),
            "POST /token answers {status} ({what}) but the document does not declare it"
        );
        seen.insert(status);
    };
    let unknown = service
        .post_form(
            "/token",
            &[("grant_type", grant), ("pre-authorized_code", "x")],
        )
        .await;
    answer(unknown.status, "unknown code");
    let no_grant = service
        .post_form("/token", &[("pre-authorized_code", "x")])
        .await;
    answer(no_grant.status, "no grant_type");
    let repeated = [("grant_type", grant), ("grant_type", grant)];
    let limit = service.idp.config.client_rate_per_minute;
    // Two requests counted above; the rest of the minute's budget goes on repeated parameters.
    for _ in 2..limit {
        let refused = service.post_form("/token", &repeated).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    }
    let limited = service.post_form("/token", &repeated).await;
    answer(limited.status, "past the rate limit");
    assert_eq!(
        seen,
        BTreeSet::from([
            StatusCode::BAD_REQUEST,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ])
    );
}

#[tokio::test]
async fn the_offer_schema_refuses_every_run_the_server_refuses_for_its_form() {
    let document = document();
    let schema = document["components"]["schemas"]["OfferRequest"].clone();
    let schema = jsonschema::validator_for(&serde_json::to_value(schema).unwrap()).unwrap();
    let service = Service::sqlite().await;
    let token = service.agency_token(harness::REGISTRO).await;
    // The check digit is beyond a pattern: every case here has a right one or none.
    for (run, well_formed) in [
        ("", false),
        ("   ", false),
        ("12.345.678", false),
        ("12345678-", false),
        ("-5", false),
        ("1.2345.678-5", false),
        ("12 345 678-5", false),
        ("12.345.678-55", false),
        ("1.234.567.890-1", false),
        ("12.345.678-5", true),
        ("12345678-5", true),
        (" 12.345.678-5 ", true),
    ] {
        let body = serde_json::json!({"run": run, "credential_configuration_ids": ["birth-certificate_sd-jwt"]});
        assert_eq!(schema.is_valid(&body), well_formed, "schema on {run:?}");
        let response = service
            .post_json(
                &format!("/{}/api/offers", harness::REGISTRO),
                Some(&token),
                &body,
            )
            .await;
        let refused_run = response.status == StatusCode::BAD_REQUEST
            && response.json()["error_description"]
                .as_str()
                .is_some_and(|d| d.starts_with("run:"));
        assert_eq!(
            !refused_run,
            well_formed,
            "server on {run:?}: {} {}",
            response.status,
            response.text()
        );
    }
}
