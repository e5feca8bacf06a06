//! An in-process identity provider and issuer over one store, a settable clock, a citizen in
//! the registry, demo agencies with API clients, and a wallet: holder keys and proofs.

// Test support: each test file uses part of it, and panics are how tests fail.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::missing_panics_doc
)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http_body_util::BodyExt as _;
use llavero_credentials::crypto::{DangerousSeededRandom, signer_from_jwk};
use llavero_credentials::jwk::PrivateJwk;
use llavero_credentials::time::Clock;
use llavero_idp::registry::Run;
use llavero_idp::seal::MasterKey;
use llavero_idp::{Idp, IdpConfig};
use llavero_issuer::token::PreAuthorizedGrant;
use llavero_issuer::types::Catalog;
use llavero_issuer::{Issuer, IssuerConfig, IssuerState};
use llavero_store::{Person, PersonStatus, Store};
use llavero_verifier::bundle::{BundledStatusList, OfflineBundle};
use llavero_verifier::trust_list::TrustListClaims;
use llavero_verifier::{Verifier, VerifierOptions};
use serde_json::{Value, json};
use tower::ServiceExt as _;

pub const BASE: &str = "https://llavero.test";
pub const RUN: &str = "12.345.678-5";
pub const OTHER_RUN: &str = "11.111.111-1";
pub const START: i64 = 1_800_000_000;
pub const REGISTRO: &str = "registro-civil";
pub const TRANSITO: &str = "transito";

/// A clock tests move.
pub type TestClock = llavero_credentials::time::ManualClock;

pub struct Service {
    pub idp: llavero_idp::IdpState,
    pub issuer: IssuerState,
    pub router: Router,
    pub clock: Arc<TestClock>,
    /// `(client_id, secret)` per agency.
    pub clients: Vec<(String, String, String)>,
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
        document_serial: "A123456789".into(),
        status,
        registry_updated_at: updated,
    }
}

pub struct Response {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
}

impl Service {
    /// On a fresh SQLite store.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = llavero_store::testing::sqlite(dir.path()).await.unwrap();
        let mut service = Self::on(store, MasterKey::generate(), IssuerConfig::default()).await;
        service.seed().await;
        service.dir = Some(dir);
        service
    }

    /// On a fresh PostgreSQL schema.
    pub async fn postgres() -> Self {
        let store = llavero_store::testing::postgres().await.unwrap();
        let mut service = Self::on(store, MasterKey::generate(), IssuerConfig::default()).await;
        service.seed().await;
        service
    }

    pub async fn on(store: Store, master: MasterKey, config: IssuerConfig) -> Self {
        let clock = Arc::new(TestClock::new(START));
        llavero_idp::keys::ensure(&store, &master, START)
            .await
            .unwrap();
        let idp_config = IdpConfig::new(BASE);
        let platform =
            llavero_idp::audit::platform(&idp_config, store, Arc::new(master), clock.clone());
        let issuer = Issuer::new(config, platform.clone(), Catalog::builtin().unwrap());
        let grant = Arc::new(PreAuthorizedGrant(Arc::clone(&issuer)));
        let idp = Idp::on(&platform, idp_config, Some(grant)).unwrap();
        let router = llavero_issuer::router(Arc::clone(&issuer))
            .merge(llavero_idp::router(Arc::clone(&idp)));
        Self {
            idp,
            issuer,
            router,
            clock,
            clients: Vec::new(),
            dir: None,
        }
    }

    async fn seed(&mut self) {
        self.idp
            .store
            .upsert_people(
                &[
                    person(RUN, PersonStatus::Active, 1),
                    person(OTHER_RUN, PersonStatus::Active, 1),
                ],
                START,
            )
            .await
            .unwrap();
        for (id, types) in [
            (
                REGISTRO,
                vec!["birth-certificate", "identity-card", "criminal-record"],
            ),
            (TRANSITO, vec!["driving-licence"]),
        ] {
            let types: Vec<String> = types.into_iter().map(str::to_owned).collect();
            llavero_issuer::agencies::add(&self.issuer, id, id, &types)
                .await
                .unwrap();
            let (client, secret) = llavero_issuer::agencies::add_client(&self.issuer, id)
                .await
                .unwrap();
            self.clients.push((id.to_owned(), client, secret));
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub async fn send(&self, request: Request<Body>) -> Response {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Response {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    pub async fn post_json(&self, path: &str, bearer: Option<&str>, body: &Value) -> Response {
        let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(request.body(Body::from(body.to_string())).unwrap())
            .await
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    /// An agency API token.
    pub async fn agency_token(&self, agency: &str) -> String {
        let (_, client, secret) = self.clients.iter().find(|(a, _, _)| a == agency).unwrap();
        let basic = STANDARD.encode(format!("{client}:{secret}"));
        let response = self
            .send(
                Request::post("/agency/token")
                    .header(header::AUTHORIZATION, format!("Basic {basic}"))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from("grant_type=client_credentials"))
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        response.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// An identity provider access token of the citizen `RUN` (with an account) for a wallet
    /// client, as the authorization code flow leaves it: `scope` granted at `acr`.
    pub async fn idp_access_token(&self, scope: &str, acr: &str) -> String {
        use llavero_store::{AuthorizationRequest, IssuedCode, NewGrant, hash_secret};
        let store = &self.idp.store;
        let run = i64::from(RUN.parse::<Run>().unwrap().number());
        let account = if let Some(account) = store.account_by_run(run).await.unwrap() {
            account
        } else {
            let code = llavero_store::ActivationCode {
                run,
                code_hash: hash_secret("activation"),
                expires_at: self.now() + 60,
            };
            store.put_activation_code(&code, self.now()).await.unwrap();
            store
                .activate_account(&code, "account-1", "$argon2id$unused", self.now())
                .await
                .unwrap()
                .unwrap()
        };
        let client = llavero_idp::clients::register(
            &self.idp,
            llavero_idp::clients::Registration {
                name: "Billetera".into(),
                redirect_uris: vec!["https://wallet.example/cb".into()],
                scopes: vec![scope.replace("openid_credential:", "")],
                token_endpoint_auth_method: Some("none".into()),
                ..Default::default()
            },
            &llavero_idp::audit::Origin::default(),
        )
        .await
        .unwrap();
        let id = llavero_idp::random::id();
        let request = AuthorizationRequest {
            id: id.clone(),
            client_id: client.client_id.clone(),
            params: json!({}),
            pushed: false,
            expires_at: self.now() + 60,
        };
        store
            .put_authorization_request(&request, self.now())
            .await
            .unwrap();
        let grant = NewGrant {
            id: llavero_idp::random::id(),
            account_id: account.id,
            client_id: client.client_id,
            session_handle: "session".into(),
            scope: scope.into(),
            auth_time: self.now(),
            acr: acr.into(),
            amr: vec!["pwd".into(), "hwk".into(), "mfa".into()],
        };
        let issued = IssuedCode {
            grant: grant.clone(),
            redirect_uri: "https://wallet.example/cb".into(),
            code_challenge: Some("unused".into()),
            nonce: None,
            expires_at: self.now() + 60,
        };
        let code = llavero_idp::random::token();
        assert!(
            store
                .issue_code(&id, &grant, &hash_secret(&code), &issued, self.now())
                .await
                .unwrap()
        );
        let access = llavero_idp::random::token();
        store
            .store_tokens(
                &grant.id,
                (&hash_secret(&access), self.now() + 600),
                (
                    &hash_secret(&llavero_idp::random::token()),
                    self.now() + 600,
                ),
            )
            .await
            .unwrap();
        access
    }

    /// A GET with a fresh token of `agency`, as JSON.
    pub async fn get_with_agency_token(&self, agency: &str, path: &str) -> Value {
        let token = self.agency_token(agency).await;
        let response = self
            .send(
                Request::get(path)
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        response.json()
    }

    /// An offer created through the agency API.
    pub async fn offer(&self, agency: &str, request: &Value) -> Response {
        let token = self.agency_token(agency).await;
        self.post_json(&format!("/{agency}/api/offers"), Some(&token), request)
            .await
    }

    /// The pre-authorized code of an offer response.
    pub fn code_of(offer: &Value) -> String {
        offer["credential_offer"]["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
            ["pre-authorized_code"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Redeems a pre-authorized code.
    pub async fn redeem(&self, code: &str, tx_code: Option<&str>) -> Response {
        let mut form = vec![
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            ),
            ("pre-authorized_code", code),
        ];
        if let Some(tx) = tx_code {
            form.push(("tx_code", tx));
        }
        self.post_form("/token", &form).await
    }

    /// A fresh nonce from an agency.
    pub async fn nonce(&self, agency: &str) -> String {
        let response = self
            .post_json(&format!("/{agency}/nonce"), None, &json!({}))
            .await;
        assert_eq!(response.status, StatusCode::OK);
        response.json()["c_nonce"].as_str().unwrap().to_owned()
    }

    /// Offer → token, for a birth certificate in both formats.
    pub async fn access_token(&self) -> String {
        let offer = self
            .offer(
                REGISTRO,
                &json!({"run": RUN, "credential_configuration_ids": ["birth-certificate_sd-jwt", "birth-certificate_vc-jwt"],
                        "claims": {"birth-certificate": {"birth_place": "Valparaíso"}}}),
            )
            .await
            .json();
        let token = self
            .redeem(&Self::code_of(&offer), offer["tx_code"].as_str())
            .await;
        assert_eq!(token.status, StatusCode::OK, "{}", token.text());
        token.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// A credential request with one proof per key.
    pub async fn request_credentials(
        &self,
        agency: &str,
        token: &str,
        configuration: &str,
        keys: &[PrivateJwk],
        nonce: &str,
    ) -> Response {
        let proofs: Vec<String> = keys
            .iter()
            .map(|k| proof(k, &format!("{BASE}/{agency}"), nonce, self.now()))
            .collect();
        self.post_json(
            &format!("/{agency}/credential"),
            Some(token),
            &json!({"credential_configuration_id": configuration, "proofs": {"jwt": proofs}}),
        )
        .await
    }

    /// A credential request with a fresh nonce, one proof per key.
    pub async fn request_fresh(
        &self,
        agency: &str,
        token: &str,
        configuration: &str,
        keys: &[PrivateJwk],
    ) -> Response {
        let nonce = self.nonce(agency).await;
        self.request_credentials(agency, token, configuration, keys, &nonce)
            .await
    }

    /// One credential of `configuration` from `agency` for a fresh nonce, bound to `key`.
    pub async fn issue_one(
        &self,
        agency: &str,
        token: &str,
        configuration: &str,
        key: &PrivateJwk,
    ) -> String {
        let nonce = self.nonce(agency).await;
        let response = self
            .request_credentials(
                agency,
                token,
                configuration,
                std::slice::from_ref(key),
                &nonce,
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        response.json()["credentials"][0]["credential"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A verifier loaded from a bundle built now: the agencies' trust list and every list.
    pub async fn verifier(&self) -> Verifier {
        let anchor = holder_key(9999);
        let issuers = llavero_issuer::agencies::trusted_issuers(&self.issuer)
            .await
            .unwrap();
        let trust_list = TrustListClaims {
            iss: "https://trust.llavero.test".into(),
            iat: self.now(),
            exp: Some(self.now() + 86_400),
            sequence: 1,
            issuers,
        }
        .sign(signer_from_jwk(&anchor).unwrap().as_ref())
        .unwrap();
        let lists = llavero_issuer::status::publish_all(&self.issuer)
            .await
            .unwrap();
        let bundle = OfflineBundle {
            version: 1,
            built_at: self.now(),
            trust_list,
            status_lists: lists
                .into_iter()
                .map(|l| BundledStatusList {
                    uri: l.uri,
                    token: l.token,
                    fetched_at: self.now(),
                })
                .collect(),
        };
        Verifier::from_bundle(
            &serde_json::to_string(&bundle).unwrap(),
            &[anchor.public()],
            self.now(),
            VerifierOptions::default(),
        )
        .unwrap()
    }
}

/// A deterministic holder key.
pub fn holder_key(seed: u64) -> PrivateJwk {
    PrivateJwk::generate_p256(&DangerousSeededRandom::new(seed), None).unwrap()
}

/// A proof JWT for `audience` and `nonce`.
pub fn proof(key: &PrivateJwk, audience: &str, nonce: &str, iat: i64) -> String {
    llavero_holder::proof::proof_jwt(
        signer_from_jwk(key).unwrap().as_ref(),
        audience,
        Some(nonce),
        iat,
        None,
    )
    .unwrap()
}
