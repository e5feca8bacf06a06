//! OpenID4VCI issuance end to end, in process: offers, the pre-authorized code with a
//! transaction code, nonces, proofs, batches, status lists, the agency API, the registry
//! coupling, deferred issuance, and the attacks each step must refuse.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::too_many_lines)]

mod harness;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use harness::{BASE, OTHER_RUN, REGISTRO, RUN, Service, TRANSITO, holder_key, person, proof};
use llavero_credentials::jwk::Jwk;
use llavero_store::PersonStatus;
use llavero_verifier::{Expectations, Rejection};
use serde_json::json;

macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $scenario() {
                super::$scenario(super::Service::sqlite().await).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $scenario() {
                if llavero_store::testing::skip_postgres() {
                    return;
                }
                super::$scenario(super::Service::postgres().await).await;
            })*
        }
    };
}

on_both_backends!(
    pre_authorized_batch_is_bound_to_each_key_and_verifies,
    revocation_and_suspension_reach_the_published_lists,
);

async fn pre_authorized_batch_is_bound_to_each_key_and_verifies(service: Service) {
    let offer = service
        .offer(
            REGISTRO,
            &json!({"run": RUN, "credential_configuration_ids": ["birth-certificate_sd-jwt"],
                    "claims": {"birth-certificate": {"birth_place": "Valparaíso"}}}),
        )
        .await;
    assert_eq!(offer.status, StatusCode::OK, "{}", offer.text());
    let offer = offer.json();
    let tx_code = offer["tx_code"].as_str().unwrap();
    assert_eq!(tx_code.len(), 6);
    assert!(tx_code.bytes().all(|b| b.is_ascii_digit()));

    // By reference: the same offer object, including the pre-authorized code.
    let id = offer["id"].as_str().unwrap();
    let by_reference = service.get(&format!("/{REGISTRO}/offers/{id}")).await;
    assert_eq!(by_reference.json(), offer["credential_offer"]);
    assert_eq!(
        by_reference.json()["credential_issuer"],
        format!("{BASE}/{REGISTRO}")
    );
    let qr = service
        .get(&format!("/{REGISTRO}/offers/{id}/qr.svg"))
        .await;
    assert_eq!(qr.headers[header::CONTENT_TYPE], "image/svg+xml");

    let token = service
        .redeem(&Service::code_of(&offer), Some(tx_code))
        .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text());
    let token = token.json()["access_token"].as_str().unwrap().to_owned();

    let keys = [holder_key(1), holder_key(2), holder_key(3)];
    let nonce = service.nonce(REGISTRO).await;
    let response = service
        .request_credentials(REGISTRO, &token, "birth-certificate_sd-jwt", &keys, &nonce)
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    assert!(body["notification_id"].is_string());
    let credentials: Vec<String> = body["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["credential"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(credentials.len(), 3);

    let verifier = service.verifier().await;
    let mut indexes = Vec::new();
    for (credential, key) in credentials.iter().zip(&keys) {
        let verified = verifier
            .verify(credential, service.now(), &Expectations::default())
            .unwrap();
        let vc = &verified.credentials()[0];
        assert_eq!(vc.issuer(), format!("{BASE}/{REGISTRO}"));
        assert_eq!(vc.claims()["run"], RUN);
        assert_eq!(vc.claims()["birth_place"], "Valparaíso");
        assert_eq!(vc.claims()["family_name"], "González Rojas");
        assert_eq!(vc.holder_key().map(Jwk::key), Some(key.public().key()));
        let payload =
            llavero_credentials::jws::DecodedJws::decode(credential.split('~').next().unwrap())
                .unwrap()
                .unverified_value()
                .unwrap();
        indexes.push(payload["status"]["status_list"]["idx"].as_u64().unwrap());
    }
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), 3, "each credential has its own slot");

    // Every credential the wallet got is recorded, in its own slot.
    let listed = service
        .get_with_agency_token(REGISTRO, "/registro-civil/api/credentials")
        .await;
    assert_eq!(listed["credentials"].as_array().unwrap().len(), 3);

    // The nonce was single use; the code too.
    let again = service
        .request_credentials(
            REGISTRO,
            &token,
            "birth-certificate_sd-jwt",
            &keys[..1],
            &nonce,
        )
        .await;
    assert_eq!(again.error(), "invalid_nonce");
    let replay = service
        .redeem(&Service::code_of(&offer), Some(tx_code))
        .await;
    assert_eq!(replay.error(), "invalid_grant");
}

async fn revocation_and_suspension_reach_the_published_lists(service: Service) {
    let token = service.access_token().await;
    let sd = service
        .issue_one(REGISTRO, &token, "birth-certificate_sd-jwt", &holder_key(1))
        .await;
    let w3c = service
        .issue_one(REGISTRO, &token, "birth-certificate_vc-jwt", &holder_key(2))
        .await;
    let verified = service
        .verifier()
        .await
        .verify(&w3c, service.now(), &Expectations::default())
        .unwrap();
    assert_eq!(
        verified.credentials()[0].credential_type(),
        "BirthCertificateCredential"
    );

    let agency_token = service.agency_token(REGISTRO).await;
    let listed = service
        .get_with_agency_token(REGISTRO, "/registro-civil/api/credentials")
        .await;
    let ids: Vec<(String, String)> = listed["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["format"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let id_of = |format: &str| ids.iter().find(|(_, f)| f == format).unwrap().0.clone();
    let change = |id: String, action: &'static str| {
        let token = agency_token.clone();
        let service = &service;
        async move {
            service
                .post_json(
                    &format!("/{REGISTRO}/api/credentials/{id}/{action}"),
                    Some(&token),
                    &json!({"reason": "court order 123"}),
                )
                .await
        }
    };
    let list_path = format!("/{REGISTRO}/status/1");
    let before = service.get(&list_path).await;
    assert_eq!(
        before.headers[header::CONTENT_TYPE],
        "application/statuslist+jwt"
    );
    assert!(
        before.headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age=300")
    );
    let etag = before.headers[header::ETAG].clone();
    let not_modified = service
        .send(
            Request::get(&list_path)
                .header(header::IF_NONE_MATCH, etag.clone())
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);

    // Suspend: the verifier (with a fresh bundle) says suspended; unsuspend: valid again.
    assert_eq!(
        change(id_of("dc+sd-jwt"), "suspend").await.status,
        StatusCode::OK
    );
    let verifier = service.verifier().await;
    assert_eq!(
        verifier
            .verify(&sd, service.now(), &Expectations::default())
            .unwrap_err(),
        Rejection::Suspended
    );
    let after = service.get(&list_path).await;
    assert_ne!(after.headers[header::ETAG], etag, "the list changed");
    assert_eq!(
        change(id_of("dc+sd-jwt"), "unsuspend").await.status,
        StatusCode::OK
    );
    assert!(
        service
            .verifier()
            .await
            .verify(&sd, service.now(), &Expectations::default())
            .is_ok()
    );

    // Revoke both: the token list and the W3C revocation list say so; revocation is final.
    assert_eq!(
        change(id_of("dc+sd-jwt"), "revoke").await.status,
        StatusCode::OK
    );
    assert_eq!(
        change(id_of("jwt_vc_json"), "revoke").await.status,
        StatusCode::OK
    );
    let verifier = service.verifier().await;
    assert_eq!(
        verifier
            .verify(&sd, service.now(), &Expectations::default())
            .unwrap_err(),
        Rejection::Revoked
    );
    assert_eq!(
        verifier
            .verify(&w3c, service.now(), &Expectations::default())
            .unwrap_err(),
        Rejection::Revoked
    );
    let unrevoke = change(id_of("dc+sd-jwt"), "unsuspend").await;
    assert_eq!(unrevoke.status, StatusCode::BAD_REQUEST);
    assert!(unrevoke.text().contains("final"));
    let w3c_list = service
        .get(&format!("/{REGISTRO}/status/1/revocation"))
        .await;
    assert_eq!(w3c_list.headers[header::CONTENT_TYPE], "application/vc+jwt");
}

#[tokio::test]
async fn an_optional_claim_left_out_is_simply_absent() {
    let service = Service::sqlite().await;
    let offer = service
        .offer(REGISTRO, &json!({"run": RUN, "credential_configuration_ids": ["birth-certificate_sd-jwt"], "tx_code": false}))
        .await
        .json();
    let token = service.redeem(&Service::code_of(&offer), None).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let credential = service
        .issue_one(REGISTRO, &token, "birth-certificate_sd-jwt", &holder_key(1))
        .await;
    let verified = service
        .verifier()
        .await
        .verify(&credential, service.now(), &Expectations::default())
        .unwrap();
    assert!(
        verified.credentials()[0]
            .claims()
            .get("birth_place")
            .is_none()
    );
    assert_eq!(
        verified.credentials()[0].claims()["birthdate"],
        "1990-04-12"
    );
}

#[tokio::test]
async fn the_authorization_code_flow_issues_registry_credentials_after_two_factors() {
    use llavero_idp::factors::{ACR_LOW, ACR_SUBSTANTIAL};
    let service = Service::sqlite().await;
    let config = "birth-certificate_sd-jwt";
    // A password-only login is not enough to put an identity document in a wallet.
    let weak = service.idp_access_token(config, ACR_LOW).await;
    let refused = service
        .request_fresh(REGISTRO, &weak, config, &[holder_key(1)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.error(), "insufficient_authentication");

    // By scope: the configuration id.
    let token = service.idp_access_token(config, ACR_SUBSTANTIAL).await;
    let issued = service
        .request_fresh(REGISTRO, &token, config, &[holder_key(2)])
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.text());
    let credential = issued.json()["credentials"][0]["credential"]
        .as_str()
        .unwrap()
        .to_owned();
    let verified = service
        .verifier()
        .await
        .verify(&credential, service.now(), &Expectations::default())
        .unwrap();
    assert_eq!(verified.credentials()[0].claims()["run"], RUN);

    // By authorization_details: the credential_identifier the token response named.
    let token = service
        .idp_access_token("openid_credential:identity-card_sd-jwt", ACR_SUBSTANTIAL)
        .await;
    let nonce = service.nonce(REGISTRO).await;
    let proof = proof(
        &holder_key(3),
        &format!("{BASE}/{REGISTRO}"),
        &nonce,
        service.now(),
    );
    let by_identifier = service
        .post_json(
            &format!("/{REGISTRO}/credential"),
            Some(&token),
            &json!({"credential_identifier": "identity-card_sd-jwt", "proofs": {"jwt": [proof]}}),
        )
        .await;
    // The identity card needs the agency's document expiry, which no login supplies.
    assert_eq!(by_identifier.error(), "credential_request_denied");
    assert!(
        by_identifier.text().contains("document_expiry"),
        "{}",
        by_identifier.text()
    );
    let unknown = service
        .post_json(
            &format!("/{REGISTRO}/credential"),
            Some(&token),
            &json!({"credential_identifier": "birth-certificate_sd-jwt", "proofs": {"jwt": ["x"]}}),
        )
        .await;
    assert_eq!(unknown.error(), "unknown_credential_identifier");
}

#[tokio::test]
async fn wrong_transaction_codes_kill_the_offer_after_five() {
    let service = Service::sqlite().await;
    let offer = service
        .offer(
            REGISTRO,
            &json!({"run": RUN, "credential_configuration_ids": ["identity-card_sd-jwt"],
                                 "claims": {"identity-card": {"document_expiry": "2031-01-01"}}}),
        )
        .await
        .json();
    let code = Service::code_of(&offer);
    let right = offer["tx_code"].as_str().unwrap();
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_eq!(service.redeem(&code, None).await.error(), "invalid_request");
    for _ in 0..5 {
        let attempt = service.redeem(&code, Some(wrong)).await;
        assert_eq!(attempt.error(), "invalid_grant");
    }
    // The right code no longer helps, and the offer is gone.
    assert_eq!(
        service.redeem(&code, Some(right)).await.error(),
        "invalid_grant"
    );
    let id = offer["id"].as_str().unwrap();
    assert_eq!(
        service
            .get(&format!("/{REGISTRO}/offers/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn repeated_parameters_are_refused_at_both_token_endpoints() {
    let service = Service::sqlite().await;
    let offer = service
        .offer(
            REGISTRO,
            &json!({"run": RUN, "credential_configuration_ids": ["identity-card_sd-jwt"],
                    "claims": {"identity-card": {"document_expiry": "2031-01-01"}}}),
        )
        .await
        .json();
    let code = Service::code_of(&offer);
    let tx = offer["tx_code"].as_str().unwrap();
    let grant = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
    // Two transaction codes in one request would be two guesses for one attempt.
    for form in [
        vec![
            ("grant_type", grant),
            ("pre-authorized_code", code.as_str()),
            ("tx_code", "000000"),
            ("tx_code", tx),
        ],
        vec![
            ("grant_type", grant),
            ("pre-authorized_code", "unknown"),
            ("pre-authorized_code", code.as_str()),
            ("tx_code", tx),
        ],
    ] {
        let refused = service.post_form("/token", &form).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{}",
            refused.text()
        );
        assert_eq!(refused.error(), "invalid_request");
        assert!(refused.text().contains("repeated"), "{}", refused.text());
    }
    // Nothing was counted or spent: the code still redeems, first time.
    assert_eq!(service.redeem(&code, Some(tx)).await.status, StatusCode::OK);

    let (_, client, secret) = &service.clients[0];
    for form in [
        vec![
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
            ("client_id", client.as_str()),
            ("client_secret", secret.as_str()),
        ],
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", "someone-else"),
            ("client_id", client.as_str()),
            ("client_secret", secret.as_str()),
        ],
    ] {
        let refused = service.post_form("/agency/token", &form).await;
        assert_eq!(
            refused.status,
            StatusCode::BAD_REQUEST,
            "{}",
            refused.text()
        );
        assert_eq!(refused.error(), "invalid_request");
    }
    let single = service
        .post_form(
            "/agency/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client.as_str()),
                ("client_secret", secret.as_str()),
            ],
        )
        .await;
    assert_eq!(single.status, StatusCode::OK, "{}", single.text());
}

#[tokio::test]
async fn proofs_with_wrong_audience_foreign_key_stale_iat_or_reused_nonce_are_refused() {
    let service = Service::sqlite().await;
    let token = service.access_token().await;
    let config = "birth-certificate_sd-jwt";
    let send = |proofs: Vec<String>| {
        let token = token.clone();
        let service = &service;
        async move {
            service
                .post_json(
                    &format!("/{REGISTRO}/credential"),
                    Some(&token),
                    &json!({"credential_configuration_id": config, "proofs": {"jwt": proofs}}),
                )
                .await
        }
    };
    let key = holder_key(5);
    let audience = format!("{BASE}/{REGISTRO}");

    let nonce = service.nonce(REGISTRO).await;
    let wrong_aud = send(vec![proof(
        &key,
        &format!("{BASE}/{TRANSITO}"),
        &nonce,
        service.now(),
    )])
    .await;
    assert_eq!(wrong_aud.error(), "invalid_proof");
    assert!(wrong_aud.text().contains("aud"));

    // A proof carrying one key but signed with another.
    let mut forged = proof(&holder_key(6), &audience, &nonce, service.now());
    let honest = proof(&key, &audience, &nonce, service.now());
    let header = honest.split('.').next().unwrap();
    forged = format!("{header}.{}", forged.split_once('.').unwrap().1);
    let forged = send(vec![forged]).await;
    assert_eq!(forged.error(), "invalid_proof");
    assert!(forged.text().contains("signature"));

    let stale = send(vec![proof(&key, &audience, &nonce, service.now() - 3600)]).await;
    assert_eq!(stale.error(), "invalid_proof");

    let unknown = send(vec![proof(&key, &audience, "never-issued", service.now())]).await;
    assert_eq!(unknown.error(), "invalid_nonce");

    // An expired nonce.
    let old = service.nonce(REGISTRO).await;
    service.clock.advance(301);
    let token_expired = send(vec![proof(&key, &audience, &old, service.now())]).await;
    // The token (5 min) also expired: the wallet is told its token is no good first.
    assert_eq!(token_expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        token_expired.headers[header::WWW_AUTHENTICATE],
        "Bearer error=\"invalid_token\""
    );

    let stale_nonce = service.nonce(REGISTRO).await;
    service.clock.advance(301);
    let token2 = service.access_token().await;
    let response = service
        .request_credentials(
            REGISTRO,
            &token2,
            config,
            std::slice::from_ref(&key),
            &stale_nonce,
        )
        .await;
    assert_eq!(response.error(), "invalid_nonce");

    // The same key twice in one batch, and more proofs than the batch size.
    let twice = service
        .request_fresh(REGISTRO, &token2, config, &[key.clone(), key.clone()])
        .await;
    assert_eq!(twice.error(), "invalid_proof");
    let many: Vec<_> = (0..11).map(holder_key).collect();
    let too_many = service
        .request_fresh(REGISTRO, &token2, config, &many)
        .await;
    assert_eq!(too_many.error(), "invalid_credential_request");
}

#[tokio::test]
async fn requests_outside_the_token_agency_or_schema_are_refused() {
    let service = Service::sqlite().await;
    // A type the agency may not issue.
    let wrong_agency = service
        .offer(
            TRANSITO,
            &json!({"run": RUN, "credential_configuration_ids": ["birth-certificate_sd-jwt"]}),
        )
        .await;
    assert_eq!(wrong_agency.status, StatusCode::FORBIDDEN);
    // Claims failing the schema: each reason named.
    let bad_claims = service
        .offer(TRANSITO, &json!({"run": RUN, "credential_configuration_ids": ["driving-licence_sd-jwt"],
                                 "claims": {"driving-licence": {"classes": ["Z"], "licence_expiry": "soon"}}}))
        .await;
    assert_eq!(bad_claims.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_claims.text().contains("/classes/0"),
        "{}",
        bad_claims.text()
    );
    assert!(bad_claims.text().contains("/licence_expiry"));
    // A registry claim the agency tries to set.
    let override_registry = service
        .offer(
            REGISTRO,
            &json!({"run": RUN, "credential_configuration_ids": ["birth-certificate_sd-jwt"],
                                 "claims": {"birth-certificate": {"birthdate": "2000-01-01"}}}),
        )
        .await;
    assert!(override_registry.text().contains("civil registry"));
    // An unknown RUN or an invalid check digit.
    let bad_run = service
        .offer(REGISTRO, &json!({"run": "12.345.678-9", "credential_configuration_ids": ["birth-certificate_sd-jwt"]}))
        .await;
    assert_eq!(bad_run.error(), "invalid_request");

    // A token of one agency on another's credential endpoint, and a configuration not covered.
    let token = service.access_token().await;
    let elsewhere = service
        .request_fresh(TRANSITO, &token, "driving-licence_sd-jwt", &[holder_key(1)])
        .await;
    assert_eq!(elsewhere.status, StatusCode::UNAUTHORIZED);
    let nonce = service.nonce(REGISTRO).await;
    let not_offered = service
        .request_credentials(
            REGISTRO,
            &token,
            "identity-card_sd-jwt",
            &[holder_key(1)],
            &nonce,
        )
        .await;
    assert_eq!(not_offered.status, StatusCode::FORBIDDEN);
    let unknown = service
        .request_credentials(
            REGISTRO,
            &token,
            "passport_sd-jwt",
            &[holder_key(1)],
            &nonce,
        )
        .await;
    assert_eq!(unknown.error(), "unknown_credential_configuration");

    // Singular proof, both identifiers, oversized body.
    let singular = service
        .post_json(&format!("/{REGISTRO}/credential"), Some(&token),
                   &json!({"credential_configuration_id": "birth-certificate_sd-jwt", "proof": {"proof_type": "jwt", "jwt": "x"}}))
        .await;
    assert_eq!(singular.error(), "invalid_credential_request");
    let huge = service
        .post_json(&format!("/{REGISTRO}/credential"), Some(&token),
                   &json!({"credential_configuration_id": "birth-certificate_sd-jwt", "proofs": {"jwt": ["a".repeat(70_000)]}}))
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn an_agency_cannot_touch_another_agencys_credentials() {
    let service = Service::sqlite().await;
    let token = service.access_token().await;
    let nonce = service.nonce(REGISTRO).await;
    assert_eq!(
        service
            .request_credentials(
                REGISTRO,
                &token,
                "birth-certificate_sd-jwt",
                &[holder_key(1)],
                &nonce
            )
            .await
            .status,
        StatusCode::OK
    );
    let listed = service
        .get_with_agency_token(REGISTRO, "/registro-civil/api/credentials")
        .await;
    let id = listed["credentials"][0]["id"].as_str().unwrap().to_owned();
    let transito = service.agency_token(TRANSITO).await;
    // Through its own path: the credential is not its own.
    let own_path = service
        .post_json(
            &format!("/{TRANSITO}/api/credentials/{id}/revoke"),
            Some(&transito),
            &json!({"reason": "x"}),
        )
        .await;
    assert_eq!(own_path.status, StatusCode::NOT_FOUND);
    // Through the other agency's path: its token is refused.
    let other_path = service
        .post_json(
            &format!("/{REGISTRO}/api/credentials/{id}/revoke"),
            Some(&transito),
            &json!({"reason": "x"}),
        )
        .await;
    assert_eq!(other_path.status, StatusCode::FORBIDDEN);
    let listing = service
        .send(
            Request::get("/registro-civil/api/credentials")
                .header(header::AUTHORIZATION, format!("Bearer {transito}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(listing.status, StatusCode::FORBIDDEN);
    let still = service
        .get_with_agency_token(REGISTRO, "/registro-civil/api/credentials")
        .await;
    assert_eq!(still["credentials"][0]["status"], "valid");
}

#[tokio::test]
async fn registry_status_revokes_suspends_and_lifts() {
    let service = Service::sqlite().await;
    let token = service.access_token().await;
    let credential = service
        .issue_one(REGISTRO, &token, "birth-certificate_sd-jwt", &holder_key(1))
        .await;
    let store = &service.idp.store;
    let verify = || async {
        service
            .verifier()
            .await
            .verify(&credential, service.now(), &Expectations::default())
            .map(|_| ())
    };
    store
        .upsert_people(&[person(RUN, PersonStatus::Blocked, 2)], service.now())
        .await
        .unwrap();
    assert_eq!(verify().await, Err(Rejection::Suspended));
    store
        .upsert_people(&[person(RUN, PersonStatus::Active, 3)], service.now())
        .await
        .unwrap();
    assert_eq!(verify().await, Ok(()));
    store
        .upsert_people(&[person(RUN, PersonStatus::Deceased, 4)], service.now())
        .await
        .unwrap();
    assert_eq!(verify().await, Err(Rejection::Revoked));
    let dead = service
        .offer(
            REGISTRO,
            &json!({"run": RUN, "credential_configuration_ids": ["birth-certificate_sd-jwt"]}),
        )
        .await;
    assert_eq!(
        dead.status,
        StatusCode::BAD_REQUEST,
        "no offers for a deceased person"
    );
    // Deceased is final even if a later record says active.
    store
        .upsert_people(&[person(RUN, PersonStatus::Active, 5)], service.now())
        .await
        .unwrap();
    assert_eq!(verify().await, Err(Rejection::Revoked));
    // The other citizen's offers still work.
    let other = service
        .offer(REGISTRO, &json!({"run": OTHER_RUN, "credential_configuration_ids": ["birth-certificate_sd-jwt"]}))
        .await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.text());
}

#[tokio::test]
async fn deferred_issuance_waits_for_the_agency_approval() {
    let service = Service::sqlite().await;
    let offer = service
        .offer(REGISTRO, &json!({"run": RUN, "credential_configuration_ids": ["criminal-record_sd-jwt"],
                                 "claims": {"criminal-record": {"has_records": false, "purpose": "employment"}},
                                 "tx_code": false}))
        .await
        .json();
    assert!(offer["tx_code"].is_null());
    let token = service.redeem(&Service::code_of(&offer), None).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let pending = service
        .request_fresh(
            REGISTRO,
            &token,
            "criminal-record_sd-jwt",
            &[holder_key(1), holder_key(2)],
        )
        .await;
    assert_eq!(pending.status, StatusCode::ACCEPTED, "{}", pending.text());
    let transaction = pending.json()["transaction_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deferred_path = format!("/{REGISTRO}/deferred-credential");
    let deferred_body = json!({"transaction_id": transaction});
    let poll = || service.post_json(&deferred_path, Some(&token), &deferred_body);
    assert_eq!(poll().await.error(), "issuance_pending");

    let queue = service
        .get_with_agency_token(REGISTRO, "/registro-civil/api/deferred")
        .await;
    let id = queue["deferred"][0]["id"].as_str().unwrap().to_owned();
    let agency = service.agency_token(REGISTRO).await;
    let approved = service
        .post_json(
            &format!("/{REGISTRO}/api/deferred/{id}/approve"),
            Some(&agency),
            &json!({}),
        )
        .await;
    assert_eq!(approved.status, StatusCode::OK);
    let collected = poll().await;
    assert_eq!(collected.status, StatusCode::OK, "{}", collected.text());
    let credentials = collected.json()["credentials"].as_array().unwrap().clone();
    assert_eq!(credentials.len(), 2);
    let verified = service
        .verifier()
        .await
        .verify(
            credentials[0]["credential"].as_str().unwrap(),
            service.now(),
            &Expectations::default(),
        )
        .unwrap();
    assert_eq!(verified.credentials()[0].claims()["has_records"], false);
    // Collected once.
    assert_eq!(poll().await.error(), "invalid_transaction_id");

    let notified = service
        .post_json(&format!("/{REGISTRO}/notification"), Some(&token),
                   &json!({"notification_id": collected.json()["notification_id"], "event": "credential_accepted"}))
        .await;
    assert_eq!(notified.status, StatusCode::NO_CONTENT);
    let unknown = service
        .post_json(
            &format!("/{REGISTRO}/notification"),
            Some(&token),
            &json!({"notification_id": "nope", "event": "credential_accepted"}),
        )
        .await;
    assert_eq!(unknown.error(), "invalid_notification_id");
}

#[tokio::test]
async fn metadata_describes_every_configuration_and_the_keys() {
    let service = Service::sqlite().await;
    let metadata = service
        .get("/.well-known/openid-credential-issuer/registro-civil")
        .await
        .json();
    assert_eq!(metadata["credential_issuer"], format!("{BASE}/{REGISTRO}"));
    assert_eq!(metadata["authorization_servers"], json!([BASE]));
    assert_eq!(metadata["batch_credential_issuance"]["batch_size"], 10);
    let configurations = metadata["credential_configurations_supported"]
        .as_object()
        .unwrap();
    assert_eq!(configurations.len(), 6);
    assert_eq!(
        configurations["identity-card_sd-jwt"]["vct"],
        "https://llavero.cl/vct/identity-card"
    );
    assert_eq!(
        configurations["identity-card_vc-jwt"]["credential_definition"]["type"],
        json!(["VerifiableCredential", "IdentityCardCredential"])
    );
    let authorization_server = service
        .get("/.well-known/oauth-authorization-server")
        .await
        .json();
    assert_eq!(
        authorization_server["pre-authorized_grant_anonymous_access_supported"],
        true
    );
    assert!(
        authorization_server["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(
                "urn:ietf:params:oauth:grant-type:pre-authorized_code"
            ))
    );

    // The signed form: the same metadata, signed by a published key of the agency.
    let signed = service
        .send(
            Request::get("/.well-known/openid-credential-issuer/registro-civil")
                .header(header::ACCEPT, "application/jwt")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(signed.headers[header::CONTENT_TYPE], "application/jwt");
    let jws = llavero_credentials::jws::DecodedJws::decode(&signed.text()).unwrap();
    assert_eq!(
        jws.header().typ.as_deref(),
        Some("openidvci-issuer-metadata+jwt")
    );
    let claims = jws.unverified_value().unwrap();
    assert_eq!(claims["sub"], format!("{BASE}/{REGISTRO}"));
    assert_eq!(
        claims["credential_configurations_supported"],
        metadata["credential_configurations_supported"]
    );
    let jwt_vc = service
        .get("/.well-known/jwt-vc-issuer/registro-civil")
        .await
        .json();
    assert_eq!(jwt_vc["issuer"], format!("{BASE}/{REGISTRO}"));
    let key = Jwk::from_value(&jwt_vc["jwks"]["keys"][0]).unwrap();
    jws.verify(
        llavero_credentials::crypto::default_backend(),
        &key,
        &llavero_credentials::jws::AlgorithmPolicy::es256_only(),
    )
    .unwrap();
    let did = service.get("/registro-civil/did.json").await.json();
    assert_eq!(did["id"], "did:web:llavero.test:registro-civil");
    assert_eq!(
        Jwk::from_value(&did["verificationMethod"][0]["publicKeyJwk"]).unwrap(),
        key
    );
    assert_eq!(
        service
            .get("/.well-known/openid-credential-issuer/nowhere")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

/// What a Sphereon wallet (`@sphereon/oid4vci-client`) and other wallets built on the drafts
/// do: ask for the metadata at `{credential_issuer}/.well-known/openid-credential-issuer`.
/// They get the same metadata as at 1.0's path, and a path under the issuer that does not
/// exist answers a JSON error to a client that accepts JSON, never an HTML page.
#[tokio::test]
async fn a_draft_wallet_finds_the_metadata_and_json_errors_under_the_issuer() {
    let service = Service::sqlite().await;
    let canonical = service
        .get(&format!("/.well-known/openid-credential-issuer/{REGISTRO}"))
        .await
        .json();
    let json_get = |path: String| {
        Request::get(path)
            .header(header::ACCEPT, "application/json")
            .body(Body::empty())
            .unwrap()
    };
    let draft = service
        .send(json_get(format!(
            "/{REGISTRO}/.well-known/openid-credential-issuer"
        )))
        .await;
    assert_eq!(draft.status, StatusCode::OK);
    assert_eq!(draft.json(), canonical);
    assert_eq!(
        draft.json()["credential_issuer"],
        format!("{BASE}/{REGISTRO}")
    );
    for path in [
        format!("/{REGISTRO}/.well-known/openid-configuration"),
        format!("/{REGISTRO}/no-such-endpoint"),
        "/nowhere/.well-known/openid-credential-issuer".to_owned(),
    ] {
        let missing = service.send(json_get(path.clone())).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            missing.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{path}"
        );
        assert_eq!(missing.json()["error"], "not_found", "{path}");
    }
    // A browser still gets the page.
    let page = service
        .send(
            Request::get(format!("/{REGISTRO}/no-such-endpoint"))
                .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.text().contains("<html"), "{}", page.text());
}

#[tokio::test]
async fn rotation_publishes_the_new_key_first_and_keeps_the_old_one() {
    let service = Service::sqlite().await;
    let issuer = &service.issuer;
    let before = issuer.agency_keys(REGISTRO).await.unwrap();
    let new_kid = llavero_issuer::keys::rotate(
        &issuer.platform.store,
        &issuer.platform.master,
        REGISTRO,
        service.now(),
        3600,
        86_400,
    )
    .await
    .unwrap();
    issuer.keys.invalidate();
    let during = issuer.agency_keys(REGISTRO).await.unwrap();
    assert_eq!(
        during.kid, before.kid,
        "the old key signs during the overlap"
    );
    assert_eq!(
        during.published.len(),
        2,
        "the new key is already published"
    );
    service.clock.advance(3600);
    issuer.keys.invalidate();
    let after = issuer.agency_keys(REGISTRO).await.unwrap();
    assert_eq!(after.kid, new_kid);
    assert_eq!(
        after.published.len(),
        2,
        "the old key stays while its credentials may be valid"
    );
    service.clock.advance(86_400 + 61);
    issuer.keys.invalidate();
    let later = issuer.agency_keys(REGISTRO).await.unwrap();
    assert_eq!(later.published.len(), 1);
}

#[tokio::test]
async fn expired_nonces_and_tokens_are_purged() {
    let service = Service::sqlite().await;
    let token = service.access_token().await;
    let spent = service.nonce(REGISTRO).await;
    let issued = service
        .request_credentials(
            REGISTRO,
            &token,
            "birth-certificate_sd-jwt",
            &[holder_key(2)],
            &spent,
        )
        .await;
    assert_eq!(issued.status, StatusCode::OK);
    let nonce = service.nonce(REGISTRO).await;
    let store = &service.idp.store;
    assert_eq!(store.purge_issuance_state(service.now()).await.unwrap(), 0);
    service.clock.advance(601);
    // The spent nonce, the wallet's token and the agency token of the offer are gone.
    assert!(store.purge_issuance_state(service.now()).await.unwrap() >= 3);
    let response = service
        .request_credentials(
            REGISTRO,
            &token,
            "birth-certificate_sd-jwt",
            &[holder_key(1)],
            &nonce,
        )
        .await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn pre_authorized_token_requests_are_rate_limited_per_ip() {
    let service = Service::sqlite().await;
    let limit = service.idp.config.client_rate_per_minute;
    for _ in 0..limit {
        assert_eq!(service.redeem("guess", None).await.error(), "invalid_grant");
    }
    let limited = service.redeem("guess", None).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key(header::RETRY_AFTER));
}
