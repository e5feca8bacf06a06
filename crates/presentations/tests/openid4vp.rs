//! The presentation service end to end over its router, a wallet played with the holder crate
//! and josekit: a relying party creates a transaction, the wallet fetches the signed request,
//! answers encrypted or plain, and the relying party reads the verified claims once. Then the
//! attacks: replay, wrong nonce or audience, a second or late answer, an unencrypted answer
//! where encryption was asked, a JWE to another key or tampered, a missing claim, another
//! `vct`, an untrusted issuer, a revoked credential, a request beyond the registration.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http_body_util::BodyExt as _;
use josekit::jwe::{ECDH_ES, JweHeader};
use llavero_credentials::crypto::{default_backend, generate_p256, signer_from_jwk, system_random};
use llavero_credentials::jwk::PrivateJwk;
use llavero_credentials::jws::DecodedJws;
use llavero_credentials::sd_jwt::ClaimPath;
use llavero_credentials::sd_jwt_vc::{self, Envelope};
use llavero_credentials::status::StatusListReference;
use llavero_credentials::status::token::{
    StatusList, StatusListTokenClaims, sign_status_list_token,
};
use llavero_credentials::time::{Clock, ManualClock};
use llavero_platform::audit::{BoxFuture, CheckpointSigner};
use llavero_platform::{Audit, MasterKey, Platform};
use llavero_presentations::registration::{IDENTITY_CARD, Registration};
use llavero_presentations::signing::PkcsSigner;
use llavero_presentations::{Presentations, PresentationsConfig, Trust};
use llavero_verifier::trust_list::{Jwks, TrustListClaims, TrustedIssuer};
use llavero_verifier::x509::X509Root;
use llavero_verifier::{Verifier, VerifierOptions};
use serde_json::{Value, json};
use tower::ServiceExt as _;

const BASE: &str = "https://llavero.test";
const REGISTRO: &str = "https://llavero.test/registro-civil";
const STATUS_URI: &str = "https://llavero.test/registro-civil/status/1";
const REVOKED_INDEX: u64 = 7;
const X509_ISSUER: &str = "https://agencia.llavero.test";

/// Audit checkpoints are signed by the identity provider in production; here by a fixed string.
struct TestCheckpoints;

impl CheckpointSigner for TestCheckpoints {
    fn sign(&self, seq: i64, hash: String, _now: i64) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(async move { Ok(format!("checkpoint.{seq}.{hash}")) })
    }
}

/// The shared platform, as the server builds it.
fn platform(store: llavero_store::Store, clock: Arc<ManualClock>) -> Platform {
    let clock = clock as Arc<dyn Clock>;
    Platform {
        audit: Audit::new(store.clone(), Arc::clone(&clock), Arc::new(TestCheckpoints)),
        store,
        master: Arc::new(MasterKey::generate()),
        clock,
        base_url: BASE.into(),
        trusted_proxies: Arc::default(),
    }
}

struct World {
    _dir: tempfile::TempDir,
    app: Router,
    clock: Arc<ManualClock>,
    service: Arc<Presentations>,
    issuer: PrivateJwk,
    stranger: PrivateJwk,
    holder: PrivateJwk,
    token: String,
    pki: Pki,
}

/// The issuers' X.509 PKI (HAIP): a root the verifier is configured with, an intermediate, and
/// an agency's signing certificate naming `X509_ISSUER`.
struct Pki {
    root: Vec<u8>,
    root_ski: String,
    chain: Vec<String>,
    signer: PkcsSigner,
}

fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
        KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType,
    };
    let ca = |cn: &str| {
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, cn);
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        params.use_authority_key_identifier_extension = true;
        params.not_before = rcgen::date_time_ymd(2026, 1, 1);
        params.not_after = rcgen::date_time_ymd(2031, 1, 1);
        params
    };
    let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let root_params = ca("Raíz de emisores");
    let root = root_params.self_signed(&root_key).unwrap().der().to_vec();
    let mid_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mid_params = ca("Emisores intermedios");
    let mid = mid_params
        .signed_by(&mid_key, &Issuer::from_params(&root_params, &root_key))
        .unwrap()
        .der()
        .to_vec();
    let mut leaf_params = ca("Agencia");
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.subject_alt_names = vec![SanType::URI(X509_ISSUER.try_into().unwrap())];
    let leaf_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let leaf = leaf_params
        .signed_by(&leaf_key, &Issuer::from_params(&mid_params, &mid_key))
        .unwrap()
        .der()
        .to_vec();
    let (_, parsed) = x509_parser::parse_x509_certificate(&root).unwrap();
    let root_ski = parsed
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) => {
                Some(URL_SAFE_NO_PAD.encode(k.0))
            }
            _ => None,
        })
        .unwrap();
    Pki {
        root,
        root_ski,
        chain: vec![STANDARD.encode(leaf), STANDARD.encode(mid)],
        signer: PkcsSigner::from_pkcs8(&leaf_key.serialize_der()).unwrap(),
    }
}

fn verifier(anchor: &PrivateJwk, issuer: &PrivateJwk, now: i64, root: &[u8]) -> Verifier {
    let trust_list = TrustListClaims {
        iss: "https://trust.llavero.test".into(),
        iat: now,
        exp: Some(now + 86_400),
        sequence: 1,
        issuers: vec![TrustedIssuer {
            id: REGISTRO.into(),
            name: Some("Registro Civil".into()),
            jwks: Jwks {
                keys: vec![issuer.public()],
            },
            credential_types: vec![
                IDENTITY_CARD.into(),
                "https://llavero.cl/vct/birth-certificate".into(),
                "IdentityCardCredential".into(),
            ],
            valid_from: None,
            valid_until: None,
        }],
    }
    .sign(signer_from_jwk(anchor).unwrap().as_ref())
    .unwrap();
    let mut list = StatusList::new(1024, 2).unwrap();
    list.set(REVOKED_INDEX as usize, 1).unwrap();
    let status = sign_status_list_token(
        &list,
        &StatusListTokenClaims {
            uri: STATUS_URI.into(),
            iat: now,
            exp: Some(now + 86_400),
            ttl: Some(300),
            iss: Some(REGISTRO.into()),
        },
        signer_from_jwk(issuer).unwrap().as_ref(),
    )
    .unwrap();
    let bundle = json!({"version": 1, "built_at": now, "trust_list": trust_list,
        "status_lists": [{"uri": STATUS_URI, "token": status, "fetched_at": now}]});
    Verifier::from_bundle(
        &bundle.to_string(),
        &[anchor.public()],
        now,
        VerifierOptions::default(),
    )
    .unwrap()
    .with_x509_roots(vec![
        X509Root::from_der(
            root.to_vec(),
            Some("Raíz de emisores".into()),
            vec![IDENTITY_CARD.into()],
        )
        .unwrap(),
    ])
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = llavero_store::testing::sqlite(dir.path()).await.unwrap();
    world_on(dir, store).await
}

/// The world on `store` (SQLite in `dir`, or PostgreSQL).
async fn world_on(dir: tempfile::TempDir, store: llavero_store::Store) -> World {
    let clock = Arc::new(ManualClock::new(1_800_000_000));
    let (anchor, issuer) = (
        generate_p256(None).unwrap(),
        generate_p256(Some("rc-1".into())).unwrap(),
    );
    let pki = pki();
    let trust = Arc::new(Trust::new(verifier(
        &anchor,
        &issuer,
        clock.now(),
        &pki.root,
    )));
    let service = Presentations::new(
        PresentationsConfig::default(),
        platform(store, Arc::clone(&clock)),
        trust,
    )
    .await
    .unwrap();
    let mut registration =
        Registration::from_presets(&["age-over-18".into(), "name-and-run".into()]).unwrap();
    registration.redirect_uris = vec!["https://farmacia.test/done".into()];
    registration
        .credentials
        .push(llavero_presentations::registration::Allowed {
            format: "jwt_vc_json".into(),
            types: vec!["IdentityCardCredential".into()],
            claims: vec![ClaimPath::claim("credentialSubject")],
        });
    llavero_presentations::parties::add(
        &service,
        "farmacia",
        "Farmacia",
        Some("farmacia.test"),
        &registration,
    )
    .await
    .unwrap();
    let (client_id, secret) = llavero_presentations::parties::add_client(&service, "farmacia")
        .await
        .unwrap();
    let app = llavero_presentations::router(Arc::clone(&service));
    let body =
        format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}");
    let (status, token) = call(
        &app,
        "POST",
        "/verifier/token",
        None,
        Some(("application/x-www-form-urlencoded", body)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let token = serde_json::from_str::<Value>(&token).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    World {
        _dir: dir,
        app,
        clock,
        service,
        issuer,
        stranger: generate_p256(Some("rc-1".into())).unwrap(),
        holder: generate_p256(None).unwrap(),
        token,
        pki,
    }
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    bearer: Option<&str>,
    body: Option<(&str, String)>,
) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(uri);
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
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn form(pairs: &[(&str, &str)]) -> (&'static str, String) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    ("application/x-www-form-urlencoded", body)
}

impl World {
    fn now(&self) -> i64 {
        self.clock.now()
    }

    /// An identity card SD-JWT VC for the holder, everything selectively disclosable.
    fn identity_card(&self, signer: &PrivateJwk, vct: &str, status_index: u64) -> String {
        let claims = json!({"given_name": "Ana María", "family_name": "Rojas", "run": "12.345.678-5",
            "age_equal_or_over": {"18": true, "65": false}});
        let envelope = Envelope {
            issuer: REGISTRO.into(),
            vct: vct.into(),
            issued_at: Some(self.now()),
            not_before: None,
            expires_at: Some(self.now() + 86_400),
            holder_key: Some(self.holder.public()),
            status: Some(StatusListReference {
                idx: status_index,
                uri: STATUS_URI.into(),
            }),
        };
        let paths = ["given_name", "family_name", "run"]
            .map(ClaimPath::claim)
            .into_iter()
            .chain([ClaimPath(vec![
                llavero_credentials::sd_jwt::PathElement::Key("age_equal_or_over".into()),
                llavero_credentials::sd_jwt::PathElement::Key("18".into()),
            ])])
            .collect::<Vec<_>>();
        sd_jwt_vc::issue(
            &envelope,
            claims.as_object().unwrap(),
            &paths,
            Some("rc-1"),
            0,
            signer_from_jwk(signer).unwrap().as_ref(),
            system_random(),
            default_backend(),
        )
        .unwrap()
    }

    async fn create(&self, body: Value) -> (StatusCode, Value) {
        let (status, text) = call(
            &self.app,
            "POST",
            "/verifier/api/transactions",
            Some(&self.token),
            Some(("application/json", body.to_string())),
        )
        .await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn created(&self, body: Value) -> Value {
        let (status, created) = self.create(body).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created
    }

    /// The wallet's view: the verified request object's claims.
    async fn fetch_request(&self, id: &str, post: bool) -> Value {
        let path = format!("/verifier/requests/{id}");
        let (status, jwt) = if post {
            call(
                &self.app,
                "POST",
                &path,
                None,
                Some(form(&[
                    ("wallet_nonce", "wn-1"),
                    (
                        "wallet_metadata",
                        r#"{"request_object_signing_alg_values_supported":["ES256"]}"#,
                    ),
                ])),
            )
            .await
        } else {
            call(&self.app, "GET", &path, None, None).await
        };
        assert_eq!(status, StatusCode::OK, "{jwt}");
        let jws = DecodedJws::decode(&jwt).unwrap();
        assert_eq!(jws.header().typ.as_deref(), Some("oauth-authz-req+jwt"));
        // The leaf certificate signs, and x509_hash is its SHA-256.
        let x5c = jws.header().x5c.clone().unwrap();
        assert_eq!(x5c.len(), 1, "the root is never in x5c");
        let der = STANDARD.decode(&x5c[0]).unwrap();
        let claims = jws.unverified_value().unwrap();
        let hash = URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &der));
        assert_eq!(claims["client_id"], format!("x509_hash:{hash}"));
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let point = cert.public_key().subject_public_key.data.to_vec();
        let key = llavero_credentials::jwk::Jwk::new(
            llavero_credentials::jwk::PublicKey::p256_from_sec1(&point).unwrap(),
        );
        jws.verify(
            default_backend(),
            &key,
            &llavero_credentials::jws::AlgorithmPolicy::es256_only(),
        )
        .unwrap();
        if post {
            assert_eq!(claims["wallet_nonce"], "wn-1");
        }
        claims
    }

    /// An identity card by the X.509-certified agency: `x5c` in the header, no `kid`.
    fn x509_card(&self) -> String {
        let envelope = Envelope {
            issuer: X509_ISSUER.into(),
            vct: IDENTITY_CARD.into(),
            issued_at: Some(self.now()),
            not_before: None,
            expires_at: Some(self.now() + 86_400),
            holder_key: Some(self.holder.public()),
            status: None,
        };
        let claims = json!({"given_name": "Ana María", "age_equal_or_over": {"18": true}});
        let issued = sd_jwt_vc::issue(
            &envelope,
            claims.as_object().unwrap(),
            &[age_18()],
            None,
            0,
            &self.pki.signer,
            system_random(),
            default_backend(),
        )
        .unwrap();
        let (jwt, disclosures) = issued.split_once('~').unwrap();
        let payload = DecodedJws::decode(jwt).unwrap().unverified_value().unwrap();
        let mut header = llavero_credentials::jws::Header::new("dc+sd-jwt");
        header.x5c = Some(self.pki.chain.clone());
        let jwt = llavero_credentials::jws::sign_json(header, &payload, &self.pki.signer).unwrap();
        format!("{jwt}~{disclosures}")
    }

    fn present(&self, credential: &str, disclose: &[ClaimPath], aud: &str, nonce: &str) -> String {
        llavero_holder::present::present(
            credential,
            disclose,
            aud,
            nonce,
            self.now(),
            signer_from_jwk(&self.holder).unwrap().as_ref(),
            default_backend(),
        )
        .unwrap()
    }

    /// Encrypts `payload` to the request's key (ECDH-ES, A256GCM).
    fn encrypt(request: &Value, payload: &Value) -> String {
        let key = &request["client_metadata"]["jwks"]["keys"][0];
        let jwk = josekit::jwk::Jwk::from_map(key.as_object().unwrap().clone()).unwrap();
        let mut header = JweHeader::new();
        header.set_content_encryption("A256GCM");
        header.set_key_id(key["kid"].as_str().unwrap());
        josekit::jwe::serialize_compact(
            payload.to_string().as_bytes(),
            &header,
            &ECDH_ES.encrypter_from_jwk(&jwk).unwrap(),
        )
        .unwrap()
    }

    async fn respond(&self, id: &str, fields: &[(&str, &str)]) -> (StatusCode, Value) {
        let (status, text) = call(
            &self.app,
            "POST",
            &format!("/verifier/responses/{id}"),
            None,
            Some(form(fields)),
        )
        .await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn respond_encrypted(
        &self,
        id: &str,
        request: &Value,
        vp_token: Value,
    ) -> (StatusCode, Value) {
        let jwe = Self::encrypt(
            request,
            &json!({"vp_token": vp_token, "state": request["state"]}),
        );
        self.respond(id, &[("response", &jwe)]).await
    }

    async fn result(&self, id: &str, code: Option<&str>) -> (StatusCode, Value) {
        let uri = match code {
            Some(c) => format!("/verifier/api/transactions/{id}?response_code={c}"),
            None => format!("/verifier/api/transactions/{id}"),
        };
        let (status, text) = call(&self.app, "GET", &uri, Some(&self.token), None).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn age_18() -> ClaimPath {
    ClaimPath(vec![
        llavero_credentials::sd_jwt::PathElement::Key("age_equal_or_over".into()),
        llavero_credentials::sd_jwt::PathElement::Key("18".into()),
    ])
}

#[tokio::test]
async fn an_age_check_is_answered_encrypted_and_read_once() {
    let w = world().await;
    let created = w.created(json!({"preset": "age-over-18"})).await;
    let id = created["transaction_id"].as_str().unwrap();
    assert!(
        created["authorization_request"]
            .as_str()
            .unwrap()
            .starts_with("openid4vp://?client_id=x509_hash%3A")
    );
    assert_eq!(w.result(id, None).await.1["status"], "pending");
    let request = w.fetch_request(id, true).await;
    assert_eq!(request["response_mode"], "direct_post.jwt");
    assert_eq!(
        request["client_metadata"]["encrypted_response_enc_values_supported"],
        json!(["A128GCM", "A256GCM"])
    );
    let card = w.identity_card(&w.issuer, IDENTITY_CARD, 3);
    let vp = w.present(
        &card,
        &[age_18()],
        request["client_id"].as_str().unwrap(),
        request["nonce"].as_str().unwrap(),
    );
    let (status, body) = w
        .respond_encrypted(id, &request, json!({"identity_card": [vp]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, result) = w.result(id, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(result["status"], "verified", "{result}");
    let credential = &result["credentials"]["identity_card"][0];
    assert_eq!(credential["claims"]["age_equal_or_over"]["18"], true);
    assert!(
        credential["claims"].get("given_name").is_none(),
        "nothing else is disclosed"
    );
    assert_eq!(credential["holder_binding"], true);
    assert_eq!(credential["status"]["state"], "valid");
    assert_eq!(credential["issuer"], REGISTRO);
    // Read once: then gone.
    assert_eq!(w.result(id, None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_plain_response_with_same_device_redirect_needs_the_response_code() {
    let w = world().await;
    let created = w
        .created(
            json!({"preset": "name-and-run", "response_mode": "direct_post",
        "redirect_uri": "https://farmacia.test/done"}),
        )
        .await;
    let id = created["transaction_id"].as_str().unwrap();
    let request = w.fetch_request(id, false).await;
    assert!(request["client_metadata"].get("jwks").is_none());
    let card = w.identity_card(&w.issuer, IDENTITY_CARD, 3);
    let disclose = ["given_name", "family_name", "run"].map(ClaimPath::claim);
    let vp = w.present(
        &card,
        &disclose,
        request["client_id"].as_str().unwrap(),
        request["nonce"].as_str().unwrap(),
    );
    let vp_token = json!({"identity_card": [vp]}).to_string();
    let (status, body) = w
        .respond(
            id,
            &[
                ("vp_token", &vp_token),
                ("state", request["state"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let redirect = body["redirect_uri"].as_str().unwrap();
    let code = redirect.split("response_code=").nth(1).unwrap();
    assert_eq!(w.result(id, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(w.result(id, Some("wrong")).await.0, StatusCode::FORBIDDEN);
    let (_, result) = w.result(id, Some(code)).await;
    assert_eq!(
        result["credentials"]["identity_card"][0]["claims"]["run"],
        "12.345.678-5"
    );
}

/// Creates an age check, lets `answer` build the `vp_token` from the request, posts it encrypted
/// and returns the response status and the relying party's result.
async fn attempt(w: &World, answer: impl FnOnce(&World, &Value) -> Value) -> (StatusCode, Value) {
    let created = w.created(json!({"preset": "age-over-18"})).await;
    let id = created["transaction_id"].as_str().unwrap().to_owned();
    let request = w.fetch_request(&id, false).await;
    let vp_token = answer(w, &request);
    let (status, _) = w.respond_encrypted(&id, &request, vp_token).await;
    (status, w.result(&id, None).await.1)
}

fn good(w: &World, request: &Value) -> Value {
    let card = w.identity_card(&w.issuer, IDENTITY_CARD, 3);
    json!({"identity_card": [w.present(&card, &[age_18()], request["client_id"].as_str().unwrap(), request["nonce"].as_str().unwrap())]})
}

#[tokio::test]
async fn presentations_bound_elsewhere_or_not_answering_are_rejected() {
    let w = world().await;
    let reasons = [
        ("wrong nonce", attempt(&w, |w, r| {
            let card = w.identity_card(&w.issuer, IDENTITY_CARD, 3);
            json!({"identity_card": [w.present(&card, &[age_18()], r["client_id"].as_str().unwrap(), "another-nonce")]})
        }).await),
        ("wrong audience", attempt(&w, |w, r| {
            let card = w.identity_card(&w.issuer, IDENTITY_CARD, 3);
            json!({"identity_card": [w.present(&card, &[age_18()], "x509_hash:someone-else", r["nonce"].as_str().unwrap())]})
        }).await),
        ("missing claim", attempt(&w, |w, r| {
            let card = w.identity_card(&w.issuer, IDENTITY_CARD, 3);
            json!({"identity_card": [w.present(&card, &[ClaimPath::claim("given_name")], r["client_id"].as_str().unwrap(), r["nonce"].as_str().unwrap())]})
        }).await),
        ("other vct", attempt(&w, |w, r| {
            let card = w.identity_card(&w.issuer, "https://llavero.cl/vct/birth-certificate", 3);
            json!({"identity_card": [w.present(&card, &[age_18()], r["client_id"].as_str().unwrap(), r["nonce"].as_str().unwrap())]})
        }).await),
        ("untrusted issuer", attempt(&w, |w, r| {
            let card = w.identity_card(&w.stranger, IDENTITY_CARD, 3);
            json!({"identity_card": [w.present(&card, &[age_18()], r["client_id"].as_str().unwrap(), r["nonce"].as_str().unwrap())]})
        }).await),
        ("revoked", attempt(&w, |w, r| {
            let card = w.identity_card(&w.issuer, IDENTITY_CARD, REVOKED_INDEX);
            json!({"identity_card": [w.present(&card, &[age_18()], r["client_id"].as_str().unwrap(), r["nonce"].as_str().unwrap())]})
        }).await),
        ("unknown query id", attempt(&w, |w, r| {
            let mut token = good(w, r);
            token["other"] = token["identity_card"].clone();
            token
        }).await),
    ];
    for (what, (status, result)) in reasons {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {result}");
        // Refused without using the transaction up: it waits on, showing the refusal.
        assert_eq!(result["status"], "pending", "{what}: {result}");
        assert_eq!(
            result["last_refusal"]["status"], "rejected",
            "{what}: {result}"
        );
        println!("{what}: {}", result["last_refusal"]["reason"]);
    }
    // The control: the same path with a good presentation verifies.
    let (status, result) = attempt(&w, good).await;
    assert_eq!(
        (status, result["status"].as_str()),
        (StatusCode::OK, Some("verified")),
        "{result}"
    );
}

#[tokio::test]
async fn a_transaction_is_answered_once_in_time_in_its_mode_and_to_its_key() {
    let w = world().await;
    let created = w.created(json!({"preset": "age-over-18"})).await;
    let id = created["transaction_id"].as_str().unwrap();
    let request = w.fetch_request(id, false).await;
    let vp_token = good(&w, &request);
    // Unencrypted where encryption was asked: refused, and the transaction stays open.
    let plain = vp_token.to_string();
    let (status, _) = w
        .respond(
            id,
            &[
                ("vp_token", &plain),
                ("state", request["state"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Encrypted to another transaction's key.
    let other = w.created(json!({"preset": "age-over-18"})).await;
    let other_id = other["transaction_id"].as_str().unwrap();
    let other_request = w.fetch_request(other_id, false).await;
    let mut misdirected = other_request.clone();
    misdirected["state"] = request["state"].clone();
    let jwe = World::encrypt(
        &misdirected,
        &json!({"vp_token": vp_token, "state": request["state"]}),
    );
    assert_eq!(
        w.respond(id, &[("response", &jwe)]).await.0,
        StatusCode::BAD_REQUEST
    );
    // Tampered ciphertext.
    let jwe = World::encrypt(
        &request,
        &json!({"vp_token": vp_token, "state": request["state"]}),
    );
    let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
    let flipped: String = parts[3].chars().rev().collect();
    parts[3] = flipped;
    assert_eq!(
        w.respond(id, &[("response", &parts.join("."))]).await.0,
        StatusCode::BAD_REQUEST
    );
    // Wrong state.
    let jwe = World::encrypt(&request, &json!({"vp_token": vp_token, "state": "guess"}));
    assert_eq!(
        w.respond(id, &[("response", &jwe)]).await.0,
        StatusCode::BAD_REQUEST
    );
    // The real answer, then a second one.
    let (status, body) = w.respond_encrypted(id, &request, vp_token.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        w.respond_encrypted(id, &request, vp_token.clone()).await.0,
        StatusCode::BAD_REQUEST
    );
    // The same vp_token replayed into the other transaction: its nonce is not this one's.
    let (status, _) = w
        .respond_encrypted(other_id, &other_request, vp_token)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        w.result(other_id, None).await.1["last_refusal"]["reason"],
        "wrong_nonce"
    );
    // After expiry nothing is taken, and nothing can be read.
    let late = w.created(json!({"preset": "age-over-18"})).await;
    let late_id = late["transaction_id"].as_str().unwrap();
    let late_request = w.fetch_request(late_id, false).await;
    let late_token = good(&w, &late_request);
    w.clock.advance(w.service.config.transaction_secs + 1);
    assert_eq!(
        w.respond_encrypted(late_id, &late_request, late_token)
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    let gone = w
        .service
        .store
        .presentation_transaction(late_id, w.now())
        .await
        .unwrap();
    assert!(gone.is_none(), "an expired transaction cannot be read");
}

#[tokio::test]
async fn requests_beyond_the_registration_are_refused_at_creation() {
    let w = world().await;
    let beyond = [
        json!({"credentials": [{"id": "c", "format": "dc+sd-jwt", "meta": {"vct_values": [IDENTITY_CARD]},
            "claims": [{"path": ["document_number"]}]}]}),
        json!({"credentials": [{"id": "c", "format": "dc+sd-jwt", "meta": {"vct_values": ["https://llavero.cl/vct/criminal-record"]},
            "claims": [{"path": ["given_name"]}]}]}),
        json!({"credentials": [{"id": "c", "format": "dc+sd-jwt", "meta": {"vct_values": [IDENTITY_CARD]}}]}),
        json!({"credentials": [{"id": "c", "format": "mso_mdoc", "meta": {"doctype_value": "x"},
            "claims": [{"path": ["a", "b"]}]}]}),
    ];
    for query in beyond {
        let (status, body) = w.create(json!({"dcql_query": query})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"], "beyond_registration");
    }
    // Within it, with claim_sets and credential_sets, it is accepted.
    let within = json!({"credentials": [{"id": "c", "format": "dc+sd-jwt", "meta": {"vct_values": [IDENTITY_CARD]},
        "claims": [{"id": "a", "path": ["given_name"]}, {"id": "b", "path": ["run"]}], "claim_sets": [["a", "b"], ["b"]]}],
        "credential_sets": [{"options": [["c"]]}]});
    assert_eq!(
        w.create(json!({"dcql_query": within})).await.0,
        StatusCode::CREATED
    );
    let (status, _) = w
        .create(json!({"preset": "age-over-18", "redirect_uri": "https://evil.test/"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = w.create(json!({"preset": "age-over-18"})).await;
    assert_eq!(status, StatusCode::CREATED);
    // Without a token, nothing.
    let (status, _) = call(
        &w.app,
        "POST",
        "/verifier/api/transactions",
        None,
        Some((
            "application/json",
            json!({"preset": "age-over-18"}).to_string(),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_relying_party_list_is_signed_by_the_authority_root() {
    let w = world().await;
    let (status, jwt) = call(&w.app, "GET", "/verifier/relying-parties.jwt", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let jws = DecodedJws::decode(&jwt).unwrap();
    let root = STANDARD
        .decode(&jws.header().x5c.clone().unwrap()[0])
        .unwrap();
    assert_eq!(root, w.service.authority.certificate());
    let claims = jws.unverified_value().unwrap();
    let party = &claims["relying_parties"][0];
    assert_eq!(party["id"], "farmacia");
    assert!(
        party["client_ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "x509_san_dns:farmacia.test")
    );
    // The relying party's certificate chains to the root.
    let leaf = STANDARD.decode(party["x5c"][0].as_str().unwrap()).unwrap();
    let (_, leaf) = x509_parser::parse_x509_certificate(&leaf).unwrap();
    let (_, root) = x509_parser::parse_x509_certificate(&root).unwrap();
    leaf.verify_signature(Some(root.public_key())).unwrap();
    assert_eq!(leaf.issuer(), root.subject());
    assert!(!leaf.is_ca());
    let (status, pem) = call(&w.app, "GET", "/verifier/ca.pem", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
}

/// What one run of the benchmark measured, per presentation.
struct Measured {
    /// Process CPU of the verifier library alone (the baseline).
    library: std::time::Duration,
    /// Process CPU of the HTTP path, the wallet's own work (presenting, encrypting) taken out.
    service: std::time::Duration,
    /// The wallet's CPU (presenting and encrypting), for the record.
    wallet: std::time::Duration,
    /// Wall time of the HTTP path, wallet included.
    wall: std::time::Duration,
}

/// Runs `n` presentations through the library, then `n` through the HTTP service (create the
/// transaction, fetch the signed request, post the encrypted response, read the result),
/// measuring the process's CPU time (`getrusage`, every thread: the runtime's, the database
/// driver's and the audit queue's).
async fn measure(w: &World, n: u32) -> Measured {
    use cpu_time::{ProcessTime, ThreadTime};
    let card = w.identity_card(&w.issuer, IDENTITY_CARD, 3);
    let vp = w.present(&card, &[age_18()], "x509_hash:x", "n");
    let verifier = w.service.trust.current();
    let expect = llavero_verifier::Expectations::key_binding("x509_hash:x", "n");
    for _ in 0..n / 10 {
        verifier.verify(&vp, w.now(), &expect).unwrap();
    }
    let started = ProcessTime::now();
    for _ in 0..n {
        verifier.verify(&vp, w.now(), &expect).unwrap();
    }
    let library = started.elapsed() / n;
    let mut wallet = std::time::Duration::ZERO;
    let wall = std::time::Instant::now();
    let started = ProcessTime::now();
    for _ in 0..n {
        let created = w.created(json!({"preset": "age-over-18"})).await;
        let id = created["transaction_id"].as_str().unwrap();
        let (_, jwt) = call(
            &w.app,
            "GET",
            &format!("/verifier/requests/{id}"),
            None,
            None,
        )
        .await;
        let own = ThreadTime::now();
        let request = DecodedJws::decode(&jwt)
            .unwrap()
            .unverified_value()
            .unwrap();
        let jwe = World::encrypt(
            &request,
            &json!({"vp_token": good(w, &request), "state": request["state"]}),
        );
        wallet += own.elapsed();
        let (status, body) = w.respond(id, &[("response", &jwe)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(w.result(id, None).await.1["status"], "verified");
    }
    let total = started.elapsed();
    Measured {
        library,
        service: total.saturating_sub(wallet) / n,
        wallet: wallet / n,
        wall: wall.elapsed() / n,
    }
}

fn report(store: &str, m: &Measured) {
    println!(
        "{store:<10} library {:>8.1} µs CPU/presentation ({:>6.0}/s) | HTTP service {:>8.1} µs CPU/presentation ({:>6.0}/s CPU-bound) | ratio {:.2}× | wallet {:.1} µs, wall {:.1} µs",
        m.library.as_secs_f64() * 1e6,
        1.0 / m.library.as_secs_f64(),
        m.service.as_secs_f64() * 1e6,
        1.0 / m.service.as_secs_f64(),
        m.service.as_secs_f64() / m.library.as_secs_f64(),
        m.wallet.as_secs_f64() * 1e6,
        m.wall.as_secs_f64() * 1e6,
    );
}

/// A measurement, not a check: verified presentations per second through the HTTP service
/// against the verifier library alone on the same presentation, in the same run, in process
/// CPU time, on SQLite and (when it answers) PostgreSQL. `LLAVERO_BENCH_N` sets the count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: cargo test --release --test openid4vp -- --ignored --nocapture http_path"]
async fn http_path_against_the_library() {
    let n: u32 = std::env::var("LLAVERO_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let w = world().await;
    measure(&w, n / 10).await;
    report("SQLite", &measure(&w, n).await);
    if llavero_store::testing::skip_postgres() {
        println!("PostgreSQL: no server answers, skipped");
        return;
    }
    let store = llavero_store::testing::postgres().await.unwrap();
    let w = world_on(tempfile::tempdir().unwrap(), store).await;
    measure(&w, n / 10).await;
    report("PostgreSQL", &measure(&w, n).await);
}

/// Two instances on one database: any step on either (stateless service).
#[tokio::test]
async fn two_instances_serve_one_transaction() {
    let w = world().await;
    let other = Presentations::new(
        PresentationsConfig::default(),
        w.service.platform.clone(),
        Arc::clone(&w.service.trust),
    )
    .await
    .unwrap();
    assert_eq!(
        other.authority.certificate(),
        w.service.authority.certificate(),
        "one root for all"
    );
    let b = llavero_presentations::router(other);
    let created = w.created(json!({"preset": "age-over-18"})).await;
    let id = created["transaction_id"].as_str().unwrap();
    let (status, jwt) = call(&b, "GET", &format!("/verifier/requests/{id}"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    let request = DecodedJws::decode(&jwt)
        .unwrap()
        .unverified_value()
        .unwrap();
    let jwe = World::encrypt(
        &request,
        &json!({"vp_token": good(&w, &request), "state": request["state"]}),
    );
    let (status, _) = call(
        &b,
        "POST",
        &format!("/verifier/responses/{id}"),
        None,
        Some(form(&[("response", &jwe)])),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(w.result(id, None).await.1["status"], "verified");
}

/// Anyone who scans the code can post to the response URI. Garbage, a response for the wrong
/// state, or a presentation that fails verification is refused without using the transaction
/// up: the citizen's wallet then answers, and a second answer that holds is refused (§8.5).
#[tokio::test]
async fn refused_responses_do_not_use_the_transaction_up() {
    let w = world().await;
    let created = w.created(json!({"preset": "age-over-18"})).await;
    let id = created["transaction_id"].as_str().unwrap();
    let request = w.fetch_request(id, false).await;
    let attacks: Vec<Vec<(&str, String)>> = vec![
        vec![("response", "garbage".into())],
        vec![("response", "a.b.c.d.e".into())],
        vec![("vp_token", "{}".into())],
        vec![("state", request["state"].as_str().unwrap().into())],
        vec![(
            "response",
            World::encrypt(&request, &json!({"vp_token": {}, "state": "guess"})),
        )],
        vec![(
            "response",
            World::encrypt(
                &request,
                &json!({"vp_token": {"identity_card": ["x~y~"]}, "state": request["state"]}),
            ),
        )],
        vec![(
            "response",
            World::encrypt(
                &request,
                &json!({"vp_token": {"identity_card": [w.present(
                &w.identity_card(&w.issuer, IDENTITY_CARD, 3),
                &[age_18()],
                request["client_id"].as_str().unwrap(),
                "a-nonce-of-the-attacker",
            )]}, "state": request["state"]}),
            ),
        )],
    ];
    for fields in &attacks {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, body) = w.respond(id, &fields).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{fields:?}: {body}");
        assert_eq!(body["error"], "invalid_request", "{body}");
    }
    let (_, pending) = w.result(id, None).await;
    assert_eq!(pending["status"], "pending", "{pending}");
    assert_eq!(pending["last_refusal"]["reason"], "wrong_nonce");
    // The citizen's wallet answers, and is taken.
    let vp_token = good(&w, &request);
    let (status, body) = w.respond_encrypted(id, &request, vp_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A second answer that holds (a fresh presentation, same nonce) is refused.
    let again = good(&w, &request);
    let (status, body) = w.respond_encrypted(id, &request, again).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    let (_, result) = w.result(id, None).await;
    assert_eq!(result["status"], "verified", "{result}");
}

/// Two answers that both hold, racing: exactly one is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_answers_are_taken_once() {
    let w = world().await;
    let created = w.created(json!({"preset": "age-over-18"})).await;
    let id = created["transaction_id"].as_str().unwrap();
    let request = w.fetch_request(id, false).await;
    let answers: Vec<String> = (0..4)
        .map(|_| {
            World::encrypt(
                &request,
                &json!({"vp_token": good(&w, &request), "state": request["state"]}),
            )
        })
        .collect();
    let posts: Vec<_> = answers
        .into_iter()
        .map(|jwe| {
            let app = w.app.clone();
            let path = format!("/verifier/responses/{id}");
            tokio::spawn(async move {
                call(&app, "POST", &path, None, Some(form(&[("response", &jwe)])))
                    .await
                    .0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for post in posts {
        statuses.push(post.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::BAD_REQUEST)
    );
}

/// Every outcome goes into the audit trail: what was asked, verified or the typed rejection,
/// the wallet's refusal, expiry; never a claim the citizen disclosed.
#[tokio::test]
async fn outcomes_are_audited_without_claims() {
    let w = world().await;
    // Verified, with the name and RUN disclosed.
    let created = w
        .created(json!({"preset": "name-and-run", "response_mode": "direct_post"}))
        .await;
    let id = created["transaction_id"].as_str().unwrap().to_owned();
    let request = w.fetch_request(&id, false).await;
    let card = w.identity_card(&w.issuer, IDENTITY_CARD, 3);
    let disclose = ["given_name", "family_name", "run"].map(ClaimPath::claim);
    let vp = w.present(
        &card,
        &disclose,
        request["client_id"].as_str().unwrap(),
        request["nonce"].as_str().unwrap(),
    );
    let vp_token = json!({"identity_card": [vp]}).to_string();
    let state = request["state"].as_str().unwrap();
    let wrong = json!({"identity_card": [w.present(&card, &disclose, "x509_hash:other", request["nonce"].as_str().unwrap())]}).to_string();
    assert_eq!(
        w.respond(&id, &[("vp_token", &wrong), ("state", state)])
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        w.respond(&id, &[("vp_token", &vp_token), ("state", state)])
            .await
            .0,
        StatusCode::OK
    );
    // The wallet's refusal.
    let refused = w.created(json!({"preset": "age-over-18"})).await;
    let refused_id = refused["transaction_id"].as_str().unwrap().to_owned();
    let refused_request = w.fetch_request(&refused_id, false).await;
    let (status, _) = w
        .respond(
            &refused_id,
            &[
                ("error", "access_denied"),
                ("state", refused_request["state"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Left to expire.
    let expiring = w.created(json!({"preset": "age-over-18"})).await;
    let expiring_id = expiring["transaction_id"].as_str().unwrap().to_owned();
    w.clock.advance(w.service.config.transaction_secs + 1);
    let purged = llavero_presentations::audit::purge(&w.service)
        .await
        .unwrap();
    assert!(purged >= 3, "{purged}");

    let entries = w.service.store.audit_between(0, i64::MAX).await.unwrap();
    let of = |tx: &str, kind: &str| -> Vec<Value> {
        entries
            .iter()
            .filter(|e| e.kind == kind && e.detail["transaction"] == tx)
            .map(|e| e.detail.clone())
            .collect()
    };
    let asked = &of(&id, "presentation.created")[0];
    assert_eq!(asked["relying_party"], "farmacia");
    assert_eq!(
        asked["asked"]["credentials"][0]["claims"],
        json!([["given_name"], ["family_name"], ["run"]])
    );
    let refusals = of(&id, "presentation.refused");
    assert_eq!(refusals.len(), 1);
    assert_eq!(refusals[0]["reason"], "wrong_audience", "{}", refusals[0]);
    let answered = &of(&id, "presentation.answered")[0];
    assert_eq!(answered["status"], "verified");
    assert_eq!(
        answered["presented"]["identity_card"][0]["issuer"],
        REGISTRO
    );
    let wallet = &of(&refused_id, "presentation.answered")[0];
    assert_eq!(
        (wallet["status"].as_str(), wallet["error"].as_str()),
        (Some("wallet_error"), Some("access_denied"))
    );
    let expired = &of(&expiring_id, "presentation.expired")[0];
    assert_eq!(expired["answered"], false);
    assert_eq!(of(&id, "presentation.expired")[0]["answered"], true);
    // No claim value anywhere in the trail.
    let trail =
        serde_json::to_string(&entries.iter().map(|e| &e.detail).collect::<Vec<_>>()).unwrap();
    for secret in ["12.345.678-5", "Ana María", "Rojas"] {
        assert!(!trail.contains(secret), "{secret} in the audit trail");
    }
}

/// Creates `body`, answers with `credential` presented, returns the status and the result.
async fn authority_answer(w: &World, credential: String, body: Value) -> (StatusCode, Value) {
    let created = w.created(body).await;
    let id = created["transaction_id"].as_str().unwrap().to_owned();
    let request = w.fetch_request(&id, false).await;
    let vp = w.present(
        &credential,
        &[age_18()],
        request["client_id"].as_str().unwrap(),
        request["nonce"].as_str().unwrap(),
    );
    let (status, _) = w
        .respond_encrypted(&id, &request, json!({"identity_card": [vp]}))
        .await;
    (status, w.result(&id, None).await.1)
}

/// DCQL `trusted_authorities` of type `aki`: only a credential whose issuer chain holds the
/// named key identifier answers; an issuer known only from the trust list, or under another
/// authority, does not. Other authority types are refused when the transaction is created.
#[tokio::test]
async fn trusted_authorities_by_key_identifier_are_honoured() {
    let w = world().await;
    let query = |values: Value| {
        json!({"dcql_query": {"credentials": [{"id": "identity_card", "format": "dc+sd-jwt",
            "meta": {"vct_values": [IDENTITY_CARD]}, "claims": [{"path": ["age_equal_or_over", "18"]}],
            "trusted_authorities": [{"type": "aki", "values": values}]}]}})
    };
    let ski = w.pki.root_ski.clone();
    let (status, result) = authority_answer(&w, w.x509_card(), query(json!([ski]))).await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(result["status"], "verified", "{result}");
    assert_eq!(
        result["credentials"]["identity_card"][0]["issuer"],
        X509_ISSUER
    );
    // An issuer from the trust list has no chain to match.
    let card = w.identity_card(&w.issuer, IDENTITY_CARD, 3);
    let (status, result) = authority_answer(&w, card, query(json!([ski]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        result["last_refusal"]["reason"], "untrusted_authority",
        "{result}"
    );
    // Another authority's identifier.
    let (status, result) =
        authority_answer(&w, w.x509_card(), query(json!(["c29tZW9uZS1lbHNl"]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        result["last_refusal"]["reason"], "untrusted_authority",
        "{result}"
    );
    // Only aki is understood.
    let mut other = query(json!(["x"]));
    other["dcql_query"]["credentials"][0]["trusted_authorities"][0]["type"] = json!("etsi_tl");
    let (status, body) = w.create(other).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = w.create(query(json!([]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// `redirect_uri` client identifiers (unsigned requests) are refused unless the service is
/// configured for development; then the request object is unsecured (`alg: none`), the client
/// identifier is the response URI, and presentations are bound to it.
#[tokio::test]
async fn redirect_uri_client_ids_are_for_development_only() {
    let w = world().await;
    let body = json!({"preset": "age-over-18", "client_id_prefix": "redirect_uri"});
    let (status, refused) = w.create(body.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("development")
    );
    // A development instance on the same database.
    let dev = Presentations::new(
        PresentationsConfig {
            dangerous_allow_redirect_uri_client_ids: true,
            ..PresentationsConfig::default()
        },
        w.service.platform.clone(),
        Arc::clone(&w.service.trust),
    )
    .await
    .unwrap();
    let app = llavero_presentations::router(dev);
    let (status, text) = call(
        &app,
        "POST",
        "/verifier/api/transactions",
        Some(&w.token),
        Some(("application/json", body.to_string())),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let created: Value = serde_json::from_str(&text).unwrap();
    let id = created["transaction_id"].as_str().unwrap();
    let response_uri = format!("{BASE}/verifier/responses/{id}");
    assert_eq!(created["client_id"], format!("redirect_uri:{response_uri}"));
    let (status, jwt) = call(&app, "GET", &format!("/verifier/requests/{id}"), None, None).await;
    assert_eq!(status, StatusCode::OK);
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[2], "", "unsigned");
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "none");
    assert!(header.get("x5c").is_none());
    let request: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(request["client_id"], created["client_id"]);
    assert_eq!(request["response_uri"], response_uri);
    let (status, body) = w.respond_encrypted(id, &request, good(&w, &request)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(w.result(id, None).await.1["status"], "verified");
}
