//! The WebAuthn attestation allow-list: which authenticators reach eIDAS high, and what staff
//! accounts may register.
//!
//! An entry is a trusted attestation CA (the root of a manufacturer's attestation chain) and
//! the authenticator models (AAGUIDs) allowed under it. With no allow-list, the default, no
//! attestation is requested and `…/LoA/high` is never reached. With one, every registration
//! asks for direct attestation; a credential whose attestation chains to a listed CA, names a
//! listed AAGUID and is device-bound (not backup-eligible) is stored with that (CA, AAGUID)
//! pair. A login with it and user verification reaches high while the pair is still on the
//! list, so removing a CA or a model from the configuration withdraws high at once without
//! touching stored credentials. Other credentials stay ordinary second factors, except for
//! staff accounts, which may register only attested ones.
//!
//! Why check the chain ourselves for the public: `webauthn-rs`'s attested registration
//! refuses any credential outside the list, while a citizen's synced passkey must still be
//! accepted; so the public registration is an ordinary passkey registration that asks for
//! attestation, and [`AttestationPolicy::classify`] applies the same chain and AAGUID checks as
//! `finish_attested_passkey_registration` (which staff registrations use).

use webauthn_rs::prelude::{
    AttestationCaList, AttestationCaListBuilder, AttestationMetadata, Credential, Passkey, Uuid,
};

use llavero_store::CredentialAttestation;

/// One allow-list entry as configured: a CA certificate (PEM) and the AAGUIDs allowed under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationTrust {
    /// The attestation root CA certificate, PEM.
    pub ca_pem: String,
    /// The authenticator models allowed under it (AAGUIDs, UUID text). At least one.
    pub aaguids: Vec<String>,
}

/// Why an allow-list could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AttestationError {
    /// An allow-list needs at least one entry (leave it unset for none).
    #[error("the attestation allow-list is empty")]
    Empty,
    /// The CA of entry `entry` (from 0) is not a PEM X.509 certificate.
    #[error("attestation CA {entry}: not a PEM X.509 certificate")]
    BadCertificate {
        /// The entry.
        entry: usize,
    },
    /// An AAGUID is not a UUID.
    #[error("attestation CA {entry}: AAGUID {value:?} is not a UUID")]
    BadAaguid {
        /// The entry.
        entry: usize,
        /// What was given.
        value: String,
    },
    /// An entry names no AAGUID: every allowed model is named, a CA alone trusts nothing.
    #[error("attestation CA {entry}: no AAGUID listed")]
    NoAaguid {
        /// The entry.
        entry: usize,
    },
}

/// A parsed, non-empty attestation allow-list.
#[derive(Debug, Clone)]
pub struct AttestationPolicy {
    cas: AttestationCaList,
}

impl AttestationPolicy {
    /// Parses the configured entries.
    ///
    /// # Errors
    /// An empty list, a certificate that is not PEM, an AAGUID that is not a UUID, or an entry
    /// without AAGUIDs.
    pub fn new(entries: &[AttestationTrust]) -> Result<Self, AttestationError> {
        if entries.is_empty() {
            return Err(AttestationError::Empty);
        }
        let mut builder = AttestationCaListBuilder::new();
        for (entry, trust) in entries.iter().enumerate() {
            if trust.aaguids.is_empty() {
                return Err(AttestationError::NoAaguid { entry });
            }
            for value in &trust.aaguids {
                let aaguid =
                    Uuid::parse_str(value.trim()).map_err(|_| AttestationError::BadAaguid {
                        entry,
                        value: value.clone(),
                    })?;
                builder
                    .insert_device_pem(
                        trust.ca_pem.as_bytes(),
                        aaguid,
                        format!("allow-list entry {entry}"),
                        std::collections::BTreeMap::new(),
                    )
                    .map_err(|_| AttestationError::BadCertificate { entry })?;
            }
        }
        Ok(Self {
            cas: builder.build(),
        })
    }

    /// The list for `webauthn-rs`'s attested ceremonies.
    #[must_use]
    pub fn ca_list(&self) -> &AttestationCaList {
        &self.cas
    }

    /// The allow-list entry a newly registered credential matches: its attestation chains to a
    /// listed CA, names an AAGUID listed under that CA, and the credential is device-bound.
    #[must_use]
    pub fn classify(&self, passkey: &Passkey) -> Option<CredentialAttestation> {
        let credential = Credential::from(passkey.clone());
        if credential.backup_eligible {
            return None;
        }
        let ca = credential.verify_attestation(&self.cas).ok()??;
        let aaguid = match &credential.attestation.metadata {
            AttestationMetadata::Packed { aaguid } | AttestationMetadata::Tpm { aaguid, .. } => {
                *aaguid
            }
            _ => return None,
        };
        if !ca.aaguids().contains_key(&aaguid) {
            return None;
        }
        Some(CredentialAttestation {
            ca: hex(ca.get_kid().ok()?.as_slice()),
            aaguid: aaguid.hyphenated().to_string(),
        })
    }

    /// Whether a stored credential's (CA, AAGUID) is still on the list.
    #[must_use]
    pub fn allows(&self, attestation: &CredentialAttestation) -> bool {
        self.cas.cas().iter().any(|(kid, ca)| {
            hex(kid.as_slice()) == attestation.ca
                && ca
                    .aaguids()
                    .keys()
                    .any(|a| a.hyphenated().to_string() == attestation.aaguid)
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_entries_are_refused() {
        assert!(matches!(
            AttestationPolicy::new(&[]),
            Err(AttestationError::Empty)
        ));
        let entry = |pem: &str, aaguids: &[&str]| AttestationTrust {
            ca_pem: pem.to_owned(),
            aaguids: aaguids.iter().map(|a| (*a).to_owned()).collect(),
        };
        assert!(matches!(
            AttestationPolicy::new(&[entry("x", &[])]),
            Err(AttestationError::NoAaguid { entry: 0 })
        ));
        assert!(matches!(
            AttestationPolicy::new(&[entry("x", &["not-a-uuid"])]),
            Err(AttestationError::BadAaguid { entry: 0, .. })
        ));
        assert!(matches!(
            AttestationPolicy::new(&[entry(
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                &["0fb9bcbc-a0d4-4042-bbb0-559bc1631e28"]
            )]),
            Err(AttestationError::BadCertificate { entry: 0 })
        ));
    }
}
