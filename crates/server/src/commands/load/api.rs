//! The issuer's HTTP API as a load worker calls it: blocking, one keep-alive connection per
//! worker, plain HTTP (a load test measures the service, not a TLS stack), and every failure
//! reduced to a short kind so a run's summary can count them.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

/// Why a call failed, short enough to count by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// `endpoint: HTTP 400 invalid_proof`, `endpoint: io: Connection refused …`.
    pub(crate) kind: String,
    /// The HTTP status, when the server answered.
    pub(crate) status: Option<u16>,
}

impl Failure {
    fn new(endpoint: &str, reason: impl std::fmt::Display) -> Self {
        Self {
            kind: format!("{endpoint}: {reason}"),
            status: None,
        }
    }

    /// Whether the server did not answer at all (down, restarting, refusing connections).
    pub(crate) fn is_transport(&self) -> bool {
        self.status.is_none()
    }

    /// Whether a token was refused, so the session behind it must be renewed.
    pub(crate) fn is_unauthorized(&self) -> bool {
        self.status == Some(401)
    }

    /// A failure of the load client itself (key generation, proof signing).
    pub(crate) fn client(reason: impl std::fmt::Display) -> Self {
        Self::new("client", reason)
    }
}

/// One worker's view of one agency.
pub(crate) struct Api {
    agent: ureq::Agent,
    base: String,
    agency: String,
}

impl Api {
    /// A client for `agency` at `base` (no trailing slash needed).
    pub(crate) fn new(base: &str, agency: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Self {
            agent,
            base: base.trim_end_matches('/').to_owned(),
            agency: agency.to_owned(),
        }
    }

    /// The agency's credential issuer identifier: the `aud` of proofs.
    pub(crate) fn credential_issuer(&self) -> String {
        format!("{}/{}", self.base, self.agency)
    }

    /// `POST /agency/token` with HTTP Basic client authentication.
    pub(crate) fn agency_token(&self, client_id: &str, secret: &str) -> Result<String, Failure> {
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
        let response = self
            .agent
            .post(format!("{}/agency/token", self.base))
            .header("authorization", format!("Basic {basic}"))
            .send_form([("grant_type", "client_credentials")]);
        string_field(
            &finish("agency token", response)?,
            "access_token",
            "agency token",
        )
    }

    /// `POST /{agency}/api/offers` without a transaction code; returns the pre-authorized code.
    pub(crate) fn offer(
        &self,
        agency_token: &str,
        run: &str,
        configuration_id: &str,
        claims: &Value,
    ) -> Result<String, Failure> {
        let body = json!({
            "run": run,
            "credential_configuration_ids": [configuration_id],
            "claims": claims,
            "tx_code": false,
        });
        let response = self
            .agent
            .post(format!("{}/api/offers", self.credential_issuer()))
            .header("authorization", format!("Bearer {agency_token}"))
            .content_type("application/json")
            .send(body.to_string());
        let answer = finish("offer", response)?;
        answer
            .pointer("/credential_offer/grants/urn:ietf:params:oauth:grant-type:pre-authorized_code/pre-authorized_code")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| Failure::new("offer", "no pre-authorized code in the answer"))
    }

    /// `POST /token` with the pre-authorized code grant; returns the access token.
    pub(crate) fn token(&self, code: &str) -> Result<String, Failure> {
        let response = self.agent.post(format!("{}/token", self.base)).send_form([
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            ),
            ("pre-authorized_code", code),
        ]);
        string_field(&finish("token", response)?, "access_token", "token")
    }

    /// `POST /{agency}/nonce`: a fresh single-use `c_nonce`.
    pub(crate) fn nonce(&self) -> Result<String, Failure> {
        let response = self
            .agent
            .post(format!("{}/nonce", self.credential_issuer()))
            .send_empty();
        string_field(&finish("nonce", response)?, "c_nonce", "nonce")
    }

    /// `POST /{agency}/credential` with `proofs`; returns the credentials.
    pub(crate) fn credential(
        &self,
        access_token: &str,
        configuration_id: &str,
        proofs: &[String],
    ) -> Result<Vec<String>, Failure> {
        let body = json!({
            "credential_configuration_id": configuration_id,
            "proofs": {"jwt": proofs},
        });
        let response = self
            .agent
            .post(format!("{}/credential", self.credential_issuer()))
            .header("authorization", format!("Bearer {access_token}"))
            .content_type("application/json")
            .send(body.to_string());
        let answer = finish("credential", response)?;
        let credentials: Vec<String> = answer
            .get("credentials")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|c| c.get("credential").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if credentials.len() == proofs.len() {
            Ok(credentials)
        } else {
            Err(Failure::new(
                "credential",
                format!(
                    "{} credentials for {} proofs",
                    credentials.len(),
                    proofs.len()
                ),
            ))
        }
    }

    /// `GET /{agency}/api/credentials?limit=…`: ids of the newest credentials still valid.
    pub(crate) fn valid_credential_ids(
        &self,
        agency_token: &str,
        limit: u32,
    ) -> Result<Vec<String>, Failure> {
        let response = self
            .agent
            .get(format!(
                "{}/api/credentials?limit={limit}",
                self.credential_issuer()
            ))
            .header("authorization", format!("Bearer {agency_token}"))
            .call();
        let answer = finish("list", response)?;
        Ok(answer
            .get("credentials")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter(|c| c.get("status").and_then(Value::as_str) == Some("valid"))
                    .filter_map(|c| c.get("id").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// `POST /{agency}/api/credentials/{id}/revoke`.
    pub(crate) fn revoke(&self, agency_token: &str, id: &str) -> Result<(), Failure> {
        let response = self
            .agent
            .post(format!(
                "{}/api/credentials/{id}/revoke",
                self.credential_issuer()
            ))
            .header("authorization", format!("Bearer {agency_token}"))
            .content_type("application/json")
            .send(json!({"reason": "load test"}).to_string());
        finish("revoke", response).map(|_| ())
    }
}

/// Reads the whole answer: the JSON body of a 2xx, else a failure named by status and the
/// OAuth-style `error` code.
fn finish(
    endpoint: &str,
    response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Value, Failure> {
    let mut response = response.map_err(|e| Failure::new(endpoint, e))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| Failure::new(endpoint, e))?;
    let body: Option<Value> = serde_json::from_str(&text).ok();
    if !(200..300).contains(&status) {
        let code = body
            .as_ref()
            .and_then(|b| b.get("error"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Err(Failure {
            kind: format!("{endpoint}: HTTP {status} {code}")
                .trim_end()
                .to_owned(),
            status: Some(status),
        });
    }
    body.ok_or_else(|| Failure::new(endpoint, "the answer is not JSON"))
}

fn string_field(answer: &Value, field: &str, endpoint: &str) -> Result<String, Failure> {
    answer
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Failure::new(endpoint, format!("no {field} in the answer")))
}
