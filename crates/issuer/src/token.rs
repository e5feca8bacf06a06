//! The pre-authorized code grant at the identity provider's token endpoint (OpenID4VCI 1.0
//! §6.1): the wallet is anonymous (no client registration), the code is single use, and a
//! transaction code, when the offer has one, must match; the fifth wrong one kills the offer.

use std::collections::BTreeMap;

use axum::response::{IntoResponse, Response};
use llavero_platform::Origin;
use llavero_platform::authorization::ExtraGrant;
use llavero_store::{Redemption, hash_secret};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, no_store};
use crate::offers::{PRE_AUTHORIZED_GRANT, tx_code_hash};
use crate::state::{Issuer, IssuerState};

/// The grant, handed to the identity provider at start.
#[derive(Debug, Clone)]
pub struct PreAuthorizedGrant(pub IssuerState);

impl ExtraGrant for PreAuthorizedGrant {
    fn grant_type(&self) -> &'static str {
        PRE_AUTHORIZED_GRANT
    }

    fn metadata(&self) -> Map<String, Value> {
        let mut extra = Map::new();
        extra.insert(
            "pre-authorized_grant_anonymous_access_supported".into(),
            true.into(),
        );
        extra.insert(
            "authorization_details_types_supported".into(),
            vec![llavero_platform::authorization::DETAILS_TYPE].into(),
        );
        extra
    }

    fn token(
        &self,
        form: BTreeMap<String, String>,
        origin: Origin,
    ) -> std::pin::Pin<Box<dyn Future<Output = Response> + Send + '_>> {
        Box::pin(async move {
            match redeem(&self.0, &form, &origin).await {
                Ok(response) => response,
                Err(e) => e.into_response(),
            }
        })
    }
}

async fn redeem(
    issuer: &Issuer,
    form: &BTreeMap<String, String>,
    origin: &Origin,
) -> Result<Response, ApiError> {
    let get = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let code = get("pre-authorized_code")
        .ok_or_else(|| ApiError::bad("invalid_request", "pre-authorized_code is required"))?;
    let code_hash = hash_secret(code);
    // The offer id is needed to key the transaction code; the code itself is looked up by hash.
    let offer = issuer.platform.store.offer_by_code(&code_hash).await?;
    let tx = match (get("tx_code"), &offer) {
        (Some(tx), Some(offer)) => Some(tx_code_hash(issuer, &offer.id, tx)),
        _ => None,
    };
    let now = issuer.now();
    let token = llavero_platform::random::token();
    let redemption = issuer
        .platform
        .store
        .redeem_pre_authorized_code(
            &code_hash,
            tx.as_deref(),
            &hash_secret(&token),
            now + issuer.config.token_secs,
            issuer.config.max_tx_failures,
            now,
        )
        .await?;
    let invalid = |why: &str| ApiError::bad("invalid_grant", why);
    match redemption {
        Redemption::Unknown => Err(invalid("unknown pre-authorized code")),
        Redemption::Refused(why) => Err(invalid(why)),
        Redemption::TxCodeMissing => Err(ApiError::bad(
            "invalid_request",
            "this offer requires tx_code",
        )),
        Redemption::TxCodeUnexpected => Err(ApiError::bad(
            "invalid_request",
            "this offer has no tx_code",
        )),
        Redemption::WrongTxCode { remaining } => {
            if let Some(offer) = &offer {
                crate::audit::record(
                    issuer,
                    origin,
                    "credential_offer.wrong_tx_code",
                    offer.run,
                    json!({"agency": offer.agency_id, "offer": offer.id, "remaining": remaining}),
                )
                .await;
            }
            Err(invalid(if remaining == 0 {
                "wrong tx_code; the offer is no longer valid"
            } else {
                "wrong tx_code"
            }))
        }
        Redemption::Redeemed(offer) => {
            crate::audit::record(
                issuer,
                origin,
                "credential_offer.redeemed",
                offer.run,
                json!({"agency": offer.agency_id, "offer": offer.id,
                       "credential_configuration_ids": offer.configuration_ids}),
            )
            .await;
            Ok(no_store(json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": issuer.config.token_secs,
            })))
        }
    }
}
