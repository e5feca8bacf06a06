//! The holder's operations. Signatures come from the app through [`HolderSigner`], because the
//! holder's key lives in the Secure Enclave or Android Keystore and never leaves it.

use std::sync::Arc;

use llavero_credentials::crypto::{Algorithm, CryptoError, Signer, default_backend};
use llavero_credentials::jwk::Jwk;
use llavero_credentials::sd_jwt::ClaimPath;
use llavero_holder::dcql;
use llavero_holder::offer::{self, OfferSource};
use llavero_holder::{present, proof, signature};

use crate::errors::{HolderError, SignerError};
use crate::guard;

/// Implemented by the app over its platform keystore: an ES256 (P-256) key.
#[uniffi::export(with_foreign)]
pub trait HolderSigner: Send + Sync {
    /// The public key as a JWK (JSON).
    fn public_jwk(&self) -> String;
    /// Signs `message` with ECDSA P-256 over SHA-256. Either the JOSE form (64 bytes, `R || S`)
    /// or DER, as keystores return it, is accepted.
    fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>, SignerError>;
}

/// The app's signer seen as Llavero's [`Signer`].
struct ForeignSigner {
    inner: Arc<dyn HolderSigner>,
    jwk: Jwk,
}

impl ForeignSigner {
    fn new(inner: Arc<dyn HolderSigner>) -> Result<Self, HolderError> {
        let jwk = serde_json::from_str::<Jwk>(&inner.public_jwk()).map_err(|e| {
            HolderError::Malformed {
                reason: format!("signer public key: {e}"),
            }
        })?;
        Ok(Self { inner, jwk })
    }
}

impl Signer for ForeignSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Es256
    }

    fn public_jwk(&self) -> &Jwk {
        &self.jwk
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let sig = self
            .inner
            .sign(message.to_vec())
            .map_err(|e| CryptoError::Signing(e.to_string()))?;
        let raw =
            signature::from_platform(&sig).map_err(|e| CryptoError::Signing(e.to_string()))?;
        // A signature that does not verify with the declared key is the app's bug, caught here
        // rather than by every verifier later.
        default_backend()
            .verify(Algorithm::Es256, self.jwk.key(), message, &raw)
            .map_err(|_| {
                CryptoError::Signing("the signer's signature does not match its public key".into())
            })?;
        Ok(raw)
    }
}

fn holder_error(e: &dyn std::fmt::Display) -> HolderError {
    let message = e.to_string();
    if message.contains("signing failed") || message.contains("signer") {
        HolderError::Signing { reason: message }
    } else {
        HolderError::Malformed { reason: message }
    }
}

/// A presentation of a held credential for one verifier and one request: an SD-JWT VC with the
/// claims at `disclose` (JSON claim paths such as `["address","locality"]`, or dotted
/// `address.locality`) and a key-binding JWT, or a `vc+jwt` in a `vp+jwt`.
#[uniffi::export]
pub fn create_presentation(
    credential: String,
    disclose: Vec<String>,
    audience: String,
    nonce: String,
    issued_at: i64,
    signer: Arc<dyn HolderSigner>,
) -> Result<String, HolderError> {
    guard(
        |reason| HolderError::Internal { reason },
        || {
            let paths = disclose
                .iter()
                .map(|p| match serde_json::from_str::<serde_json::Value>(p) {
                    Ok(v @ serde_json::Value::Array(_)) => {
                        ClaimPath::from_value(&v).map_err(|e| holder_error(&e))
                    }
                    _ => ClaimPath::parse_dotted(p).map_err(|e| holder_error(&e)),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let signer = ForeignSigner::new(signer)?;
            present::present(
                &credential,
                &paths,
                &audience,
                &nonce,
                issued_at,
                &signer,
                default_backend(),
            )
            .map_err(|e| holder_error(&e))
        },
    )
}

/// An OpenID4VCI proof-of-possession JWT (`openid4vci-proof+jwt`) for `credential_issuer`.
#[uniffi::export]
pub fn create_proof_jwt(
    credential_issuer: String,
    nonce: Option<String>,
    issued_at: i64,
    client_id: Option<String>,
    signer: Arc<dyn HolderSigner>,
) -> Result<String, HolderError> {
    guard(
        |reason| HolderError::Internal { reason },
        || {
            let signer = ForeignSigner::new(signer)?;
            proof::proof_jwt(
                &signer,
                &credential_issuer,
                nonce.as_deref(),
                issued_at,
                client_id.as_deref(),
            )
            .map_err(|e| holder_error(&e))
        },
    )
}

/// The transaction code the user will be asked for.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TxCode {
    /// `numeric` or `text`.
    pub input_mode: String,
    /// Its length, when known.
    pub length: Option<u32>,
    /// Where to find it.
    pub description: Option<String>,
}

/// An OpenID4VCI credential offer as plain values.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CredentialOffer {
    /// The issuer (absent when the offer is by reference and still to be fetched).
    pub credential_issuer: Option<String>,
    /// The offered configurations.
    pub credential_configuration_ids: Vec<String>,
    /// The pre-authorized code, if that grant is offered.
    pub pre_authorized_code: Option<String>,
    /// The transaction code requirement of the pre-authorized grant.
    pub tx_code: Option<TxCode>,
    /// `issuer_state` of the authorization code grant, if offered.
    pub issuer_state: Option<String>,
    /// Whether the authorization code grant is offered.
    pub authorization_code_grant: bool,
    /// For an offer by reference: the https URL to fetch it from (then parse the JSON with
    /// `parse_credential_offer` of `openid-credential-offer://?credential_offer=…`).
    pub offer_uri: Option<String>,
}

/// Parses an `openid-credential-offer://` URI (by value or by reference).
#[uniffi::export]
pub fn parse_credential_offer(uri: String) -> Result<CredentialOffer, HolderError> {
    guard(
        |reason| HolderError::Internal { reason },
        || match offer::parse_offer_uri(&uri).map_err(|e| holder_error(&e))? {
            OfferSource::ByReference(url) => Ok(CredentialOffer {
                credential_issuer: None,
                credential_configuration_ids: Vec::new(),
                pre_authorized_code: None,
                tx_code: None,
                issuer_state: None,
                authorization_code_grant: false,
                offer_uri: Some(url),
            }),
            OfferSource::ByValue(o) => {
                let pre = o.grants.pre_authorized_code;
                Ok(CredentialOffer {
                    credential_issuer: Some(o.credential_issuer),
                    credential_configuration_ids: o.credential_configuration_ids,
                    tx_code: pre
                        .as_ref()
                        .and_then(|g| g.tx_code.clone())
                        .map(|t| TxCode {
                            input_mode: t.input_mode.unwrap_or_else(|| "numeric".into()),
                            length: t.length,
                            description: t.description,
                        }),
                    pre_authorized_code: pre.map(|g| g.pre_authorized_code),
                    authorization_code_grant: o.grants.authorization_code.is_some(),
                    issuer_state: o.grants.authorization_code.and_then(|g| g.issuer_state),
                    offer_uri: None,
                })
            }
        },
    )
}

/// A held credential chosen to answer one credential query of a DCQL request.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DcqlMatch {
    /// The credential query's `id` (the key of the `vp_token` entry).
    pub query_id: String,
    /// Index into the held credentials passed in.
    pub credential_index: u32,
    /// The claims to disclose, as JSON claim paths (pass them to `create_presentation`).
    pub disclose: Vec<String>,
}

/// The holder's own view of a credential, in DCQL's terms.
fn held_for_dcql(credential: &str) -> Result<dcql::HeldCredential, HolderError> {
    let credential = credential.trim();
    if credential.contains('~') {
        let sd_jwt =
            llavero_credentials::sd_jwt::SdJwt::parse(credential).map_err(|e| holder_error(&e))?;
        let claims = llavero_credentials::sd_jwt::reveal(
            sd_jwt.unverified_payload().clone(),
            sd_jwt.disclosures(),
            default_backend(),
        )
        .map_err(|e| holder_error(&e))?
        .claims;
        let vct = claims
            .get("vct")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
        return Ok(dcql::HeldCredential {
            format: "dc+sd-jwt".into(),
            types: vec![vct],
            claims,
        });
    }
    let vc = llavero_credentials::vc_jwt::DecodedVcJwt::decode(credential)
        .map_err(|e| holder_error(&e))?;
    let claims = vc.unverified_credential().clone();
    let types = match claims.get("type") {
        Some(serde_json::Value::Array(t)) => t
            .iter()
            .filter_map(serde_json::Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    Ok(dcql::HeldCredential {
        format: "jwt_vc_json".into(),
        types,
        claims,
    })
}

/// Answers an OpenID4VP DCQL query (`dcql_query`, JSON) from the held credentials: which
/// credential answers each query, and which of its claims to disclose.
#[uniffi::export]
pub fn match_dcql_query(
    query_json: String,
    held: Vec<String>,
) -> Result<Vec<DcqlMatch>, HolderError> {
    guard(
        |reason| HolderError::Internal { reason },
        || {
            let query = dcql::DcqlQuery::parse(&query_json).map_err(|e| holder_error(&e))?;
            let held = held
                .iter()
                .map(|c| held_for_dcql(c))
                .collect::<Result<Vec<_>, _>>()?;
            let answers = dcql::answer(&query, &held).map_err(|e| match e {
                dcql::DcqlError::Unsatisfiable(_) => HolderError::NotAnswerable {
                    reason: e.to_string(),
                },
                other => holder_error(&other),
            })?;
            Ok(answers
                .into_iter()
                .map(|a| DcqlMatch {
                    query_id: a.query_id,
                    credential_index: u32::try_from(a.credential).unwrap_or(u32::MAX),
                    disclose: a.disclose.iter().map(ToString::to_string).collect(),
                })
                .collect())
        },
    )
}
