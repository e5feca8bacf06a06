//! SD-JWT VC through the verifier's policy.

use llavero_credentials::sd_jwt::{KeyBinding, SdJwt, SdJwtError};
use llavero_credentials::sd_jwt_vc::{self, SdJwtVcError};
use llavero_credentials::time::UnixTime;

use super::{Expectations, Verifier, credential};
use crate::outcome::{Format, VerifiedCredential, Warning};
use crate::rejection::Rejection;

impl Verifier {
    pub(super) fn verify_sd_jwt_vc(
        &self,
        input: &str,
        now: UnixTime,
        expect: &Expectations,
        warnings: &mut Vec<Warning>,
    ) -> Result<VerifiedCredential, Rejection> {
        let sd_jwt = SdJwt::parse(input).map_err(Rejection::from)?;
        let peek = sd_jwt_vc::peek(&sd_jwt)?;
        // HAIP: with X.509 roots configured, a credential carrying `x5c` is checked against
        // them (its chain, never the trust list); otherwise the trust list by `kid`.
        let from_chain;
        let mut authority_key_ids = Vec::new();
        let (issuer, key) = match sd_jwt.issuer_jws().header().x5c.as_deref() {
            Some(x5c) if !self.x509_roots.is_empty() => {
                let (issuer, ids) = self.chain_issuer(&peek.issuer, x5c, now)?;
                authority_key_ids = ids;
                from_chain = issuer;
                let key = from_chain
                    .jwks
                    .keys
                    .first()
                    .ok_or_else(|| Rejection::UntrustedIssuer(peek.issuer.clone()))?;
                (&from_chain, key)
            }
            _ => self.issuer_key(&peek.issuer, peek.kid.as_deref(), now)?,
        };
        let key_binding = match expect.binding() {
            Some((audience, nonce)) => KeyBinding::Required {
                audience: audience.to_owned(),
                nonce: nonce.to_owned(),
                now,
                skew: self.options.clock_skew_secs,
                max_age: self.options.max_key_binding_age_secs,
            },
            None => KeyBinding::NotRequired,
        };
        let verified = sd_jwt_vc::verify(
            sd_jwt,
            self.crypto,
            key,
            &self.options.algorithms,
            &key_binding,
            now,
            self.options.clock_skew_secs,
        )?;
        let credential_type =
            Self::allowed_type(issuer, std::slice::from_ref(&verified.envelope().vct))?;
        let key_binding_verified = verified.key_binding().is_some();
        let (envelope, claims) = verified.into_parts();
        let mut out = credential(Format::SdJwtVc, issuer, credential_type, claims);
        if let Some(status) = &envelope.status {
            out.status =
                self.status_of(&issuer.id, &status.uri, status.idx, None, now, warnings)?;
        }
        if envelope.expires_at.is_none() {
            warnings.push(Warning::NoExpiry);
        }
        out.key_binding_verified = key_binding_verified;
        out.authority_key_ids = authority_key_ids;
        out.holder_key = envelope.holder_key;
        out.issued_at = envelope.issued_at;
        out.expires_at = envelope.expires_at;
        Ok(out)
    }
}

impl From<SdJwtVcError> for Rejection {
    fn from(e: SdJwtVcError) -> Self {
        match e {
            SdJwtVcError::SdJwt(e) => e.into(),
            SdJwtVcError::WrongType(typ) => Self::UnsupportedFormat(typ.unwrap_or_default()),
            SdJwtVcError::Validity(v) => v.into(),
            SdJwtVcError::NeverDisclosable(name) => {
                Self::InvalidDisclosure(format!("{name} must never be selectively disclosable"))
            }
            other => Self::Malformed(other.to_string()),
        }
    }
}

impl From<SdJwtError> for Rejection {
    fn from(e: SdJwtError) -> Self {
        match e {
            SdJwtError::Jws(e) => e.into(),
            SdJwtError::TooLarge(len) => Self::TooLarge {
                len,
                max: llavero_credentials::sd_jwt::MAX_SD_JWT_LEN,
            },
            SdJwtError::UnreferencedDisclosure(d) => Self::DigestMismatch(format!(
                "disclosure {d:.24}… is not referenced by the issuer-signed payload"
            )),
            SdJwtError::DuplicateDisclosure | SdJwtError::DuplicateDigest(_) => {
                Self::DuplicateDisclosure
            }
            e @ (SdJwtError::ClaimNameCollision(_)
            | SdJwtError::ForbiddenClaimName(_)
            | SdJwtError::DisclosureArity
            | SdJwtError::InvalidDigests(_)
            | SdJwtError::UnsupportedHashAlgorithm(_)) => Self::InvalidDisclosure(e.to_string()),
            SdJwtError::KeyBindingMissing | SdJwtError::NoHolderKey => Self::MissingKeyBinding,
            SdJwtError::WrongAudience { expected, found } => {
                Self::WrongAudience { expected, found }
            }
            SdJwtError::WrongNonce => Self::WrongNonce,
            e @ (SdJwtError::KeyBindingInvalid(_)
            | SdJwtError::SdHashMismatch
            | SdJwtError::KeyBindingStale { .. }) => Self::InvalidKeyBinding(e.to_string()),
            other => Self::Malformed(other.to_string()),
        }
    }
}
