//! Passwords: NIST SP 800-63B rules (8 to 128 characters, no composition rules, common
//! passwords refused) and Argon2id hashing (m = 19 MiB, t = 2, p = 1: OWASP's minimum).
//!
//! Hashing takes tens of milliseconds by design; callers run it on a blocking thread.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

/// Why a new password was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// Fewer than 8 characters.
    #[error("the password needs at least 8 characters")]
    TooShort,
    /// More than 128 characters.
    #[error("the password can have at most 128 characters")]
    TooLong,
    /// On the list of common passwords.
    #[error("this password is among the most common ones; choose another")]
    Common,
    /// The two entries differ.
    #[error("the two passwords are different")]
    Mismatch,
    /// The hasher failed (never for valid parameters).
    #[error("password hashing failed")]
    Hashing,
}

/// Shortest accepted password, in characters.
pub const MIN_LEN: usize = 8;
/// Longest accepted password, in characters.
pub const MAX_LEN: usize = 128;

const COMMON: &str = include_str!("../data/common-passwords.txt");

fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    COMMON
        .lines()
        .filter(|l| !l.starts_with('#'))
        .any(|l| l.trim() == lower)
}

/// Checks a new password against the policy.
pub fn check_policy(password: &str, confirmation: &str) -> Result<(), PasswordError> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(PasswordError::TooShort);
    }
    if len > MAX_LEN {
        return Err(PasswordError::TooLong);
    }
    if is_common(password) {
        return Err(PasswordError::Common);
    }
    if password != confirmation {
        return Err(PasswordError::Mismatch);
    }
    Ok(())
}

fn hasher() -> Argon2<'static> {
    // 19 MiB, 2 passes, 1 lane (OWASP Password Storage Cheat Sheet, first Argon2id option).
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string with a random salt.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    let salt_bytes = crate::random::bytes::<16>();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| PasswordError::Hashing)?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| PasswordError::Hashing)
}

/// Verifies a password against a PHC string. With no stored hash (unknown RUN, account without
/// password) a dummy hash is verified instead so the answer takes the same time.
#[must_use]
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let password = Zeroizing::new(password.to_owned());
    let dummy = DUMMY.get_or_init(|| hash("llavero-timing-equalizer").ok());
    let (phc, real) = match stored {
        Some(s) => (Some(s), true),
        None => (dummy.as_deref(), false),
    };
    let Some(parsed) = phc.and_then(|p| PasswordHash::new(p).ok()) else {
        return false;
    };
    let ok = hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_has_length_limits_and_a_common_list_but_no_composition_rules() {
        assert_eq!(check_policy("short", "short"), Err(PasswordError::TooShort));
        let long = "x".repeat(129);
        assert_eq!(check_policy(&long, &long), Err(PasswordError::TooLong));
        assert_eq!(
            check_policy("Password123", "Password123"),
            Err(PasswordError::Common)
        );
        assert_eq!(
            check_policy("ColoColo", "ColoColo"),
            Err(PasswordError::Common)
        );
        assert_eq!(
            check_policy("caballo bateria grapa", "caballo bateria grapo"),
            Err(PasswordError::Mismatch)
        );
        // Lowercase letters and spaces only: fine.
        assert_eq!(
            check_policy("caballo bateria grapa", "caballo bateria grapa"),
            Ok(())
        );
        // Characters, not bytes: eight accented letters pass.
        assert_eq!(check_policy("ñañañaña", "ñañañaña"), Ok(()));
    }

    #[test]
    fn argon2id_with_the_required_parameters() {
        let phc = hash("caballo bateria grapa").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("caballo bateria grapa", Some(&phc)));
        assert!(!verify("caballo bateria grapo", Some(&phc)));
        assert!(!verify("llavero-timing-equalizer", None));
        assert!(!verify("x", Some("not a phc string")));
    }
}
