//! The wallet over the in-process issuer: outbound requests to the issuer's base URL are
//! answered by its router; a citizen signed in through a provider session.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use llavero_store::{NewSession, hash_secret};
use llavero_wallet::fetch::{Answer, Fetch, FetchError, Outbound, UrlPolicy};
use llavero_wallet::session::BoxFuture;
use llavero_wallet::{WalletConfig, WalletState};
use serde_json::Value;
use tower::ServiceExt as _;

use crate::harness::{BASE, Service};

/// Answers the wallet's outbound requests to `BASE` from a router; anything else is
/// unreachable. Counts requests, and can be told to serve an oversized document at a path.
pub struct RouterFetch {
    pub router: Router,
    pub oversized: std::sync::Mutex<Option<String>>,
}

impl Fetch for RouterFetch {
    fn send(&self, request: Outbound) -> BoxFuture<'_, Result<Answer, FetchError>> {
        Box::pin(async move {
            let Some(path) = request.url.strip_prefix(BASE) else {
                return Err(FetchError::Unreachable(request.url));
            };
            if self.oversized.lock().unwrap().as_deref() == Some(path) {
                return Ok(Answer {
                    status: 200,
                    content_type: Some("application/json".into()),
                    body: format!("{{\"x\":\"{}\"}}", "a".repeat(200_000)).into_bytes(),
                });
            }
            let mut builder = Request::builder().method(request.method).uri(path);
            if let Some(token) = &request.bearer {
                builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
            let body = match request.body {
                Some((content_type, bytes)) => {
                    builder = builder.header(header::CONTENT_TYPE, content_type);
                    Body::from(bytes)
                }
                None => Body::empty(),
            };
            let response = self
                .router
                .clone()
                .oneshot(builder.body(body).unwrap())
                .await
                .unwrap();
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec();
            Ok(Answer {
                status,
                content_type,
                body,
            })
        })
    }
}

pub struct World {
    pub service: Service,
    pub wallet: WalletState,
    pub fetch: Arc<RouterFetch>,
    pub app: Router,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The anti-CSRF token of the page's first form.
    pub fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a form") + 19;
        let rest = &self.body[at..];
        rest[..rest.find('"').unwrap()].to_owned()
    }
}

impl World {
    pub async fn new() -> Self {
        Self::over(Service::sqlite().await)
    }

    /// On a fresh PostgreSQL schema.
    pub async fn postgres() -> Self {
        Self::over(Service::postgres().await)
    }

    fn over(service: Service) -> Self {
        let fetch = Arc::new(RouterFetch {
            router: service.router.clone(),
            oversized: std::sync::Mutex::new(None),
        });
        let mut config = WalletConfig::new(BASE);
        config.urls = UrlPolicy {
            dangerous_allow_http: false,
        };
        let wallet = llavero_server::wallet::build_with(&service.idp, config, fetch.clone());
        let app = llavero_wallet::router(Arc::clone(&wallet));
        Self {
            service,
            wallet,
            fetch,
            app,
        }
    }

    /// Signs the citizen with `run` in (activating an account) and returns the cookie header.
    pub async fn sign_in(&self, run: &str) -> String {
        let store = &self.service.idp.store;
        let number = i64::from(run.parse::<llavero_idp::registry::Run>().unwrap().number());
        let now = self.service.now();
        let account = match store.account_by_run(number).await.unwrap() {
            Some(a) => a,
            None => {
                let code = llavero_store::ActivationCode {
                    run: number,
                    code_hash: hash_secret(&format!("activation-{run}")),
                    expires_at: now + 60,
                };
                store.put_activation_code(&code, now).await.unwrap();
                store
                    .activate_account(&code, &format!("account-{number}"), "$argon2id$unused", now)
                    .await
                    .unwrap()
                    .unwrap()
            }
        };
        let cookie = llavero_idp::random::token();
        store
            .create_session(
                &NewSession {
                    id_hash: hash_secret(&cookie),
                    handle: llavero_idp::random::id(),
                    account_id: account.id,
                    auth_time: now,
                    acr: "urn:llavero:loa:substantial".into(),
                    amr: vec!["pwd".into()],
                    user_agent: "test".into(),
                    confirmed_at: None,
                },
                None,
                now,
            )
            .await
            .unwrap();
        format!("__Host-llavero_session={cookie}")
    }

    pub async fn send(&self, request: Request<Body>) -> Page {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = String::from_utf8(
            response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap();
        Page {
            status,
            location,
            body,
        }
    }

    pub async fn get(&self, cookie: &str, path: &str) -> Page {
        self.send(
            Request::get(path)
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub async fn post(&self, cookie: &str, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.send(
            Request::post(path)
                .header(header::COOKIE, cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    /// An agency offer for `run` of `configurations`, as the agency API returns it.
    pub async fn offer(&self, run: &str, configurations: &[&str]) -> Value {
        let response = self
            .service
            .offer(
                crate::harness::REGISTRO,
                &serde_json::json!({"run": run, "credential_configuration_ids": configurations,
                    "claims": {"birth-certificate": {"birth_place": "Valparaíso"}}}),
            )
            .await;
        assert!(response.status.is_success(), "{}", response.text());
        response.json()
    }

    /// Opens the offer in the wallet, accepts it with its tx_code; returns the final page.
    pub async fn receive(&self, cookie: &str, offer: &Value) -> Page {
        let link = format!(
            "/wallet/offer?credential_offer={}",
            form_urlencoded::byte_serialize(offer["credential_offer"].to_string().as_bytes())
                .collect::<String>()
        );
        let opened = self.get(cookie, &link).await;
        assert_eq!(opened.status, StatusCode::SEE_OTHER, "{}", opened.body);
        let page_path = opened.location.unwrap();
        let page = self.get(cookie, &page_path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let mut form = vec![("csrf", page.csrf())];
        if let Some(code) = offer["tx_code"].as_str() {
            form.push(("tx_code", code.to_owned()));
        }
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post(cookie, &format!("{page_path}/accept"), &form)
            .await
    }

    /// The ids of the citizen's held credentials.
    pub async fn held(&self, cookie: &str) -> Vec<String> {
        let page = self.get(cookie, "/wallet/export.json").await;
        let export: Value = serde_json::from_str(&page.body).unwrap();
        export["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    }
}
