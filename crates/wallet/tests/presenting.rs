//! Presenting to Llavero's presentation service (OpenID4VP 1.0 verifier, HAIP): a relying
//! party creates a transaction through its API, the citizen's wallet opens the request on the
//! same device or from a pasted link, shows what is asked, the citizen consents and confirms,
//! the wallet answers by `direct_post.jwt` or `direct_post`, and the relying party reads the
//! verified claims. Then the attacks: a tampered request, a certificate outside the trusted
//! roots, another citizen's or another login's pending request, a replayed confirmation, a
//! revoked credential, a verifier asking beyond its registration.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use llavero_presentations::PresentationsState;
use llavero_presentations::registration::Registration;
use llavero_wallet::WalletConfig;
use llavero_wallet::fetch::UrlPolicy;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::harness::{BASE, OTHER_RUN, REGISTRO, RUN, Service};
use crate::support::{Page, RouterFetch, World};

const RETURN: &str = "https://farmacia.test/done";

struct Rp {
    world: World,
    verifier: PresentationsState,
    /// The relying party's API client.
    client: (String, String),
}

async fn call(
    router: &Router,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<(&str, String)>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = match body {
        Some((content_type, body)) => request
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body)),
        None => request.body(Body::empty()),
    }
    .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())),
    )
}

/// The issuer and provider of the harness, Llavero's presentation service beside them with a
/// registered pharmacy, and a wallet trusting the service's authority as configured.
async fn rp_with(configure: impl FnOnce(&mut WalletConfig, &PresentationsState)) -> Rp {
    let service = Service::sqlite().await;
    let verifier = llavero_server::presentations::build(
        &llavero_server::config::Config::default(),
        &service.issuer,
    )
    .await
    .unwrap();
    let mut registration =
        Registration::from_presets(&["name-and-run".into(), "age-over-18".into()]).unwrap();
    registration.redirect_uris = vec![RETURN.into()];
    registration
        .credentials
        .push(llavero_presentations::registration::Allowed {
            format: "jwt_vc_json".into(),
            types: vec!["IdentityCardCredential".into()],
            claims: vec![llavero_credentials::sd_jwt::ClaimPath::claim(
                "credentialSubject",
            )],
        });
    llavero_presentations::parties::add(
        &verifier,
        "farmacia",
        "Farmacia Central",
        Some("farmacia.test"),
        &registration,
    )
    .await
    .unwrap();
    let (client, secret) = llavero_presentations::parties::add_client(&verifier, "farmacia")
        .await
        .unwrap();
    let router = service
        .router
        .clone()
        .merge(llavero_presentations::router(Arc::clone(&verifier)));
    let fetch = Arc::new(RouterFetch {
        router: router.clone(),
        oversized: std::sync::Mutex::new(None),
    });
    let mut config = WalletConfig::new(BASE);
    config.urls = UrlPolicy {
        dangerous_allow_http: false,
    };
    config.trusted_roots = vec![verifier.authority.certificate().to_vec()];
    config.relying_party_lists = vec![format!("{BASE}/verifier/relying-parties.jwt")];
    configure(&mut config, &verifier);
    let wallet = llavero_server::wallet::build_with(&service.idp, config, fetch.clone());
    let app = llavero_wallet::router(Arc::clone(&wallet));
    Rp {
        world: World {
            service,
            wallet,
            fetch,
            app,
        },
        verifier,
        client: (client, secret),
    }
}

async fn rp() -> Rp {
    rp_with(|_, _| {}).await
}

impl Rp {
    /// A fresh relying-party API token (client credentials).
    async fn token(&self) -> String {
        let (client, secret) = &self.client;
        let (status, token) = call(
            &self.world.fetch.router,
            "POST",
            "/verifier/token",
            None,
            Some((
                "application/x-www-form-urlencoded",
                format!("grant_type=client_credentials&client_id={client}&client_secret={secret}"),
            )),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{token}");
        token["access_token"].as_str().unwrap().to_owned()
    }

    /// The citizen `run`, signed in, holding an identity card from the Registro Civil.
    async fn citizen(&self, run: &str) -> String {
        let cookie = self.world.sign_in(run).await;
        let offer = self
            .world
            .service
            .offer(
                REGISTRO,
                &json!({"run": run, "credential_configuration_ids": ["identity-card_sd-jwt"],
                    "claims": {"identity-card": {"document_expiry": "2031-01-01",
                        "age_equal_or_over": {"18": true, "65": false}}}}),
            )
            .await;
        assert!(offer.status.is_success(), "{}", offer.text());
        let done = self.world.receive(&cookie, &offer.json()).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        cookie
    }

    async fn transaction(&self, request: &Value) -> Value {
        let (status, created) = call(
            &self.world.fetch.router,
            "POST",
            "/verifier/api/transactions",
            Some(&self.token().await),
            Some(("application/json", request.to_string())),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created
    }

    async fn result(&self, id: &str, response_code: Option<&str>) -> Value {
        let path = match response_code {
            Some(code) => format!("/verifier/api/transactions/{id}?response_code={code}"),
            None => format!("/verifier/api/transactions/{id}"),
        };
        let token = self.token().await;
        let (status, result) =
            call(&self.world.fetch.router, "GET", &path, Some(&token), None).await;
        assert_eq!(status, StatusCode::OK, "{result}");
        result
    }

    /// Opens a request link in the wallet: same device (the relying party's redirect to
    /// `/wallet/authorize`) or cross device (pasted on the home page). Returns the answer.
    async fn open(&self, cookie: &str, link: &str, same_device: bool) -> Page {
        if same_device {
            let query = link.split_once('?').unwrap().1;
            self.world
                .get(cookie, &format!("/wallet/authorize?{query}"))
                .await
        } else {
            let home = self.world.get(cookie, "/wallet").await;
            self.world
                .post(
                    cookie,
                    "/wallet/authorize",
                    &[("csrf", &home.csrf()), ("request", link)],
                )
                .await
        }
    }

    /// Opens, checks the consent page, shares. Returns the consent page and the answer.
    async fn share(&self, cookie: &str, link: &str, same_device: bool) -> (Page, Page) {
        let opened = self.open(cookie, link, same_device).await;
        assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
        let path = opened.location.unwrap();
        let page = self.world.get(cookie, &path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let shared = self
            .world
            .post(cookie, &format!("{path}/share"), &[("csrf", &page.csrf())])
            .await;
        (page, shared)
    }
}

#[tokio::test]
async fn the_wallet_answers_llaveros_verifier_every_way() {
    let rp = rp().await;
    let cookie = rp.citizen(RUN).await;
    for (mode, same_device, method) in [
        ("direct_post.jwt", true, "get"),
        ("direct_post.jwt", false, "post"),
        ("direct_post", true, "post"),
        ("direct_post", false, "get"),
    ] {
        let mut request = json!({"preset": "name-and-run", "response_mode": mode,
            "request_uri_method": method});
        if same_device {
            request["redirect_uri"] = json!(RETURN);
        }
        let created = rp.transaction(&request).await;
        let link = created["authorization_request"].as_str().unwrap();
        let (page, shared) = rp.share(&cookie, link, same_device).await;
        // Who asks (registered name), what (labels of the type metadata), from what.
        for shown in [
            "Farmacia Central",
            "Nombres",
            "Apellidos",
            "RUN",
            "Cédula de identidad",
        ] {
            assert!(page.body.contains(shown), "{shown}: {}", page.body);
        }
        assert!(!page.body.contains("given_name"), "labels, not paths");
        assert_eq!(
            shared.status,
            StatusCode::SEE_OTHER,
            "{mode}: {}",
            shared.body
        );
        let location = shared.location.unwrap();
        let id = created["transaction_id"].as_str().unwrap();
        let result = if same_device {
            let code = location
                .strip_prefix(&format!("{RETURN}?response_code="))
                .unwrap_or_else(|| panic!("{location}"));
            rp.result(id, Some(code)).await
        } else {
            assert_eq!(location, "/wallet?notice=shared_notice");
            rp.result(id, None).await
        };
        assert_eq!(result["status"], "verified", "{mode} {method}: {result}");
        let claims = &result["credentials"]["identity_card"][0]["claims"];
        assert_eq!(claims["given_name"], "María José", "{result}");
        assert_eq!(claims["run"], RUN, "{result}");
        assert!(
            claims.get("document_number").is_none(),
            "only what was asked"
        );
        assert_eq!(
            result["credentials"]["identity_card"][0]["holder_binding"],
            true
        );
    }
    // Each presentation is in the citizen's history: to whom and which claims, no values.
    let account = rp
        .world
        .wallet
        .sessions
        .signed_in(&crate::receiving::cookie_headers(&cookie))
        .await
        .unwrap()
        .unwrap();
    let history = rp
        .world
        .service
        .idp
        .store
        .audit_of_account(&account.account_id, 50)
        .await
        .unwrap();
    let presented: Vec<_> = history
        .iter()
        .filter(|e| e.kind == "wallet.presented")
        .collect();
    assert_eq!(presented.len(), 4);
    let text = presented[0].detail.to_string();
    assert!(
        text.contains("given_name") && text.contains("Farmacia Central"),
        "{text}"
    );
    assert!(
        !text.contains("María"),
        "no claim values in the history: {text}"
    );
}

#[tokio::test]
async fn the_citizen_leaves_out_an_optional_claim() {
    let rp = rp().await;
    let cookie = rp.citizen(RUN).await;
    // The RUN is wanted, but the relying party can do without it (a second claim set).
    let query = json!({"credentials": [{
        "id": "identity_card", "format": "dc+sd-jwt",
        "meta": {"vct_values": ["https://llavero.cl/vct/identity-card"]},
        "claims": [{"id": "a", "path": ["given_name"]}, {"id": "b", "path": ["family_name"]},
                   {"id": "c", "path": ["run"]}],
        "claim_sets": [["a", "b", "c"], ["a", "b"]]
    }]});
    let created = rp
        .transaction(&json!({"dcql_query": query, "response_mode": "direct_post.jwt"}))
        .await;
    let opened = rp
        .open(
            &cookie,
            created["authorization_request"].as_str().unwrap(),
            false,
        )
        .await;
    let path = opened.location.unwrap();
    let page = rp.world.get(&cookie, &format!("{path}?lang=en")).await;
    assert!(
        page.body.contains("name=\"keep\" value=\"0:c\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("Optional"), "{}", page.body);
    // Unticked: only the csrf goes.
    let shared = rp
        .world
        .post(&cookie, &format!("{path}/share"), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(shared.status, StatusCode::SEE_OTHER, "{}", shared.body);
    let result = rp
        .result(created["transaction_id"].as_str().unwrap(), None)
        .await;
    assert_eq!(result["status"], "verified", "{result}");
    let claims = &result["credentials"]["identity_card"][0]["claims"];
    assert_eq!(claims["given_name"], "María José", "{result}");
    assert!(claims.get("family_name").is_some(), "{result}");
    assert!(claims.get("run").is_none(), "left out: {result}");
}

#[tokio::test]
async fn a_vc_jwt_goes_whole_in_a_vp_jwt() {
    let rp = rp().await;
    let cookie = rp.world.sign_in(RUN).await;
    let offer = rp
        .world
        .service
        .offer(
            REGISTRO,
            &json!({"run": RUN, "credential_configuration_ids": ["identity-card_vc-jwt"],
                "claims": {"identity-card": {"document_expiry": "2031-01-01",
                    "age_equal_or_over": {"18": true, "65": false}}}}),
        )
        .await;
    assert!(offer.status.is_success(), "{}", offer.text());
    let done = rp.world.receive(&cookie, &offer.json()).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let query = json!({"credentials": [{
        "id": "card", "format": "jwt_vc_json",
        "meta": {"type_values": [["VerifiableCredential", "IdentityCardCredential"]]},
        "claims": [{"path": ["credentialSubject", "given_name"]}]
    }]});
    let created = rp.transaction(&json!({"dcql_query": query})).await;
    let (page, shared) = rp
        .share(
            &cookie,
            created["authorization_request"].as_str().unwrap(),
            false,
        )
        .await;
    assert!(page.body.contains("se comparte completo"), "{}", page.body);
    assert_eq!(shared.status, StatusCode::SEE_OTHER, "{}", shared.body);
    let result = rp
        .result(created["transaction_id"].as_str().unwrap(), None)
        .await;
    assert_eq!(result["status"], "verified", "{result}");
}

#[tokio::test]
async fn a_tampered_request_object_is_refused() {
    let rp = rp().await;
    let created = rp.transaction(&json!({"preset": "age-over-18"})).await;
    let (status, jwt) = call(
        &rp.world.fetch.router,
        "GET",
        created["request_uri"]
            .as_str()
            .unwrap()
            .strip_prefix(BASE)
            .unwrap(),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let jwt = jwt.as_str().unwrap();
    let client_id = created["client_id"].as_str().unwrap();
    // As served, it verifies.
    assert!(
        llavero_wallet::present::request::verify_signed(&rp.world.wallet, client_id, jwt, None)
            .is_ok()
    );
    // Another payload under the same signature.
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    let mut payload: Value =
        serde_json::from_slice(&llavero_credentials::b64::decode(&parts[1]).unwrap()).unwrap();
    payload["response_uri"] = json!("https://evil.example/collect");
    parts[1] = llavero_credentials::b64::encode(payload.to_string());
    let err = llavero_wallet::present::request::verify_signed(
        &rp.world.wallet,
        client_id,
        &parts.join("."),
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("signature"), "{err}");
    // A client identifier that names another certificate.
    let err = llavero_wallet::present::request::verify_signed(
        &rp.world.wallet,
        "x509_hash:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        jwt,
        None,
    )
    .unwrap_err();
    assert!(err.to_string().contains("client"), "{err}");
    // A nonce the wallet sent must come back.
    assert!(
        llavero_wallet::present::request::verify_signed(
            &rp.world.wallet,
            client_id,
            jwt,
            Some("mine")
        )
        .is_err()
    );
}

#[tokio::test]
async fn a_certificate_outside_the_trusted_roots_is_refused() {
    // A wallet that trusts no presentation authority (another operator's wallet).
    let rp = rp_with(|config, _| config.trusted_roots.clear()).await;
    let cookie = rp.world.sign_in(RUN).await;
    let created = rp.transaction(&json!({"preset": "age-over-18"})).await;
    let opened = rp
        .open(
            &cookie,
            created["authorization_request"].as_str().unwrap(),
            true,
        )
        .await;
    assert_eq!(opened.status, StatusCode::BAD_REQUEST, "{}", opened.body);
    assert!(opened.body.contains("trusted root"), "{}", opened.body);
}

#[tokio::test]
async fn unsigned_requests_are_refused_unless_the_operator_allows_them() {
    let rp = rp().await;
    let cookie = rp.world.sign_in(RUN).await;
    let link = "openid4vp://?client_id=redirect_uri%3Ahttps%3A%2F%2Fevil.example%2Fcb&response_type=vp_token&response_mode=direct_post&response_uri=https%3A%2F%2Fevil.example%2Fcb&nonce=n&dcql_query=%7B%7D";
    let opened = rp.open(&cookie, link, true).await;
    assert_eq!(opened.status, StatusCode::BAD_REQUEST, "{}", opened.body);
    assert!(opened.body.contains("not signed"), "{}", opened.body);
}

#[tokio::test]
async fn another_citizen_or_login_cannot_reach_a_pending_request() {
    let rp = rp().await;
    let mine = rp.citizen(RUN).await;
    let created = rp.transaction(&json!({"preset": "name-and-run"})).await;
    let opened = rp
        .open(
            &mine,
            created["authorization_request"].as_str().unwrap(),
            true,
        )
        .await;
    let path = opened.location.unwrap();
    let page = rp.world.get(&mine, &path).await;
    let csrf = page.csrf();
    // Another citizen, by id.
    let theirs = rp.citizen(OTHER_RUN).await;
    assert_eq!(
        rp.world.get(&theirs, &path).await.status,
        StatusCode::NOT_FOUND
    );
    let home = rp.world.get(&theirs, "/wallet").await;
    let shared = rp
        .world
        .post(&theirs, &format!("{path}/share"), &[("csrf", &home.csrf())])
        .await;
    assert_eq!(shared.status, StatusCode::NOT_FOUND, "{}", shared.body);
    // The same citizen in another browser (another login).
    let again = rp.world.sign_in(RUN).await;
    assert_eq!(
        rp.world.get(&again, &path).await.status,
        StatusCode::NOT_FOUND
    );
    // A form of one login is not good for another.
    let shared = rp
        .world
        .post(&again, &format!("{path}/share"), &[("csrf", &csrf)])
        .await;
    assert_eq!(shared.status, StatusCode::FORBIDDEN, "{}", shared.body);
    // The owner still can, once.
    let shared = rp
        .world
        .post(&mine, &format!("{path}/share"), &[("csrf", &csrf)])
        .await;
    assert_eq!(shared.status, StatusCode::SEE_OTHER, "{}", shared.body);
    let again = rp
        .world
        .post(&mine, &format!("{path}/share"), &[("csrf", &csrf)])
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "one use");
}

#[tokio::test]
async fn a_confirmation_is_spent_by_one_presentation() {
    let rp = rp().await;
    let cookie = rp.citizen(RUN).await;
    let store = &rp.world.service.idp.store;
    let citizen = rp
        .world
        .wallet
        .sessions
        .signed_in(&crate::receiving::cookie_headers(&cookie))
        .await
        .unwrap()
        .unwrap();
    // The account has a key, so only a WebAuthn confirmation of this session counts (as
    // /account/confirm/finish records it).
    store
        .add_webauthn_credential(&llavero_store::WebauthnCredential {
            credential_id: "key-1".into(),
            account_id: citizen.account_id.clone(),
            name: "llave".into(),
            passkey: "{}".into(),
            synced: false,
            created_at: rp.world.service.now(),
            last_used_at: None,
            flagged_at: None,
            attestation: None,
        })
        .await
        .unwrap();
    let link = |created: &Value| {
        created["authorization_request"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let first = rp.transaction(&json!({"preset": "age-over-18"})).await;
    let (_, unconfirmed) = rp.share(&cookie, &link(&first), true).await;
    assert_eq!(
        unconfirmed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        unconfirmed.body
    );
    store
        .confirm_session(&citizen.session, rp.world.service.now())
        .await
        .unwrap();
    let second = rp.transaction(&json!({"preset": "age-over-18"})).await;
    let (_, shared) = rp.share(&cookie, &link(&second), true).await;
    assert_eq!(shared.status, StatusCode::SEE_OTHER, "{}", shared.body);
    // The same confirmation again: refused.
    let third = rp.transaction(&json!({"preset": "age-over-18"})).await;
    let (_, replayed) = rp.share(&cookie, &link(&third), true).await;
    assert_eq!(
        replayed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        replayed.body
    );
}

#[tokio::test]
async fn a_revoked_credential_is_not_offered_or_presented() {
    let rp = rp().await;
    rp.citizen(RUN).await;
    let listed = rp
        .world
        .service
        .get_with_agency_token(REGISTRO, "/registro-civil/api/credentials")
        .await;
    let token = rp.world.service.agency_token(REGISTRO).await;
    for credential in listed["credentials"].as_array().unwrap() {
        let id = credential["id"].as_str().unwrap();
        let response = rp
            .world
            .service
            .post_json(
                &format!("/registro-civil/api/credentials/{id}/revoke"),
                Some(&token),
                &json!({"reason": "prueba"}),
            )
            .await;
        assert!(response.status.is_success(), "{}", response.text());
    }
    rp.world.service.clock.advance(1800);
    let cookie = rp.world.sign_in(RUN).await;
    let created = rp.transaction(&json!({"preset": "name-and-run"})).await;
    let opened = rp
        .open(
            &cookie,
            created["authorization_request"].as_str().unwrap(),
            true,
        )
        .await;
    let path = opened.location.unwrap();
    let page = rp.world.get(&cookie, &path).await;
    assert!(
        page.body.contains("No tienes un documento vigente"),
        "{}",
        page.body
    );
    let shared = rp
        .world
        .post(&cookie, &format!("{path}/share"), &[("csrf", &page.csrf())])
        .await;
    assert_eq!(shared.status, StatusCode::BAD_REQUEST, "{}", shared.body);
    let result = rp
        .result(created["transaction_id"].as_str().unwrap(), None)
        .await;
    assert_eq!(result["status"], "pending", "nothing was sent: {result}");
}

#[tokio::test]
async fn a_verifier_asking_beyond_its_registration_is_flagged() {
    let rp = rp().await;
    let cookie = rp.citizen(RUN).await;
    let created = rp.transaction(&json!({"preset": "name-and-run"})).await;
    // The registration is narrowed after the request was made: the signed list now says the
    // pharmacy may only learn whether the citizen is of age.
    let narrow = Registration::from_presets(&["age-over-18".into()]).unwrap();
    assert!(
        rp.verifier
            .store
            .update_relying_party(
                "farmacia",
                "Farmacia Central",
                &serde_json::to_string(&narrow).unwrap()
            )
            .await
            .unwrap()
    );
    let opened = rp
        .open(
            &cookie,
            created["authorization_request"].as_str().unwrap(),
            true,
        )
        .await;
    let page = rp.world.get(&cookie, &opened.location.unwrap()).await;
    assert!(
        page.body.contains("Pide más de lo que tiene autorizado"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("given_name"),
        "names what is beyond: {}",
        page.body
    );
}

#[tokio::test]
async fn an_unregistered_verifier_is_named_as_such() {
    let rp = rp_with(|config, _| config.relying_party_lists.clear()).await;
    let cookie = rp.citizen(RUN).await;
    let created = rp.transaction(&json!({"preset": "age-over-18"})).await;
    let opened = rp
        .open(
            &cookie,
            created["authorization_request"].as_str().unwrap(),
            true,
        )
        .await;
    let page = rp.world.get(&cookie, &opened.location.unwrap()).await;
    assert!(page.body.contains("no está registrado"), "{}", page.body);
    assert!(
        page.body.contains("Farmacia Central"),
        "the certificate's name: {}",
        page.body
    );
}
