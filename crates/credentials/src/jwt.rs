//! JWT validity windows (RFC 7519 §4.1.4–4.1.6), shared by every format so each reports
//! expiry the same way.

use serde_json::Value;

use crate::time::UnixTime;

/// Why a token is outside its validity window. Carries the times so the message says by how
/// much.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidityError {
    /// `exp` (or `validUntil`) is past.
    #[error("expired at {exp}, now is {now}")]
    Expired {
        /// The expiry.
        exp: UnixTime,
        /// The verifier's time.
        now: UnixTime,
    },
    /// `nbf` (or `validFrom`) is in the future.
    #[error("not valid before {nbf}, now is {now}")]
    NotYetValid {
        /// The start of validity.
        nbf: UnixTime,
        /// The verifier's time.
        now: UnixTime,
    },
    /// `iat` is in the future beyond the allowed skew.
    #[error("issued in the future at {iat}, now is {now}")]
    IssuedInFuture {
        /// The issuance time.
        iat: UnixTime,
        /// The verifier's time.
        now: UnixTime,
    },
    /// A time claim is not a number of seconds.
    #[error("time claim `{0}` is not a NumericDate")]
    NotNumeric(&'static str),
}

/// The time claims of a JWT, read from its payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeClaims {
    /// `iat`.
    pub iat: Option<UnixTime>,
    /// `nbf`.
    pub nbf: Option<UnixTime>,
    /// `exp`.
    pub exp: Option<UnixTime>,
}

impl TimeClaims {
    /// Reads `iat`, `nbf`, `exp` from a claims object. A NumericDate may have a fraction
    /// (RFC 7519 §2); it is truncated to whole seconds.
    pub fn from_claims(claims: &Value) -> Result<Self, ValidityError> {
        let read = |name: &'static str| -> Result<Option<UnixTime>, ValidityError> {
            match claims.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n
                    .as_i64()
                    .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
                    .map(Some)
                    .ok_or(ValidityError::NotNumeric(name)),
                Some(_) => Err(ValidityError::NotNumeric(name)),
            }
        };
        Ok(Self {
            iat: read("iat")?,
            nbf: read("nbf")?,
            exp: read("exp")?,
        })
    }

    /// Checks the window at `now`, tolerating `skew` seconds of clock difference each way.
    pub fn check(&self, now: UnixTime, skew: i64) -> Result<(), ValidityError> {
        check_window(self.nbf, self.exp, now, skew)?;
        if let Some(iat) = self.iat
            && now.saturating_add(skew) < iat
        {
            return Err(ValidityError::IssuedInFuture { iat, now });
        }
        Ok(())
    }
}

/// Checks a validity window (`nbf`/`exp`, or VC `validFrom`/`validUntil`) at `now`, tolerating
/// `skew` seconds of clock difference each way. The end is exclusive (RFC 7519 §4.1.4).
pub fn check_window(
    start: Option<UnixTime>,
    end: Option<UnixTime>,
    now: UnixTime,
    skew: i64,
) -> Result<(), ValidityError> {
    if let Some(exp) = end
        && now.saturating_sub(skew) >= exp
    {
        return Err(ValidityError::Expired { exp, now });
    }
    if let Some(nbf) = start
        && now.saturating_add(skew) < nbf
    {
        return Err(ValidityError::NotYetValid { nbf, now });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn window_with_skew() {
        let t = TimeClaims::from_claims(&json!({"iat": 100, "nbf": 100, "exp": 200})).unwrap();
        assert!(t.check(150, 0).is_ok());
        assert_eq!(
            t.check(200, 0),
            Err(ValidityError::Expired { exp: 200, now: 200 })
        );
        assert!(t.check(205, 10).is_ok());
        assert_eq!(
            t.check(90, 5),
            Err(ValidityError::NotYetValid { nbf: 100, now: 90 })
        );
        assert!(t.check(95, 5).is_ok());
        assert_eq!(
            TimeClaims::from_claims(&json!({"exp": "soon"})),
            Err(ValidityError::NotNumeric("exp"))
        );
        assert_eq!(
            TimeClaims::from_claims(&json!({"exp": 1.5e3})).unwrap().exp,
            Some(1500)
        );
    }
}
