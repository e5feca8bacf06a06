//! Per-address limits: whose address they count (the TCP peer, or the client a trusted proxy
//! names), IPv6 callers counted per /64, and the admin API's failure limit.

#![allow(
    clippy::unwrap_used,
    reason = "the request helpers fail loudly on fixtures of ours"
)]

mod harness;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use harness::*;
use llavero_idp::web::client_address::TrustedProxies;

/// A provider that trusts proxies in 10.0.0.0/8 and allows 3 client requests a minute.
async fn behind_proxies() -> Provider {
    Provider::configured(|config| {
        config.client_rate_per_minute = 3;
        config.trusted_proxies = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
    })
    .await
}

/// A token request (unauthenticated: it counts, then fails) from TCP peer `peer`, with an
/// `X-Forwarded-For` header if given.
async fn token_from(provider: &Provider, peer: &str, forwarded_for: Option<&str>) -> StatusCode {
    let peer: std::net::IpAddr = peer.parse().unwrap();
    let mut request = Request::post("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .extension(ConnectInfo(SocketAddr::new(peer, 40_000)));
    if let Some(value) = forwarded_for {
        request = request.header("x-forwarded-for", value);
    }
    let body = Body::from("grant_type=client_credentials");
    send(&provider.router, request.body(body).unwrap())
        .await
        .status
}

#[tokio::test]
async fn a_forwarding_header_from_an_untrusted_peer_is_ignored() {
    let provider = behind_proxies().await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let claimed = format!("198.51.100.{i}");
        statuses.push(token_from(&provider, "203.0.113.9", Some(&claimed)).await);
    }
    assert_eq!(statuses[..3], [StatusCode::UNAUTHORIZED; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_trusted_proxy_gives_each_client_its_own_budget() {
    let provider = behind_proxies().await;
    for i in 0..10 {
        let client = format!("198.51.100.{i}");
        assert_eq!(
            token_from(&provider, "10.0.0.2", Some(&client)).await,
            StatusCode::UNAUTHORIZED,
            "client {i} behind the proxy was limited by the others' requests"
        );
    }
    for _ in 0..3 {
        token_from(&provider, "10.0.0.2", Some("198.51.100.200")).await;
    }
    assert_eq!(
        token_from(&provider, "10.0.0.3", Some("198.51.100.200")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn spoofed_left_most_forwarding_entries_are_ignored() {
    let provider = behind_proxies().await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        // The client writes whatever it likes on the left; the proxy appends its real address.
        let header = format!("192.0.2.{i}, 198.51.100.7");
        statuses.push(token_from(&provider, "10.0.0.2", Some(&header)).await);
    }
    assert_eq!(statuses[..3], [StatusCode::UNAUTHORIZED; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn ipv6_callers_share_the_budget_of_their_64() {
    let provider = behind_proxies().await;
    let mut statuses = Vec::new();
    for i in 1..=4 {
        let address = format!("2001:db8:1:2::{i:x}");
        statuses.push(token_from(&provider, &address, None).await);
    }
    assert_eq!(statuses[..3], [StatusCode::UNAUTHORIZED; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        token_from(&provider, "2001:db8:1:3::1", None).await,
        StatusCode::UNAUTHORIZED,
        "the next /64 has its own budget"
    );
}

#[tokio::test]
async fn the_login_budget_is_per_64_too() {
    let provider = Provider::configured(|config| config.login_rate_per_minute = 2).await;
    let mut browser = provider.browser();
    let csrf = browser.get("/login").await.hidden("csrf");
    let cookie = browser
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut statuses = Vec::new();
    for i in 1..=3 {
        let peer: std::net::IpAddr = format!("2001:db8:5:6::{i}").parse().unwrap();
        let form = encode(&[
            ("csrf", &csrf),
            ("request", ""),
            ("run", RUN),
            ("password", "wrong"),
        ]);
        let request = Request::post("/login")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .extension(ConnectInfo(SocketAddr::new(peer, 40_000)))
            .body(Body::from(form))
            .unwrap();
        statuses.push(send(&provider.router, request).await.status);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}

/// An admin call from `peer` with `token`.
async fn admin_call(provider: &Provider, peer: &str, token: &str) -> Answer {
    let peer: std::net::IpAddr = peer.parse().unwrap();
    let request = Request::post("/admin/activation-codes")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .extension(ConnectInfo(SocketAddr::new(peer, 40_000)))
        .body(Body::from(r#"{"run":"11.111.111-1"}"#))
        .unwrap();
    send(&provider.router, request).await
}

#[tokio::test]
async fn admin_failures_are_limited_per_address_with_retry_after() {
    let provider = Provider::new().await;
    for i in 0..llavero_idp::admin::ADMIN_FAILURES_PER_MINUTE {
        let answer = admin_call(&provider, "203.0.113.5", &format!("guess-{i}")).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    // Past the limit even the right token gets no answer: guessing learns nothing.
    let limited = admin_call(&provider, "203.0.113.5", "admin-token").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        limited.headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 0
    );
    assert_eq!(limited.json()["error"], "too many failed admin calls");
    // Another address is not held back, and successes never count.
    for _ in 0..2 {
        let ok = admin_call(&provider, "198.51.100.1", "admin-token").await;
        assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    }
    provider.clock.advance(60);
    assert_eq!(
        admin_call(&provider, "203.0.113.5", "admin-token")
            .await
            .status,
        StatusCode::CREATED
    );
}
