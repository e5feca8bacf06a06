//! W3C VC-JOSE credentials and presentations through the verifier's policy.

use llavero_credentials::did;
use llavero_credentials::jws::{DecodedJws, JwsError};
use llavero_credentials::jwt::ValidityError;
use llavero_credentials::time::UnixTime;
use llavero_credentials::vc_jwt::{DecodedVcJwt, DecodedVpJwt, VcJwtError};

use super::{Expectations, Verifier, credential};
use crate::outcome::{Format, Verification, VerifiedCredential, Warning};
use crate::rejection::Rejection;

impl Verifier {
    pub(super) fn verify_vc_jwt(
        &self,
        jws: DecodedJws,
        now: UnixTime,
        warnings: &mut Vec<Warning>,
    ) -> Result<(VerifiedCredential, Option<String>), Rejection> {
        let decoded = DecodedVcJwt::from_jws(jws)?;
        let (issuer, key) = self.issuer_key(decoded.issuer(), decoded.kid(), now)?;
        let verified = decoded.verify(
            self.crypto,
            key,
            &self.options.algorithms,
            now,
            self.options.clock_skew_secs,
        )?;
        let specific: Vec<String> = verified
            .types()
            .iter()
            .filter(|t| *t != "VerifiableCredential")
            .cloned()
            .collect();
        let credential_type = Self::allowed_type(issuer, &specific)?;
        let statuses = verified.statuses().to_vec();
        let (valid_from, valid_until) = (verified.valid_from(), verified.valid_until());
        let subject_id = verified.subject_id().map(str::to_owned);
        let mut out = credential(
            Format::VcJwt,
            issuer,
            credential_type,
            verified.into_credential(),
        );
        for entry in &statuses {
            let index = entry
                .index()
                .map_err(|e| Rejection::Malformed(e.to_string()))?;
            out.status = self.status_of(
                &issuer.id,
                &entry.status_list_credential,
                index,
                Some(&entry.status_purpose),
                now,
                warnings,
            )?;
        }
        if valid_until.is_none() {
            warnings.push(Warning::NoExpiry);
        }
        out.expires_at = valid_until;
        out.issued_at = valid_from;
        Ok((out, subject_id))
    }

    /// A `vp+jwt`: the holder's key comes from its DID (`kid` DID URL, or `holder`), never from
    /// the header; every enveloped credential must verify and be bound to that holder.
    pub(super) fn verify_vp_jwt(
        &self,
        jws: DecodedJws,
        now: UnixTime,
        expect: &Expectations,
        mut warnings: Vec<Warning>,
    ) -> Result<Verification, Rejection> {
        let decoded = DecodedVpJwt::from_jws(jws)?;
        let binding = expect.binding().ok_or(Rejection::MissingKeyBinding)?;
        let holder_did = decoded
            .kid()
            .or(decoded.holder())
            .ok_or_else(|| Rejection::InvalidKeyBinding("presentation names no holder DID".into()))?
            .to_owned();
        let holder_key = did::resolve_offline(&holder_did)
            .map_err(|e| Rejection::InvalidKeyBinding(format!("holder key: {e}")))?;
        let verified = decoded.verify(
            self.crypto,
            &holder_key,
            &self.options.algorithms,
            Some(binding),
        )?;
        let mut credentials = Vec::with_capacity(verified.credentials().len());
        for enveloped in verified.credentials() {
            if enveloped.media_type != "application/vc+jwt" {
                return Err(Rejection::UnsupportedFormat(enveloped.media_type.clone()));
            }
            let jws = DecodedJws::decode(&enveloped.data)?;
            let (mut credential, subject) = self.verify_vc_jwt(jws, now, &mut warnings)?;
            // The credential must be about the presenter: when its subject is a DID that
            // resolves offline, that key must be the key that signed the presentation.
            let subject_key = subject
                .as_deref()
                .and_then(|id| did::resolve_offline(id).ok());
            if subject_key
                .as_ref()
                .is_some_and(|k| k.key() != holder_key.key())
            {
                return Err(Rejection::InvalidKeyBinding(
                    "credential subject is not the presentation's holder".into(),
                ));
            }
            credential.key_binding_verified = subject_key.is_some();
            credential.holder_key = subject_key;
            credentials.push(credential);
        }
        if credentials.is_empty() {
            return Err(Rejection::Malformed(
                "presentation carries no credential".into(),
            ));
        }
        Ok(Verification {
            format: Format::VpJwt,
            credentials,
            holder_key: Some(holder_key),
            warnings,
        })
    }
}

impl From<VcJwtError> for Rejection {
    fn from(e: VcJwtError) -> Self {
        match e {
            VcJwtError::Jws(e) => e.into(),
            VcJwtError::Validity(v) => v.into(),
            VcJwtError::WrongAudience { expected, found } => {
                Self::WrongAudience { expected, found }
            }
            VcJwtError::WrongNonce => Self::WrongNonce,
            VcJwtError::NonConforming(e) => Self::NonConforming {
                rule: e.rule(),
                detail: e.detail().to_owned(),
            },
            other => Self::Malformed(other.to_string()),
        }
    }
}

impl From<JwsError> for Rejection {
    fn from(e: JwsError) -> Self {
        match e {
            JwsError::AlgorithmNone => Self::UnsupportedAlgorithm("none".into()),
            JwsError::UnsupportedAlgorithm(alg) => Self::UnsupportedAlgorithm(alg),
            JwsError::BadSignature | JwsError::KeyMismatch { .. } => Self::BadSignature,
            JwsError::TooLarge { len, max } => Self::TooLarge { len, max },
            JwsError::WrongType { found, .. } => Self::UnsupportedFormat(found.unwrap_or_default()),
            other => Self::Malformed(other.to_string()),
        }
    }
}

impl From<ValidityError> for Rejection {
    fn from(e: ValidityError) -> Self {
        match e {
            ValidityError::Expired { exp, now } => Self::Expired { exp, now },
            ValidityError::NotYetValid { nbf, now } => Self::NotYetValid { nbf, now },
            ValidityError::IssuedInFuture { iat, now } => Self::NotYetValid { nbf: iat, now },
            other => Self::Malformed(other.to_string()),
        }
    }
}
