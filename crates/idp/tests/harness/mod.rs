//! An in-process provider and a browser for it: a cookie jar over the router, a settable clock,
//! a citizen with an account and a registered client.

// Test support: each test file uses part of it, and panics are how tests fail.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::missing_panics_doc
)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http_body_util::BodyExt as _;
use llavero_idp::audit::Origin;
use llavero_idp::clients::{Registration, register};
use llavero_idp::registry::Run;
use llavero_idp::seal::MasterKey;
use llavero_idp::{Idp, IdpConfig, IdpState};
use llavero_store::{Person, PersonStatus, Store};
use serde_json::Value;
use tower::ServiceExt as _;

pub const ISSUER: &str = "https://idp.llavero.test";
pub const REDIRECT: &str = "https://rp.example/cb";
pub const LOGOUT_REDIRECT: &str = "https://rp.example/bye";
pub const RUN: &str = "12.345.678-5";
pub const SERIAL: &str = "A123456789";
pub const PASSWORD: &str = "caballo bateria grapa";
pub const START: i64 = 1_800_000_000;

/// A clock tests move.
pub type TestClock = llavero_credentials::time::ManualClock;

pub struct Provider {
    pub idp: IdpState,
    pub router: Router,
    pub clock: Arc<TestClock>,
    pub client_id: String,
    pub client_secret: String,
    /// Keeps the SQLite directory alive.
    dir: Option<tempfile::TempDir>,
}

pub fn person(run: &str, status: PersonStatus, updated: i64) -> Person {
    Person {
        run: i64::from(run.parse::<Run>().unwrap().number()),
        given_names: "María José".into(),
        paternal_surname: "González".into(),
        maternal_surname: "Rojas".into(),
        birth_date: "1990-04-12".into(),
        sex: "F".into(),
        nationality: "CL".into(),
        document_serial: SERIAL.into(),
        status,
        registry_updated_at: updated,
    }
}

impl Provider {
    /// A provider on a fresh SQLite store with the citizen activated and a confidential client.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = llavero_store::testing::sqlite(dir.path()).await.unwrap();
        let master = MasterKey::generate();
        let mut provider = Self::on(store, master, None).await;
        provider.dir = Some(dir);
        provider.seed().await;
        provider
    }

    /// A provider on a fresh SQLite store, its configuration changed by `configure`.
    pub async fn configured(configure: impl FnOnce(&mut IdpConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = llavero_store::testing::sqlite(dir.path()).await.unwrap();
        let mut provider = Self::on_with(store, MasterKey::generate(), None, configure).await;
        provider.dir = Some(dir);
        provider.seed().await;
        provider
    }

    /// A provider on `store` (SQLite or PostgreSQL), its configuration changed by `configure`,
    /// with the citizen activated and a confidential client.
    pub async fn configured_on(store: Store, configure: impl FnOnce(&mut IdpConfig)) -> Self {
        let mut provider = Self::on_with(store, MasterKey::generate(), None, configure).await;
        provider.seed().await;
        provider
    }

    /// A provider instance over an existing store (several may share one database).
    pub async fn on(store: Store, master: MasterKey, client: Option<(String, String)>) -> Self {
        Self::on_with(store, master, client, |_| {}).await
    }

    /// A provider instance over an existing store, its configuration changed by `configure`.
    pub async fn on_with(
        store: Store,
        master: MasterKey,
        client: Option<(String, String)>,
        configure: impl FnOnce(&mut IdpConfig),
    ) -> Self {
        let clock = Arc::new(TestClock::new(START));
        llavero_idp::keys::ensure(&store, &master, START)
            .await
            .unwrap();
        let mut config = IdpConfig::new(ISSUER);
        config.admin_token_hash = Some(llavero_store::hash_secret("admin-token"));
        configure(&mut config);
        let idp = Idp::new(config, store, master, clock.clone()).unwrap();
        let router = llavero_idp::router(Arc::clone(&idp));
        let (client_id, client_secret) = client.unwrap_or_default();
        Self {
            idp,
            router,
            clock,
            client_id,
            client_secret,
            dir: None,
        }
    }

    pub async fn seed(&mut self) {
        let store = &self.idp.store;
        store
            .upsert_people(
                &[
                    person(RUN, PersonStatus::Active, 1),
                    person("11.111.111-1", PersonStatus::Active, 1),
                ],
                START,
            )
            .await
            .unwrap();
        let code = llavero_idp::accounts::issue_activation_code(&self.idp, RUN.parse().unwrap())
            .await
            .unwrap();
        let activated =
            llavero_idp::accounts::activate(&self.idp, RUN, &code.code, SERIAL, PASSWORD, PASSWORD)
                .await
                .unwrap();
        assert!(activated.is_ok());
        let registered = self
            .register(Registration {
                name: "Municipalidad de Prueba".into(),
                redirect_uris: vec![REDIRECT.into()],
                post_logout_redirect_uris: vec![LOGOUT_REDIRECT.into()],
                scopes: vec!["openid run name birthdate".into()],
                token_endpoint_auth_method: None,
                min_acr: None,
                subject_type: None,
                jwks: None,
                id_token_signed_response_alg: None,
                pkce: None,
            })
            .await;
        self.client_id = registered.0;
        self.client_secret = registered.1.unwrap();
    }

    pub async fn register(&self, registration: Registration) -> (String, Option<String>) {
        let r = register(&self.idp, registration, &Origin::default())
            .await
            .unwrap();
        (r.client_id, r.client_secret)
    }

    pub fn browser(&self) -> Browser {
        Browser {
            router: self.router.clone(),
            cookies: HashMap::new(),
        }
    }

    pub fn basic(&self) -> String {
        basic(&self.client_id, &self.client_secret)
    }

    /// POSTs a form to a back-channel endpoint with optional Authorization.
    pub async fn back(&self, path: &str, auth: Option<&str>, form: &[(&str, &str)]) -> Answer {
        let body = encode(form);
        let mut request =
            Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(auth) = auth {
            request = request.header(header::AUTHORIZATION, auth);
        }
        send(&self.router, request.body(Body::from(body)).unwrap()).await
    }

    pub async fn token(&self, code: &str, verifier: &str) -> Answer {
        self.back(
            "/token",
            Some(&self.basic()),
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier),
            ],
        )
        .await
    }

    pub async fn userinfo(&self, access_token: &str) -> Answer {
        let request = Request::get("/userinfo")
            .header(header::AUTHORIZATION, format!("Bearer {access_token}"))
            .body(Body::empty())
            .unwrap();
        send(&self.router, request).await
    }
}

pub fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

pub fn encode(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A PKCE pair.
pub fn pkce() -> (String, String) {
    let verifier = llavero_idp::random::token();
    let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    (verifier, URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    /// The value of a hidden input.
    pub fn hidden(&self, name: &str) -> String {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&needle)
            .unwrap_or_else(|| panic!("no hidden {name} in {}", self.body))
            + needle.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_owned()
    }

    /// Query parameters of the Location.
    pub fn location_params(&self) -> BTreeMap<String, String> {
        let location = self.location();
        let query = location.split_once('?').map_or("", |(_, q)| q);
        form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }
}

pub async fn send(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A browser: follows nothing by itself, keeps cookies.
pub struct Browser {
    pub router: Router,
    pub cookies: HashMap<String, String>,
}

impl Browser {
    /// Moves to another instance of the service, keeping cookies (a load balancer's doing).
    pub fn switch_to(&mut self, router: &Router) {
        self.router = router.clone();
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, answer: &Answer) {
        for value in answer.headers.get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if text.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let path = path.strip_prefix(ISSUER).unwrap_or(path);
        let request = Request::get(path)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        let answer = send(&self.router, request).await;
        self.keep(&answer);
        answer
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let request = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(encode(form)))
            .unwrap();
        let answer = send(&self.router, request).await;
        self.keep(&answer);
        answer
    }

    pub async fn post_json(&mut self, path: &str, body: &Value) -> Answer {
        let request = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        let answer = send(&self.router, request).await;
        self.keep(&answer);
        answer
    }

    /// Starts an authorization request; returns the answer to GET /authorize.
    pub async fn authorize(
        &mut self,
        client_id: &str,
        challenge: &str,
        extra: &[(&str, &str)],
    ) -> Answer {
        let mut params = vec![
            ("client_id", client_id),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid run name birthdate"),
            ("state", "st-1"),
            ("nonce", "n-1"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ];
        for (k, v) in extra {
            params.retain(|(name, _)| name != k);
            if !v.is_empty() {
                params.push((k, v));
            }
        }
        self.get(&format!("/authorize?{}", encode(&params))).await
    }

    /// From a `/login?request=` redirect, logs in with `run` and `password`.
    pub async fn login(&mut self, login_location: &str, run: &str, password: &str) -> Answer {
        let page = self.get(login_location).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let (csrf, request) = (page.hidden("csrf"), page.hidden("request"));
        self.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("run", run),
                ("password", password),
            ],
        )
        .await
    }

    /// From a `/consent?request=` redirect, allows.
    pub async fn consent(&mut self, location: &str) -> Answer {
        let page = self.get(location).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let (csrf, request) = (page.hidden("csrf"), page.hidden("request"));
        self.post(
            "/consent",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("decision", "allow"),
            ],
        )
        .await
    }

    /// A whole first authorization: returns the code and the PKCE verifier.
    pub async fn code(&mut self, provider: &Provider) -> (String, String) {
        let (verifier, challenge) = pkce();
        let start = self.authorize(&provider.client_id, &challenge, &[]).await;
        assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
        let mut answer = start;
        if answer.location().starts_with("/login") {
            answer = self.login(&answer.location(), RUN, PASSWORD).await;
        }
        if answer.location().starts_with("/consent") {
            answer = self.consent(&answer.location()).await;
        }
        let params = answer.location_params();
        assert!(answer.location().starts_with(REDIRECT), "{answer:?}");
        assert_eq!(params.get("state").map(String::as_str), Some("st-1"));
        assert_eq!(params.get("iss").map(String::as_str), Some(ISSUER));
        (params["code"].clone(), verifier)
    }
}
