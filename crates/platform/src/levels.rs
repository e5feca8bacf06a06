//! Authentication factors and the assurance levels they reach (eIDAS levels of assurance). A
//! login is a sequence of factors: the password first, then a WebAuthn assertion; or a passkey
//! alone with user verification. A device-bound key whose attestation is on the configured
//! allow-list (the identity provider's attestation policy), used with user verification, reaches high.

/// Password alone.
pub const ACR_LOW: &str = "http://eidas.europa.eu/LoA/low";
/// Two factors, or a passkey with user verification.
pub const ACR_SUBSTANTIAL: &str = "http://eidas.europa.eu/LoA/substantial";
/// A device-bound security key with user verification whose attestation is on the allow-list
/// (with or without the password). Not reachable without an attestation allow-list.
pub const ACR_HIGH: &str = "http://eidas.europa.eu/LoA/high";
/// Every `acr` value, lowest first (as published in discovery).
pub const ACR_VALUES: [&str; 3] = [ACR_LOW, ACR_SUBSTANTIAL, ACR_HIGH];

/// The rank of an `acr` value; unknown values rank nowhere.
#[must_use]
pub fn acr_rank(acr: &str) -> Option<usize> {
    ACR_VALUES.iter().position(|a| *a == acr)
}

/// Whether `reached` satisfies `required`.
#[must_use]
pub fn acr_satisfies(reached: &str, required: &str) -> bool {
    matches!((acr_rank(reached), acr_rank(required)), (Some(r), Some(q)) if r >= q)
}

/// A factor a citizen completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    /// Something known: the password (`amr` `pwd`).
    Password,
    /// A one-time recovery code (`otp`), used when the authenticators are lost: it does not
    /// raise the level, and the citizen is sent to enrol a new authenticator.
    RecoveryCode,
    /// A WebAuthn assertion.
    WebAuthn {
        /// Synced passkey (`swk`) rather than a device-bound key (`hwk`).
        synced: bool,
        /// The authenticator verified the user (PIN or biometric: `user`).
        user_verified: bool,
        /// Its attestation is on the allow-list (it is device-bound).
        attested: bool,
    },
}

/// The RFC 8176 `amr` values of a completed set of factors.
#[must_use]
pub fn amr_for(factors: &[Factor]) -> Vec<String> {
    let mut amr = Vec::new();
    for factor in factors {
        match factor {
            Factor::Password => amr.push("pwd"),
            Factor::RecoveryCode => amr.push("otp"),
            Factor::WebAuthn {
                synced,
                user_verified,
                ..
            } => {
                amr.push(if *synced { "swk" } else { "hwk" });
                if *user_verified {
                    amr.push("user");
                }
            }
        }
    }
    if acr_for(factors) != ACR_LOW {
        amr.push("mfa");
    }
    amr.into_iter().map(str::to_owned).collect()
}

/// The `acr` a set of completed factors reaches: the password and a WebAuthn assertion, or a
/// WebAuthn assertion with user verification (possession plus knowledge or inherence), is
/// substantial; an assertion with user verification by a device-bound key whose attestation
/// is on the allow-list is high (eIDAS high wants a certified device: the attestation is the
/// evidence); a recovery code does not raise the level.
#[must_use]
pub fn acr_for(factors: &[Factor]) -> &'static str {
    let high = factors.iter().any(|f| {
        matches!(
            f,
            Factor::WebAuthn {
                synced: false,
                user_verified: true,
                attested: true,
            }
        )
    });
    if high {
        return ACR_HIGH;
    }
    let webauthn = factors.iter().any(|f| matches!(f, Factor::WebAuthn { .. }));
    let verified = factors.iter().any(|f| {
        matches!(
            f,
            Factor::WebAuthn {
                user_verified: true,
                ..
            }
        )
    });
    if (webauthn && factors.contains(&Factor::Password)) || verified {
        ACR_SUBSTANTIAL
    } else {
        ACR_LOW
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_factors() {
        assert_eq!(
            (acr_for(&[Factor::Password]), amr_for(&[Factor::Password])),
            (ACR_LOW, vec!["pwd".to_owned()])
        );
        let key = Factor::WebAuthn {
            synced: false,
            user_verified: false,
            attested: false,
        };
        assert_eq!(acr_for(&[Factor::Password, key]), ACR_SUBSTANTIAL);
        assert_eq!(amr_for(&[Factor::Password, key]), ["pwd", "hwk", "mfa"]);
        let passkey = Factor::WebAuthn {
            synced: true,
            user_verified: true,
            attested: false,
        };
        assert_eq!(acr_for(&[passkey]), ACR_SUBSTANTIAL);
        assert_eq!(amr_for(&[passkey]), ["swk", "user", "mfa"]);
        assert!(
            acr_satisfies(ACR_SUBSTANTIAL, ACR_LOW) && !acr_satisfies(ACR_LOW, ACR_SUBSTANTIAL)
        );
        assert!(!acr_satisfies("urn:unknown", ACR_LOW));
        assert_eq!(acr_for(&[Factor::Password, Factor::RecoveryCode]), ACR_LOW);
        assert_eq!(
            amr_for(&[Factor::Password, Factor::RecoveryCode]),
            ["pwd", "otp"]
        );
    }

    #[test]
    fn high_needs_an_attested_device_bound_key_with_user_verification() {
        let attested = |synced, user_verified| Factor::WebAuthn {
            synced,
            user_verified,
            attested: true,
        };
        assert_eq!(acr_for(&[attested(false, true)]), ACR_HIGH);
        assert_eq!(
            acr_for(&[Factor::Password, attested(false, true)]),
            ACR_HIGH
        );
        assert_eq!(
            amr_for(&[Factor::Password, attested(false, true)]),
            ["pwd", "hwk", "user", "mfa"]
        );
        assert_eq!(
            acr_for(&[Factor::Password, attested(false, false)]),
            ACR_SUBSTANTIAL,
            "no user verification"
        );
        assert_eq!(
            acr_for(&[attested(true, true)]),
            ACR_SUBSTANTIAL,
            "backed up"
        );
        assert!(
            acr_satisfies(ACR_HIGH, ACR_SUBSTANTIAL) && !acr_satisfies(ACR_SUBSTANTIAL, ACR_HIGH)
        );
    }
}
