//! Presentations of held credentials for one verifier and one request.

use llavero_credentials::crypto::{CryptoBackend, Signer};
use llavero_credentials::did;
use llavero_credentials::sd_jwt::{ClaimPath, SdJwt, SdJwtError, reveal};
use llavero_credentials::time::UnixTime;
use llavero_credentials::vc_jwt::{self, VcJwtError};

/// Why a presentation could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PresentError {
    /// The held SD-JWT is malformed, or signing the KB-JWT failed.
    #[error(transparent)]
    SdJwt(#[from] SdJwtError),
    /// Building the `vp+jwt` failed.
    #[error(transparent)]
    VcJwt(#[from] VcJwtError),
    /// A `vc+jwt` has no selective disclosure: it is presented whole.
    #[error("a vc+jwt is presented whole; it has no claims to choose")]
    NotSelective,
}

/// Presents a held credential: an SD-JWT (VC) with the claims at `disclose` and a KB-JWT, or a
/// `vc+jwt` enveloped in a `vp+jwt` signed by the holder (identified by `did:jwk`).
pub fn present(
    credential: &str,
    disclose: &[ClaimPath],
    audience: &str,
    nonce: &str,
    issued_at: UnixTime,
    holder: &dyn Signer,
    crypto: &dyn CryptoBackend,
) -> Result<String, PresentError> {
    let credential = credential.trim();
    if credential.contains('~') {
        let chosen = SdJwt::parse(credential)?.select(disclose, crypto)?;
        return Ok(chosen.with_key_binding(audience, nonce, issued_at, holder, crypto)?);
    }
    if !disclose.is_empty() {
        return Err(PresentError::NotSelective);
    }
    let holder_did = did::did_jwk(holder.public_jwk());
    Ok(vc_jwt::issue_presentation(
        holder,
        &holder_did,
        Some(&format!("{holder_did}#0")),
        &[credential.to_owned()],
        Some(audience),
        Some(nonce),
        issued_at,
    )?)
}

/// The claims of an SD-JWT a holder can choose to disclose, as claim paths.
pub fn disclosable_claims(
    credential: &str,
    crypto: &dyn CryptoBackend,
) -> Result<Vec<ClaimPath>, SdJwtError> {
    let sd_jwt = SdJwt::parse(credential.trim())?;
    Ok(reveal(
        sd_jwt.unverified_payload().clone(),
        sd_jwt.disclosures(),
        crypto,
    )?
    .paths)
}

#[cfg(test)]
mod tests {
    use llavero_credentials::crypto::{DangerousSeededRandom, default_backend, signer_from_jwk};
    use llavero_credentials::jwk::PrivateJwk;
    use llavero_credentials::sd_jwt::{IssueOptions, issue};
    use serde_json::json;

    use super::*;

    #[test]
    fn lists_disclosable_claims_and_presents_a_choice() {
        let issuer = PrivateJwk::generate_p256(&DangerousSeededRandom::new(1), None).unwrap();
        let holder = PrivateJwk::generate_p256(&DangerousSeededRandom::new(2), None).unwrap();
        let claims = json!({"a": 1, "b": {"c": 2}, "cnf": {"jwk": holder.public()}});
        let paths = [
            ClaimPath::claim("a"),
            ClaimPath::parse_dotted("b.c").unwrap(),
        ];
        let credential = issue(
            claims.as_object().unwrap(),
            &paths,
            &IssueOptions::default(),
            signer_from_jwk(&issuer).unwrap().as_ref(),
            &DangerousSeededRandom::new(3),
            default_backend(),
        )
        .unwrap();
        let mut found = disclosable_claims(&credential, default_backend()).unwrap();
        found.sort_by_key(ToString::to_string);
        assert_eq!(found, paths);
        let signer = signer_from_jwk(&holder).unwrap();
        let presented = present(
            &credential,
            &paths[..1],
            "https://rp",
            "n",
            5,
            signer.as_ref(),
            default_backend(),
        )
        .unwrap();
        assert_eq!(SdJwt::parse(&presented).unwrap().disclosures().len(), 1);
        assert!(
            SdJwt::parse(&presented)
                .unwrap()
                .key_binding_jwt()
                .is_some()
        );
        assert_eq!(
            present(
                "a.b.c",
                &paths,
                "r",
                "n",
                5,
                signer.as_ref(),
                default_backend()
            ),
            Err(PresentError::NotSelective)
        );
    }
}
