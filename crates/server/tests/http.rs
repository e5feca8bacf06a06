//! The HTTP service in-process (tower `oneshot`), over the demo bundle at a fixed clock.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use llavero_credentials::time::FixedClock;
use llavero_server::config::Config;
use llavero_server::{commands, demo, http};
use serde_json::{Value, json};
use tower::ServiceExt as _;

const NOW: i64 = 1_795_000_000;

struct Service {
    app: axum::Router,
    dir: tempfile::TempDir,
}

fn service() -> Service {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo::ensure(dir.path(), NOW).unwrap();
    let verifier =
        commands::verify::load_verifier(&demo.bundle, &demo.anchor, &Config::default(), NOW)
            .unwrap();
    let app = http::router(http::AppState {
        verifier: Arc::new(verifier),
        clock: Arc::new(FixedClock(NOW)),
    });
    Service { app, dir }
}

impl Service {
    fn sample(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join("demo").join(name))
            .unwrap()
            .trim()
            .to_owned()
    }

    async fn post(&self, path: &str, body: &str) -> (StatusCode, Value) {
        let request = Request::post(path)
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

#[tokio::test]
async fn health_answers() {
    let s = service();
    let response = s
        .app
        .clone()
        .oneshot(Request::get("/health").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn valid_credential_verifies_and_revoked_one_is_a_400_naming_the_reason() {
    let s = service();
    let body = json!({"verifiableCredential": s.sample("birth-certificate.sd-jwt")}).to_string();
    let (status, json) = s.post("/credentials/verify", &body).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["verified"], true);
    assert_eq!(json["credentials"][0]["claims"]["given_name"], "Ana María");
    assert_eq!(json["credentials"][0]["status"]["state"], "valid");

    let body = json!({"verifiableCredential": s.sample("revoked.sd-jwt")}).to_string();
    let (status, json) = s.post("/credentials/verify", &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["errors"][0]["code"], "revoked");
}

#[tokio::test]
async fn enveloped_vc_jwt_verifies() {
    let s = service();
    let id = format!(
        "data:application/vc+jwt,{}",
        s.sample("identity-card.vc-jwt")
    );
    let body =
        json!({"verifiableCredential": {"@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": "EnvelopedVerifiableCredential", "id": id}})
        .to_string();
    let (status, json) = s.post("/credentials/verify", &body).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(
        json["credentials"][0]["credential_type"],
        "IdentityCardCredential"
    );
}

#[tokio::test]
async fn presentation_requires_domain_and_challenge_and_checks_them() {
    let s = service();
    let holder =
        llavero_server::files::read_private_key(&s.dir.path().join("demo/holder.jwk")).unwrap();
    let presented =
        llavero_credentials::sd_jwt::SdJwt::parse(&s.sample("birth-certificate.sd-jwt"))
            .unwrap()
            .select(
                &[llavero_credentials::sd_jwt::ClaimPath::claim("given_name")],
                llavero_credentials::crypto::default_backend(),
            )
            .unwrap()
            .with_key_binding(
                "https://rp.example",
                "abc",
                NOW,
                llavero_credentials::crypto::signer_from_jwk(&holder)
                    .unwrap()
                    .as_ref(),
                llavero_credentials::crypto::default_backend(),
            )
            .unwrap();
    let (status, _) = s
        .post(
            "/presentations/verify",
            &json!({"verifiablePresentation": presented}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let ok = json!({"verifiablePresentation": presented, "options": {"domain": "https://rp.example", "challenge": "abc"}});
    let (status, json) = s.post("/presentations/verify", &ok.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert!(
        json["credentials"][0]["claims"]
            .get("family_name")
            .is_none()
    );
    let replay = json!({"verifiablePresentation": presented, "options": {"domain": "https://rp.example", "challenge": "other"}});
    let (status, json) = s.post("/presentations/verify", &replay.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["errors"][0]["code"], "wrong_nonce");
}

#[tokio::test]
async fn malformed_bodies_and_oversized_requests_are_refused() {
    let s = service();
    let (status, json) = s
        .post(
            "/credentials/verify",
            &json!({"verifiableCredential": "not-a-credential"}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["errors"][0]["code"], "malformed");
    let (status, _) = s.post("/credentials/verify", "{").await;
    assert!(status.is_client_error());
    let bad_url = json!({"verifiableCredential": {"type": "EnvelopedVerifiableCredential", "id": "data:application/vc+cose,xyz"}});
    let (status, json) = s.post("/credentials/verify", &bad_url.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["errors"][0]["code"], "unsupported_format");
    let huge = json!({"verifiableCredential": "a".repeat(300 * 1024)}).to_string();
    let (status, _) = s.post("/credentials/verify", &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// The whole service (verifier, provider, issuer) over a fresh SQLite store, with `issuer`.
async fn whole_service(issuer: &str) -> (axum::Router, tempfile::TempDir) {
    use llavero_credentials::time::Clock;
    let dir = tempfile::tempdir().unwrap();
    let demo = demo::ensure(dir.path(), NOW).unwrap();
    let verifier =
        commands::verify::load_verifier(&demo.bundle, &demo.anchor, &Config::default(), NOW)
            .unwrap();
    let config = Config {
        data_dir: dir.path().to_owned(),
        issuer: Some(issuer.into()),
        ..Config::default()
    };
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(NOW));
    let store = llavero_server::identity::open_store(&config).await.unwrap();
    let (idp, issuer) = llavero_server::issuance::with_provider(&config, store, Arc::clone(&clock))
        .await
        .unwrap();
    let state = http::AppState {
        verifier: Arc::new(verifier),
        clock,
    };
    (http::app(state, idp, issuer), dir)
}

/// Requests answered with JSON, a page and errors by each part of the service.
fn sample_requests() -> Vec<Request<Body>> {
    let form = "application/x-www-form-urlencoded";
    vec![
        Request::get("/health").body(Body::empty()).unwrap(),
        Request::get("/.well-known/openid-configuration")
            .body(Body::empty())
            .unwrap(),
        Request::get("/no/such/path")
            .header("accept", "application/json")
            .body(Body::empty())
            .unwrap(),
        Request::get("/login").body(Body::empty()).unwrap(),
        Request::post("/token")
            .header("content-type", form)
            .body(Body::from("grant_type=client_credentials"))
            .unwrap(),
        Request::post("/agency/token")
            .header("content-type", form)
            .body(Body::from("grant_type=client_credentials"))
            .unwrap(),
        Request::post("/credentials/verify")
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap(),
    ]
}

#[tokio::test]
async fn every_response_is_nosniff_and_https_deployments_send_hsts() {
    let (app, _dir) = whole_service("https://auth.llavero.test").await;
    for request in sample_requests() {
        let what = format!("{} {}", request.method(), request.uri());
        let response = app.clone().oneshot(request).await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
        assert_eq!(headers["strict-transport-security"], http::HSTS, "{what}");
    }
    let (app, _dir) = whole_service("http://127.0.0.1:18300").await;
    for request in sample_requests() {
        let what = format!("{} {}", request.method(), request.uri());
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{what}"
        );
        assert!(
            response
                .headers()
                .get("strict-transport-security")
                .is_none(),
            "no HSTS over plain HTTP: {what}"
        );
    }
}
