//! Authentication factors and the assurance levels they reach. A login is a sequence of
//! factors: the password first; the second factor (WebAuthn) plugs in after it and raises the
//! session's `acr`.

/// Password alone (NIST SP 800-63B AAL1).
pub const ACR_PASSWORD: &str = "urn:llavero:acr:aal1";
/// Password and a second factor (AAL2).
pub const ACR_MULTI_FACTOR: &str = "urn:llavero:acr:aal2";
/// Every `acr` value, lowest first (as published in discovery).
pub const ACR_VALUES: [&str; 2] = [ACR_PASSWORD, ACR_MULTI_FACTOR];

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
}

impl Factor {
    /// The RFC 8176 `amr` value.
    #[must_use]
    pub fn amr(self) -> &'static str {
        match self {
            Self::Password => "pwd",
        }
    }
}

/// The `acr` a set of completed factors reaches.
#[must_use]
pub fn acr_for(factors: &[Factor]) -> &'static str {
    if factors.len() >= 2 {
        ACR_MULTI_FACTOR
    } else {
        ACR_PASSWORD
    }
}
