//! Wiring of the wallet service: the identity provider's sessions, factor confirmation and
//! audit trail behind the wallet's [`CitizenSessions`], the master key behind its [`KeyWrap`],
//! so the wallet never depends on the provider's crate.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue};
use llavero_idp::IdpState;
use llavero_idp::web::{CookieName, CsrfSecret, cookie, set_cookie};
use llavero_platform::Origin;
use llavero_platform::Run;
use llavero_wallet::fetch::{HttpFetch, UrlPolicy};
use llavero_wallet::keys::{KeyError, KeyWrap, SealedKeys};
use llavero_wallet::session::{BoxFuture, Citizen, CitizenSessions, Confirmation, SessionError};
use llavero_wallet::{Wallet, WalletConfig, WalletParts, WalletState};
use zeroize::Zeroizing;

/// How recent a login must be to count as the confirmation of an account without keys (the
/// provider's rule for a first enrolment).
pub const FRESH_LOGIN_SECS: i64 = 600;

/// How recent a WebAuthn confirmation must be (the provider's rule for factor changes).
pub const CONFIRMATION_SECS: i64 = 300;

/// The provider's sessions, as the wallet sees them.
#[derive(Debug)]
pub struct ProviderSessions(pub IdpState);

#[allow(
    clippy::needless_pass_by_value,
    reason = "used as map_err(store_error)"
)]
fn store_error(e: llavero_store::StoreError) -> SessionError {
    SessionError(e.to_string())
}

impl CitizenSessions for ProviderSessions {
    fn signed_in<'a>(
        &'a self,
        headers: &'a HeaderMap,
    ) -> BoxFuture<'a, Result<Option<Citizen>, SessionError>> {
        Box::pin(async move {
            let idp = &self.0;
            let Some(value) = cookie(idp, headers, CookieName::Session) else {
                return Ok(None);
            };
            let Some(session) = idp
                .store
                .session(
                    &llavero_store::hash_secret(&value),
                    idp.session_limits(),
                    idp.now(),
                )
                .await
                .map_err(store_error)?
            else {
                return Ok(None);
            };
            let Some(account) = idp
                .store
                .account(&session.account_id)
                .await
                .map_err(store_error)?
            else {
                return Ok(None);
            };
            let run = u32::try_from(account.run)
                .ok()
                .and_then(|n| Run::from_number(n).ok())
                .map(|r| r.to_string())
                .unwrap_or_default();
            Ok(Some(Citizen {
                account_id: account.id,
                run,
                session: session.handle,
            }))
        })
    }

    fn confirm<'a>(
        &'a self,
        citizen: &'a Citizen,
    ) -> BoxFuture<'a, Result<Confirmation, SessionError>> {
        Box::pin(async move {
            let idp = &self.0;
            let now = idp.now();
            let has_keys = !idp
                .store
                .webauthn_credentials(&citizen.account_id)
                .await
                .map_err(store_error)?
                .is_empty();
            let confirmed = if has_keys {
                idp.store
                    .spend_confirmation(&citizen.session, now - CONFIRMATION_SECS)
                    .await
                    .map_err(store_error)?
            } else {
                idp.store
                    .sessions_of(&citizen.account_id, idp.session_limits(), now)
                    .await
                    .map_err(store_error)?
                    .iter()
                    .any(|s| s.handle == citizen.session && now - s.auth_time <= FRESH_LOGIN_SECS)
            };
            Ok(if confirmed {
                Confirmation::Confirmed
            } else {
                Confirmation::Needed
            })
        })
    }

    fn confirmation_csrf(&self, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
        let secret = CsrfSecret::from_request(&self.0, headers);
        let cookie = secret
            .is_new
            .then(|| set_cookie(&self.0, CookieName::Csrf, &secret.value, None));
        (secret.form_token(&self.0), cookie)
    }

    fn login_url(&self, _back: &str) -> String {
        "/login".to_owned()
    }

    fn record<'a>(
        &'a self,
        citizen: &'a Citizen,
        headers: &'a HeaderMap,
        kind: &'a str,
        detail: serde_json::Value,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let origin = Origin {
                ip: None,
                user_agent: headers
                    .get(axum::http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.chars().take(200).collect()),
            };
            llavero_idp::audit::record(
                &self.0,
                &origin,
                kind,
                Some(&citizen.account_id),
                None,
                detail,
            )
            .await;
        })
    }
}

/// The master key, wrapping the citizens' data keys.
#[derive(Debug)]
pub struct MasterWrap(pub IdpState);

impl KeyWrap for MasterWrap {
    fn wrap(&self, label: &str, plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.0
            .master
            .seal(label, plaintext)
            .map_err(|_| KeyError::Open)
    }

    fn unwrap(&self, label: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        self.0
            .master
            .open(label, sealed)
            .map_err(|_| KeyError::Open)
    }
}

/// The DER certificates of a PEM file (`LLAVERO_WALLET_TRUSTED_ROOTS`): CA roots the wallet
/// trusts for verifiers' signed requests besides the local presentation authority's.
///
/// # Errors
/// The file cannot be read, a block is not base64, or it holds no certificate.
pub fn read_trusted_roots(path: &std::path::Path) -> anyhow::Result<Vec<Vec<u8>>> {
    use anyhow::Context;
    use base64::Engine;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the wallet's trusted roots {}", path.display()))?;
    let mut roots = Vec::new();
    let mut block: Option<String> = None;
    for line in text.lines().map(str::trim) {
        match (line, block.as_mut()) {
            ("-----BEGIN CERTIFICATE-----", None) => block = Some(String::new()),
            ("-----END CERTIFICATE-----", Some(b64)) => {
                let der = base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .with_context(|| {
                        format!("a certificate in {} is not base64", path.display())
                    })?;
                roots.push(der);
                block = None;
            }
            (line, Some(b64)) => b64.push_str(line),
            _ => {}
        }
    }
    anyhow::ensure!(
        block.is_none() && !roots.is_empty(),
        "{} holds no complete PEM certificate",
        path.display()
    );
    Ok(roots)
}

/// Builds the wallet over the provider. Plain-http issuers and verifiers are reachable only
/// when the service itself runs on plain http (development). Verifiers' requests must chain
/// to `presentation_roots` (the local presentation authority's root), and the local signed
/// relying-party list names who asks.
pub fn build(idp: &IdpState, presentation_roots: &[Vec<u8>]) -> anyhow::Result<WalletState> {
    let mut config = WalletConfig::new(&idp.config.issuer);
    config.urls = UrlPolicy {
        dangerous_allow_http: !idp.config.issuer.starts_with("https://"),
    };
    config.trusted_roots = presentation_roots.to_vec();
    config.relying_party_lists = vec![format!(
        "{}/verifier/relying-parties.jwt",
        idp.config.issuer.trim_end_matches('/')
    )];
    Ok(build_with(idp, config, Arc::new(HttpFetch::new()?)))
}

/// Builds the wallet with a given configuration and outbound HTTP (tests answer in-process).
#[must_use]
pub fn build_with(
    idp: &IdpState,
    config: WalletConfig,
    fetch: Arc<dyn llavero_wallet::fetch::Fetch>,
) -> WalletState {
    let csrf_tag = ring::hmac::sign(&idp.master.derive("wallet-csrf"), b"wallet-csrf");
    let mut csrf_secret = [0u8; 32];
    csrf_secret.copy_from_slice(csrf_tag.as_ref().get(..32).unwrap_or(&[0u8; 32]));
    Wallet::new(
        config,
        WalletParts {
            store: idp.store.clone(),
            sessions: Arc::new(ProviderSessions(Arc::clone(idp))),
            keys: Arc::new(SealedKeys::new(
                idp.store.clone(),
                Arc::new(MasterWrap(Arc::clone(idp))),
            )),
            fetch,
            clock: Arc::clone(&idp.clock),
            csrf_secret,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::read_trusted_roots;

    #[test]
    fn trusted_roots_read_every_certificate_of_a_pem_file() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("roots.pem");
        std::fs::write(
            &path,
            "comment\n-----BEGIN CERTIFICATE-----\nAQID\nBA==\n-----END CERTIFICATE-----\n\
             -----BEGIN CERTIFICATE-----\nBQY=\n-----END CERTIFICATE-----\n",
        )?;
        assert_eq!(
            read_trusted_roots(&path)?,
            vec![vec![1, 2, 3, 4], vec![5, 6]]
        );
        Ok(())
    }

    #[test]
    fn trusted_roots_refuse_a_file_without_a_complete_certificate() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("roots.pem");
        std::fs::write(&path, "-----BEGIN CERTIFICATE-----\nAQID\n")?;
        assert!(read_trusted_roots(&path).is_err());
        std::fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
        )?;
        assert!(read_trusted_roots(&path).is_err());
        assert!(read_trusted_roots(&dir.path().join("missing.pem")).is_err());
        Ok(())
    }
}
