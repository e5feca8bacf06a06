//! The carpeta ciudadana (`/account`): its sections, the wallet's events in the history, and the
//! withdrawal of a standing consent from Permisos — asked first, audited, scoped to the
//! signed-in citizen, and followed by a new consent question at the next login.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers outside #[test] fns
#![allow(clippy::too_many_lines)] // each scenario reads top to bottom, as a citizen goes

mod harness;

use axum::http::StatusCode;
use harness::*;
use llavero_idp::audit::Origin;
use llavero_idp::clients::Registration;
use serde_json::json;

/// The second citizen of the seeded registry, activated here.
const OTHER_RUN: &str = "11.111.111-1";

async fn account_of(provider: &Provider, run: &str) -> String {
    let number = i64::from(run.parse::<llavero_idp::registry::Run>().unwrap().number());
    provider
        .idp
        .store
        .account_by_run(number)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Activates the second citizen and signs them in to `client_id` (login, consent): their
/// browser and the code's PKCE verifier and code.
async fn other_citizen_consents(provider: &Provider, client_id: &str) -> (Browser, String, String) {
    let code =
        llavero_idp::accounts::issue_activation_code(&provider.idp, OTHER_RUN.parse().unwrap())
            .await
            .unwrap();
    llavero_idp::accounts::activate(
        &provider.idp,
        OTHER_RUN,
        &code.code,
        SERIAL,
        PASSWORD,
        PASSWORD,
    )
    .await
    .unwrap()
    .unwrap();
    let mut browser = provider.browser();
    let (verifier, challenge) = pkce();
    let start = browser.authorize(client_id, &challenge, &[]).await;
    let answer = browser.login(&start.location(), OTHER_RUN, PASSWORD).await;
    assert!(answer.location().starts_with("/consent"), "{answer:?}");
    let answer = browser.consent(&answer.location()).await;
    let code = answer.location_params()["code"].clone();
    (browser, verifier, code)
}

/// Signs the first citizen's `browser` in to `client_id` and allows it (already signed in).
async fn consent_to(browser: &mut Browser, client_id: &str) {
    let (_, challenge) = pkce();
    let start = browser.authorize(client_id, &challenge, &[]).await;
    assert!(start.location().starts_with("/consent"), "{start:?}");
    let answer = browser.consent(&start.location()).await;
    assert!(answer.location().starts_with(REDIRECT), "{answer:?}");
}

fn withdrawals(entries: &[llavero_store::AuditEntry]) -> Vec<&llavero_store::AuditEntry> {
    entries
        .iter()
        .filter(|e| e.kind == "consent" && e.detail["result"] == "revoked")
        .collect()
}

#[tokio::test]
async fn the_carpeta_has_its_sections_in_plain_spanish() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    browser.code(&provider).await;
    let page = browser.get("/account").await;
    assert_eq!(page.status, StatusCode::OK);
    for section in ["documentos", "historial", "permisos", "seguridad", "datos"] {
        assert!(
            page.body.contains(&format!(
                "<section id=\"{section}\" aria-labelledby=\"{section}-h\">"
            )),
            "section {section}"
        );
        assert!(page.body.contains(&format!("<h2 id=\"{section}-h\">")));
    }
    for text in [
        "Tu carpeta ciudadana",
        "Mis documentos",
        "Aún no tienes documentos en tu billetera.",
        "href=\"/wallet\"",
        "Dónde usé mi identidad y mis documentos",
        "Permisos",
        "A quién mostraste tus documentos",
        "Seguridad",
        "Códigos de recuperación",
        "Sesiones abiertas",
        "<nav aria-label=\"Secciones de tu carpeta\">",
        "aria-label=\"Retirar acceso: Municipalidad de Prueba\"",
    ] {
        assert!(page.body.contains(text), "{text}");
    }
}

#[tokio::test]
async fn withdrawal_asks_first_then_withdraws_audits_and_the_next_login_asks_consent_again() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    let (code, verifier) = browser.code(&provider).await;
    let tokens = provider.token(&code, &verifier).await.json();
    let account = account_of(&provider, RUN).await;
    let page = browser.get("/account").await;

    // The first press only asks, naming the service and what it may read.
    let asked = browser
        .post(
            "/account/consents/revoke",
            &[
                ("csrf", &page.hidden("csrf")),
                ("client_id", &provider.client_id),
            ],
        )
        .await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(
        asked
            .body
            .contains("¿Quieres retirar el acceso de Municipalidad de Prueba a tus datos?")
    );
    assert!(asked.body.contains("Tu RUN"));
    assert_eq!(asked.hidden("confirm"), "yes");
    assert!(
        provider
            .idp
            .store
            .consent(&account, &provider.client_id)
            .await
            .unwrap()
            .is_some(),
        "nothing withdrawn before the confirmation"
    );

    // Without the form's CSRF token nothing happens.
    let forged = browser
        .post(
            "/account/consents/revoke",
            &[
                ("csrf", "forged"),
                ("client_id", &provider.client_id),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(
        provider
            .idp
            .store
            .consent(&account, &provider.client_id)
            .await
            .unwrap()
            .is_some()
    );

    let done = browser
        .post(
            "/account/consents/revoke",
            &[
                ("csrf", &asked.hidden("csrf")),
                ("client_id", &asked.hidden("client_id")),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location(), "/account?withdrawn=1#permisos");
    assert!(
        provider
            .idp
            .store
            .consent(&account, &provider.client_id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        provider
            .userinfo(tokens["access_token"].as_str().unwrap())
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "the service's tokens are revoked"
    );
    let after = browser.get("/account?withdrawn=1").await;
    assert!(
        after
            .body
            .contains("Retiraste el acceso. Si vuelves a entrar a ese servicio")
    );
    assert!(!after.body.contains("action=\"/account/consents/revoke\""));
    assert!(
        after.body.contains("Retiraste el acceso</dd>"),
        "in the history"
    );

    // Audited once, for this citizen and this service, in the hash chain.
    let history = provider
        .idp
        .store
        .audit_of_account(&account, 50)
        .await
        .unwrap();
    let withdrawn = withdrawals(&history);
    assert_eq!(withdrawn.len(), 1);
    assert_eq!(
        withdrawn[0].client_id.as_deref(),
        Some(provider.client_id.as_str())
    );
    assert_eq!(
        withdrawn[0].detail["withdrawn_scopes"],
        json!(["openid", "run", "name", "birthdate"])
    );
    assert!(
        provider
            .idp
            .store
            .verify_audit_chain()
            .await
            .unwrap()
            .is_ok()
    );

    // The next login to that service asks for consent again.
    let (_, challenge) = pkce();
    let again = browser
        .authorize(&provider.client_id, &challenge, &[])
        .await;
    assert!(
        again.location().starts_with("/consent?request="),
        "{again:?}"
    );

    // Withdrawing again: nothing to withdraw, said plainly, nothing audited.
    let page = browser.get("/account").await;
    let twice = browser
        .post(
            "/account/consents/revoke",
            &[
                ("csrf", &page.hidden("csrf")),
                ("client_id", &provider.client_id),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(twice.status, StatusCode::NOT_FOUND);
    assert!(twice.body.contains("Ese servicio no tiene un permiso tuyo"));
    let history = provider
        .idp
        .store
        .audit_of_account(&account, 50)
        .await
        .unwrap();
    assert_eq!(withdrawals(&history).len(), 1);
}

#[tokio::test]
async fn one_citizen_cannot_withdraw_another_citizens_consent() {
    let provider = Provider::new().await;
    let (second_client, _) = provider
        .register(Registration {
            name: "Hospital de Prueba".into(),
            redirect_uris: vec![REDIRECT.into()],
            post_logout_redirect_uris: vec![],
            scopes: vec!["openid run name birthdate".into()],
            token_endpoint_auth_method: None,
            min_acr: None,
            subject_type: None,
            jwks: None,
            id_token_signed_response_alg: None,
            pkce: None,
        })
        .await;
    // The first citizen consents to both services; the second only to the first.
    let mut first = provider.browser();
    let (code, verifier) = first.code(&provider).await;
    let first_tokens = provider.token(&code, &verifier).await.json();
    consent_to(&mut first, &second_client).await;
    let (mut second, verifier, code) = other_citizen_consents(&provider, &provider.client_id).await;
    let second_tokens = provider.token(&code, &verifier).await.json();
    let first_account = account_of(&provider, RUN).await;
    let second_account = account_of(&provider, OTHER_RUN).await;

    // The second citizen names the service only the first citizen allowed: nothing of the
    // first citizen's is touched, and the confirmation page does not even name it.
    let page = second.get("/account").await;
    assert!(!page.body.contains("Hospital de Prueba"));
    for confirm in ["", "yes"] {
        let answer = second
            .post(
                "/account/consents/revoke",
                &[
                    ("csrf", &page.hidden("csrf")),
                    ("client_id", &second_client),
                    ("confirm", confirm),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
        assert!(!answer.body.contains("Hospital de Prueba"));
    }
    assert!(
        provider
            .idp
            .store
            .consent(&first_account, &second_client)
            .await
            .unwrap()
            .is_some()
    );

    // Withdrawing their own consent to the shared service leaves the first citizen's in place.
    let answer = second
        .post(
            "/account/consents/revoke",
            &[
                ("csrf", &page.hidden("csrf")),
                ("client_id", &provider.client_id),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert!(
        provider
            .idp
            .store
            .consent(&second_account, &provider.client_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        provider
            .idp
            .store
            .consent(&first_account, &provider.client_id)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        provider
            .userinfo(first_tokens["access_token"].as_str().unwrap())
            .await
            .status,
        StatusCode::OK,
        "the first citizen's tokens still work"
    );
    assert_eq!(
        provider
            .userinfo(second_tokens["access_token"].as_str().unwrap())
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let first_history = provider
        .idp
        .store
        .audit_of_account(&first_account, 50)
        .await
        .unwrap();
    assert!(withdrawals(&first_history).is_empty());
    let second_history = provider
        .idp
        .store
        .audit_of_account(&second_account, 50)
        .await
        .unwrap();
    assert_eq!(withdrawals(&second_history).len(), 1);

    // A signed-out browser withdraws nothing.
    let mut stranger = provider.browser();
    let login_page = stranger.get("/login").await;
    let answer = stranger
        .post(
            "/account/consents/revoke",
            &[
                ("csrf", &login_page.hidden("csrf")),
                ("client_id", &provider.client_id),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_ne!(answer.status, StatusCode::OK);
    assert!(
        provider
            .idp
            .store
            .consent(&first_account, &provider.client_id)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn wallet_events_show_whom_and_what_with_plain_labels_and_a_fallback() {
    let provider = Provider::new().await;
    let mut browser = provider.browser();
    browser.code(&provider).await;
    let account = account_of(&provider, RUN).await;
    let origin = Origin::default();
    let record = |kind: &'static str, detail: serde_json::Value| {
        llavero_idp::audit::record(&provider.idp, &origin, kind, Some(&account), None, detail)
    };
    record("wallet.received", json!({"credentials": ["c1"]})).await;
    record(
        "wallet.presented",
        json!({"verifier": {"name": "Farmacia Central", "client_id": "x509_hash:abc"},
               "claims": ["Mayor de 18 años", "RUN"], "documents": ["Cédula de identidad"]}),
    )
    .await;
    record(
        "wallet.presented",
        json!({"verifier": "Farmacia Central", "claims": [{"label": "Mayor de 18 años"}]}),
    )
    .await;
    record("wallet.something_new", json!({})).await;
    record("something.else", json!({})).await;
    // Another citizen's presentation never shows here.
    llavero_idp::audit::record(
        &provider.idp,
        &origin,
        "wallet.presented",
        Some("another-account"),
        None,
        json!({"verifier": "Notaría Ajena"}),
    )
    .await;

    let page = browser.get("/account").await;
    for text in [
        "Recibiste un documento en tu billetera",
        "Mostraste un documento",
        "Farmacia Central",
        "Mayor de 18 años",
        "Mayor de 18 años, RUN (Cédula de identidad)",
        "Actividad en tus documentos",
        "Otra actividad en tu cuenta",
        "2 en total",
    ] {
        assert!(page.body.contains(text), "{text}");
    }
    assert!(!page.body.contains("event_"), "never a raw key");
    assert!(!page.body.contains("Notaría Ajena"));
    assert!(
        !page
            .body
            .contains("Aún no has mostrado documentos de tu billetera.")
    );
    // Farmacia Central is listed once under Permisos, with the last time and what was shared.
    let permisos = page
        .body
        .split("<section id=\"permisos\"")
        .nth(1)
        .unwrap()
        .split("</section>")
        .next()
        .unwrap();
    assert_eq!(
        permisos.matches("Farmacia Central").count(),
        1,
        "{permisos}"
    );
    assert!(
        provider
            .idp
            .store
            .verify_audit_chain()
            .await
            .unwrap()
            .is_ok()
    );
}
