//! Credential offers (OpenID4VCI 1.0 §4.1): an agency offers a citizen credentials with a
//! pre-authorized code, optionally protected by a numeric transaction code it delivers out of
//! band. The offer is served by reference (`credential_offer_uri`) and can be shown as a QR
//! code; it can also be passed by value.
//!
//! Only hashes are stored. The pre-authorized code is an HMAC of the offer id under a key
//! derived from the master key, so the by-reference endpoint can render it again without
//! keeping it; the transaction code (six digits) is stored as an HMAC too, keyed, so a copy of
//! the database does not give it away by brute force.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use llavero_platform::Run;
use llavero_store::{Agency, Offer};
use rand::Rng as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::issue::{IssueError, claims_for};
use crate::state::{Issuer, IssuerState};

/// The OpenID4VCI pre-authorized code grant type.
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";

/// Digits of a transaction code.
pub const TX_CODE_LENGTH: usize = 6;

/// What an agency asks for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferRequest {
    /// The citizen (`12.345.678-5`).
    pub run: String,
    /// The configurations offered.
    pub credential_configuration_ids: Vec<String>,
    /// Agency-supplied claims per credential type id.
    #[serde(default)]
    pub claims: Map<String, Value>,
    /// Whether to protect the code with a transaction code (default yes).
    #[serde(default = "yes")]
    pub tx_code: bool,
}

fn yes() -> bool {
    true
}

/// A created offer.
#[derive(Debug, Clone)]
pub struct CreatedOffer {
    /// Its id.
    pub id: String,
    /// The offer object.
    pub offer: Value,
    /// `openid-credential-offer://?credential_offer_uri=…`
    pub uri_by_reference: String,
    /// `openid-credential-offer://?credential_offer=…`
    pub uri_by_value: String,
    /// The transaction code to deliver out of band (shown once).
    pub tx_code: Option<String>,
    /// The citizen's RUN number.
    pub run: i64,
}

fn keyed(issuer: &Issuer, purpose: &str, text: &str) -> String {
    let key = issuer.platform.master.derive(purpose);
    URL_SAFE_NO_PAD.encode(ring::hmac::sign(&key, text.as_bytes()).as_ref())
}

/// The pre-authorized code of an offer.
#[must_use]
pub fn pre_authorized_code(issuer: &Issuer, offer_id: &str) -> String {
    keyed(issuer, "llavero pre-authorized code v1", offer_id)
}

/// The stored form of a transaction code.
#[must_use]
pub fn tx_code_hash(issuer: &Issuer, offer_id: &str, tx_code: &str) -> String {
    keyed(
        issuer,
        "llavero transaction code v1",
        &format!("{offer_id}\n{tx_code}"),
    )
}

/// The offer object (§4.1.1).
#[must_use]
pub fn offer_object(issuer: &Issuer, offer: &Offer) -> Value {
    let mut grant = json!({"pre-authorized_code": pre_authorized_code(issuer, &offer.id)});
    if offer.tx_code_hash.is_some()
        && let Some(obj) = grant.as_object_mut()
    {
        obj.insert(
            "tx_code".into(),
            json!({"input_mode": "numeric", "length": TX_CODE_LENGTH,
                   "description": "Código enviado por la institución / code sent by the agency"}),
        );
    }
    json!({
        "credential_issuer": issuer.agency_url(&offer.agency_id),
        "credential_configuration_ids": offer.configuration_ids,
        "grants": {PRE_AUTHORIZED_GRANT: grant},
    })
}

fn offer_uri(issuer: &Issuer, offer: &Offer) -> String {
    let url = format!(
        "{}/offers/{}",
        issuer.agency_url(&offer.agency_id),
        offer.id
    );
    format!(
        "openid-credential-offer://?credential_offer_uri={}",
        form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>()
    )
}

/// Creates an offer for `agency`: the citizen must be active in the registry, every
/// configuration one the agency issues, and the claims must pass each type's schema now.
pub async fn create(
    issuer: &Issuer,
    agency: &Agency,
    request: &OfferRequest,
) -> Result<CreatedOffer, ApiError> {
    let run: Run = request
        .run
        .parse()
        .map_err(|e| ApiError::bad("invalid_request", format!("run: {e}")))?;
    if request.credential_configuration_ids.is_empty() {
        return Err(ApiError::bad(
            "invalid_request",
            "credential_configuration_ids is empty",
        ));
    }
    let person = issuer
        .platform
        .store
        .person(i64::from(run.number()))
        .await?
        .filter(|p| p.status == llavero_store::PersonStatus::Active)
        .ok_or_else(|| {
            ApiError::bad(
                "invalid_request",
                "the RUN is not active in the civil registry",
            )
        })?;
    let empty = Map::new();
    for id in &request.credential_configuration_ids {
        let (credential_type, _) = issuer.catalog.configuration(id).ok_or_else(|| {
            ApiError::bad(
                "unknown_credential_configuration",
                format!("unknown configuration {id:?}"),
            )
        })?;
        if !agency.credential_types.contains(&credential_type.id) {
            return Err(ApiError::forbidden(
                "access_denied",
                format!("agency {} may not issue {}", agency.id, credential_type.id),
            ));
        }
        let claims = match request.claims.get(&credential_type.id) {
            Some(Value::Object(claims)) => claims,
            Some(_) => {
                return Err(ApiError::bad(
                    "invalid_request",
                    format!("claims.{} must be an object", credential_type.id),
                ));
            }
            None => &empty,
        };
        claims_for(credential_type, &person, claims).map_err(|e| match e {
            IssueError::Type(_) | IssueError::RegistryClaim(_) => {
                ApiError::bad("invalid_request", e.to_string())
            }
            other => ApiError::server(&other),
        })?;
    }
    let now = issuer.now();
    let id = llavero_platform::random::id();
    let tx_code = request.tx_code.then(|| {
        let mut rng = rand::thread_rng();
        (0..TX_CODE_LENGTH)
            .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
            .collect::<String>()
    });
    let offer = Offer {
        pre_authorized_code_hash: Some(llavero_store::hash_secret(&pre_authorized_code(
            issuer, &id,
        ))),
        tx_code_hash: tx_code
            .as_deref()
            .map(|code| tx_code_hash(issuer, &id, code)),
        id,
        agency_id: agency.id.clone(),
        run: person.run,
        configuration_ids: request.credential_configuration_ids.clone(),
        claims: Value::Object(request.claims.clone()),
        tx_failures: 0,
        created_at: now,
        expires_at: now + issuer.config.offer_secs,
        redeemed_at: None,
        dead_at: None,
    };
    issuer.platform.store.create_offer(&offer).await?;
    let object = offer_object(issuer, &offer);
    let by_value = format!(
        "openid-credential-offer://?credential_offer={}",
        form_urlencoded::byte_serialize(object.to_string().as_bytes()).collect::<String>()
    );
    Ok(CreatedOffer {
        uri_by_reference: offer_uri(issuer, &offer),
        uri_by_value: by_value,
        offer: object,
        tx_code,
        run: offer.run,
        id: offer.id,
    })
}

async fn live_offer(issuer: &Issuer, agency: &str, id: &str) -> Result<Offer, ApiError> {
    issuer
        .platform
        .store
        .offer(id)
        .await?
        .filter(|o| o.agency_id == agency)
        .filter(|o| o.redeemed_at.is_none() && o.dead_at.is_none() && o.expires_at > issuer.now())
        .ok_or_else(|| ApiError::not_found("no such offer, or it was used or expired"))
}

/// `GET /{agency}/offers/{id}`: the offer by reference.
pub async fn by_reference(
    State(issuer): State<IssuerState>,
    Path((agency, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let offer = live_offer(&issuer, &agency, &id).await?;
    Ok(crate::error::no_store(offer_object(&issuer, &offer)))
}

/// `GET /{agency}/offers/{id}/qr.svg`.
pub async fn qr_svg(
    State(issuer): State<IssuerState>,
    Path((agency, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let offer = live_offer(&issuer, &agency, &id).await?;
    let svg = crate::qr::svg(&offer_uri(&issuer, &offer)).map_err(|e| ApiError::server(&e))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

/// `GET /{agency}/offers/{id}/qr.png`.
pub async fn qr_png(
    State(issuer): State<IssuerState>,
    Path((agency, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let offer = live_offer(&issuer, &agency, &id).await?;
    let png = crate::qr::png(&offer_uri(&issuer, &offer)).map_err(|e| ApiError::server(&e))?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}
