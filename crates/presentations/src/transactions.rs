//! Transactions: a relying party's request (its DCQL query within its registration, a fresh
//! nonce, state and response key), the signed request object wallets fetch by reference, and
//! the result the relying party reads once.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use llavero_credentials::jws::{self, Header};
use llavero_holder::dcql::DcqlQuery;
use llavero_platform::Origin;
use llavero_store::PresentationTransaction;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::jwe::{ENC_VALUES, ResponseKey};
use crate::parties::{ClientIdPrefix, Party};
use crate::state::{Presentations, random_token};

/// How the wallet answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ResponseMode {
    /// Encrypted to the transaction's key (HAIP's, the default).
    #[default]
    #[serde(rename = "direct_post.jwt")]
    DirectPostJwt,
    /// A plain form post.
    #[serde(rename = "direct_post")]
    DirectPost,
}

impl ResponseMode {
    /// Its wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DirectPostJwt => "direct_post.jwt",
            Self::DirectPost => "direct_post",
        }
    }
}

/// `POST /verifier/api/transactions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// A DCQL query.
    #[serde(default)]
    pub dcql_query: Option<Value>,
    /// Or the name of one of the relying party's presets.
    #[serde(default)]
    pub preset: Option<String>,
    /// `direct_post.jwt` (default) or `direct_post`.
    #[serde(default)]
    pub response_mode: ResponseMode,
    /// Same-device: where the wallet sends the citizen back (one of the registered URIs).
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// Transaction data (OpenID4VP 1.0 §5.1), base64url JSON objects.
    #[serde(default)]
    pub transaction_data: Option<Vec<String>>,
    /// `get` (default) or `post`.
    #[serde(default)]
    pub request_uri_method: Option<String>,
    /// `x509_hash` (default), `x509_san_dns`, or `redirect_uri` (development only, when the
    /// service allows it).
    #[serde(default)]
    pub client_id_prefix: ClientIdPrefix,
}

/// What is kept of a request while it waits: never a claim of the citizen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredRequest {
    /// The client identifier (with its prefix).
    pub client_id: String,
    /// The nonce presentations must be bound to.
    pub nonce: String,
    /// The state the response must carry.
    pub state: String,
    /// The DCQL query.
    pub dcql_query: Value,
    /// The response mode.
    pub response_mode: ResponseMode,
    /// Same-device return address.
    pub redirect_uri: Option<String>,
    /// Transaction data.
    pub transaction_data: Option<Vec<String>>,
    /// `get` or `post`.
    pub request_uri_method: String,
    /// The response key's id.
    pub key_id: String,
}

/// A created transaction, as the relying party receives it.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    /// The transaction id.
    pub transaction_id: String,
    /// The authorization request by reference (`openid4vp://?client_id=…&request_uri=…`).
    pub authorization_request: String,
    /// The request URI.
    pub request_uri: String,
    /// The QR code of the authorization request (SVG).
    pub qr_svg: String,
    /// The QR code (PNG).
    pub qr_png: String,
    /// The link for a wallet on the same device.
    pub same_device: String,
    /// The client identifier.
    pub client_id: String,
    /// When the transaction expires.
    pub expires_at: i64,
}

fn key_label(id: &str) -> String {
    format!("presentation-transaction:{id}")
}

/// Checks transaction data: base64url JSON objects with a `type` and `credential_ids` naming
/// queries of the request (§5.1, §8.4).
fn check_transaction_data(data: &[String], query: &DcqlQuery) -> Result<(), ApiError> {
    let invalid = |why: &str| ApiError::bad("invalid_transaction_data", why.to_owned());
    for item in data {
        let decoded: Value = URL_SAFE_NO_PAD
            .decode(item)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| invalid("each item must be base64url JSON"))?;
        if !decoded.get("type").is_some_and(Value::is_string) {
            return Err(invalid("each item needs a type"));
        }
        let ids = decoded
            .get("credential_ids")
            .and_then(Value::as_array)
            .filter(|ids| !ids.is_empty())
            .ok_or_else(|| invalid("each item needs credential_ids"))?;
        for id in ids {
            let q = query
                .credentials
                .iter()
                .find(|q| Some(q.id.as_str()) == id.as_str())
                .ok_or_else(|| invalid("credential_ids must name queries of the request"))?;
            if q.format != "dc+sd-jwt" {
                return Err(invalid(
                    "transaction data is bound by SD-JWT key binding only",
                ));
            }
        }
    }
    Ok(())
}

/// The client identifier of transaction `id` under `prefix`; `redirect_uri` only where the
/// service allows it (development).
fn client_id(
    service: &Presentations,
    party: &Party,
    prefix: ClientIdPrefix,
    id: &str,
) -> Result<String, ApiError> {
    Ok(match prefix {
        ClientIdPrefix::RedirectUri if service.config.dangerous_allow_redirect_uri_client_ids => {
            format!("redirect_uri:{}", response_uri(service, id))
        }
        ClientIdPrefix::RedirectUri => {
            return Err(ApiError::bad(
                "invalid_request",
                "redirect_uri client identifiers (unsigned requests) are for development only \
                 and are not enabled on this service",
            ));
        }
        prefix => party.client_id(prefix).ok_or_else(|| {
            ApiError::bad(
                "invalid_request",
                "x509_san_dns needs a registered DNS name",
            )
        })?,
    })
}

/// Creates a transaction for `party`, refusing anything beyond its registration.
pub async fn create(
    service: &Presentations,
    origin: &Origin,
    party: &Party,
    request: CreateRequest,
) -> Result<Created, ApiError> {
    let query_value = match (request.dcql_query, request.preset) {
        (Some(query), None) => query,
        (None, Some(name)) => party
            .registration
            .presets
            .get(&name)
            .cloned()
            .ok_or_else(|| ApiError::bad("invalid_request", format!("no preset {name}")))?,
        _ => {
            return Err(ApiError::bad(
                "invalid_request",
                "give exactly one of dcql_query and preset",
            ));
        }
    };
    let query = DcqlQuery::parse(&query_value.to_string())
        .map_err(|e| ApiError::bad("invalid_request", e.to_string()))?;
    crate::matching::trusted_authorities(&query_value)
        .map_err(|e| ApiError::bad("invalid_request", e))?;
    party
        .registration
        .permits(&query)
        .map_err(|e| ApiError::forbidden("beyond_registration", e.to_string()))?;
    if let Some(redirect) = &request.redirect_uri
        && !party.registration.redirect_uris.contains(redirect)
    {
        return Err(ApiError::bad(
            "invalid_request",
            "redirect_uri is not registered for this relying party",
        ));
    }
    if let Some(data) = &request.transaction_data {
        check_transaction_data(data, &query)?;
    }
    let method = request.request_uri_method.unwrap_or_else(|| "get".into());
    if method != "get" && method != "post" {
        return Err(ApiError::bad(
            "invalid_request",
            "request_uri_method is get or post",
        ));
    }
    let id = random_token();
    let client_id = client_id(service, party, request.client_id_prefix, &id)?;
    let key_id = random_token();
    let key = ResponseKey::generate(&key_id)?;
    let now = service.now();
    let expires_at = now + service.config.transaction_secs;
    let stored = StoredRequest {
        client_id: client_id.clone(),
        nonce: random_token(),
        state: random_token(),
        dcql_query: query_value,
        response_mode: request.response_mode,
        redirect_uri: request.redirect_uri,
        transaction_data: request.transaction_data,
        request_uri_method: method.clone(),
        key_id,
    };
    service
        .store
        .put_presentation_transaction(&PresentationTransaction {
            id: id.clone(),
            party_id: party.row.id.clone(),
            request: serde_json::to_string(&stored).map_err(|e| ApiError::server(&e))?,
            sealed_response_key: service
                .sealer()
                .seal(&key_label(&id), key.private_bytes())?,
            created_at: now,
            expires_at,
            responded_at: None,
            response_code_hash: None,
            result: None,
        })
        .await?;
    record_created(service, origin, &party.row.id, &id, &stored).await;
    let request_uri = service.url(&format!("/verifier/requests/{id}"));
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let mut authorization_request = format!(
        "openid4vp://?client_id={}&request_uri={}",
        encode(&client_id),
        encode(&request_uri)
    );
    if method == "post" {
        authorization_request.push_str("&request_uri_method=post");
    }
    Ok(Created {
        qr_svg: service.url(&format!("/verifier/api/transactions/{id}/qr.svg")),
        qr_png: service.url(&format!("/verifier/api/transactions/{id}/qr.png")),
        same_device: authorization_request.clone(),
        authorization_request,
        request_uri,
        client_id,
        transaction_id: id,
        expires_at,
    })
}

/// The response URI of transaction `id`.
#[must_use]
pub fn response_uri(service: &Presentations, id: &str) -> String {
    service.url(&format!("/verifier/responses/{id}"))
}

/// Whether a request is unsigned: a `redirect_uri` client identifier (development only).
#[must_use]
pub fn is_unsigned(request: &StoredRequest) -> bool {
    request.client_id.starts_with("redirect_uri:")
}

/// The stored request of a transaction.
pub fn stored(transaction: &PresentationTransaction) -> Result<StoredRequest, ApiError> {
    serde_json::from_str(&transaction.request).map_err(|e| ApiError::server(&e))
}

/// The transaction's response key.
pub fn response_key(
    service: &Presentations,
    transaction: &PresentationTransaction,
    request: &StoredRequest,
) -> Result<ResponseKey, ApiError> {
    let private = service.sealer().open(
        &key_label(&transaction.id),
        &transaction.sealed_response_key,
    )?;
    Ok(ResponseKey::from_private(private, &request.key_id))
}

/// The `vp_formats_supported` of requests (OpenID4VP 1.0 §11.1, Appendix B).
#[must_use]
pub fn vp_formats() -> Value {
    json!({
        "dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"]},
        "jwt_vc_json": {"alg_values": ["ES256"]}
    })
}

/// The signed request object (`typ: oauth-authz-req+jwt`, ES256, the relying party's
/// certificate in `x5c`, never the root), with the wallet's nonce when it sent one.
pub fn request_object(
    service: &Presentations,
    ready: &crate::parties::Ready,
    transaction: &PresentationTransaction,
    wallet_nonce: Option<&str>,
) -> Result<String, ApiError> {
    let request = stored(transaction)?;
    let mut client_metadata = Map::new();
    client_metadata.insert("vp_formats_supported".into(), vp_formats());
    if request.response_mode == ResponseMode::DirectPostJwt {
        let key = response_key(service, transaction, &request)?;
        client_metadata.insert("jwks".into(), json!({"keys": [key.public_jwk()?]}));
        client_metadata.insert(
            "encrypted_response_enc_values_supported".into(),
            json!(ENC_VALUES),
        );
    }
    let mut claims = Map::new();
    claims.insert("aud".into(), "https://self-issued.me/v2".into());
    claims.insert("iat".into(), service.now().into());
    claims.insert("exp".into(), transaction.expires_at.into());
    claims.insert("response_type".into(), "vp_token".into());
    let unsigned = is_unsigned(&request);
    claims.insert("client_id".into(), request.client_id.into());
    claims.insert(
        "response_mode".into(),
        request.response_mode.as_str().into(),
    );
    claims.insert(
        "response_uri".into(),
        response_uri(service, &transaction.id).into(),
    );
    claims.insert("nonce".into(), request.nonce.into());
    claims.insert("state".into(), request.state.into());
    claims.insert("dcql_query".into(), request.dcql_query);
    claims.insert("client_metadata".into(), Value::Object(client_metadata));
    if let Some(nonce) = wallet_nonce {
        claims.insert("wallet_nonce".into(), nonce.into());
    }
    if let Some(data) = request.transaction_data {
        claims.insert("transaction_data".into(), json!(data));
    }
    if unsigned {
        // An unsecured request object (RFC 9101 §6.1 with `alg: none`; OpenID4VP 1.0 §5.9.3):
        // the `redirect_uri` prefix forbids a signature, and only development enables it.
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"oauth-authz-req+jwt"}"#);
        let payload =
            serde_json::to_vec(&Value::Object(claims)).map_err(|e| ApiError::server(&e))?;
        return Ok(format!("{header}.{}.", URL_SAFE_NO_PAD.encode(payload)));
    }
    let mut header = Header::new("oauth-authz-req+jwt");
    header.x5c = Some(vec![STANDARD.encode(&ready.party.row.certificate)]);
    Ok(jws::sign_json(
        header,
        &Value::Object(claims),
        &ready.signer,
    )?)
}

/// Records a new transaction.
async fn record_created(
    service: &Presentations,
    origin: &Origin,
    party: &str,
    id: &str,
    request: &StoredRequest,
) {
    let detail = json!({
        "transaction": id,
        "relying_party": party,
        "client_id": request.client_id,
        "response_mode": request.response_mode.as_str(),
        "same_device": request.redirect_uri.is_some(),
        "transaction_data": request.transaction_data.as_ref().map_or(0, Vec::len),
        "asked": crate::audit::asked(&request.dcql_query),
    });
    service
        .platform
        .audit
        .record(origin, crate::audit::CREATED, None, Some(party), detail)
        .await;
}
