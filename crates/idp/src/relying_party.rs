//! The WebAuthn relying party the provider is, from its configuration.

use webauthn_rs::prelude::{Url, Webauthn, WebauthnBuilder};

use crate::config::IdpConfig;

/// The relying party from the configuration: RP id and origins as configured, by default the
/// issuer's host and the issuer.
pub fn from_config(config: &IdpConfig) -> Result<Webauthn, String> {
    let issuer = Url::parse(&config.issuer).map_err(|e| e.to_string())?;
    let origins = if config.webauthn_origins.is_empty() {
        vec![issuer.clone()]
    } else {
        config
            .webauthn_origins
            .iter()
            .map(|o| Url::parse(o).map_err(|e| format!("{o}: {e}")))
            .collect::<Result<_, _>>()?
    };
    let rp_id = match &config.webauthn_rp_id {
        Some(id) => id.clone(),
        None => issuer
            .host_str()
            .ok_or("the issuer has no host")?
            .to_owned(),
    };
    let (first, rest) = origins.split_first().ok_or("no WebAuthn origin")?;
    let mut builder = WebauthnBuilder::new(&rp_id, first)
        .map_err(|e| e.to_string())?
        .rp_name("Llavero");
    for origin in rest {
        builder = builder.append_allowed_origin(origin);
    }
    builder.build().map_err(|e| e.to_string())
}
