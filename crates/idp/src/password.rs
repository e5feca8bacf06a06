//! Password policy: NIST SP 800-63B rules (8 to 128 characters, no composition rules, common
//! passwords refused). Hashing (Argon2id, bounded and with reused memory) is
//! [`crate::hashing`].

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
}
