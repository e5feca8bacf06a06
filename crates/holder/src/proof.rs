//! OpenID4VCI 1.0 Appendix F.1 proof-of-possession JWTs: the wallet proves it holds the key the
//! credential will be bound to, for this issuer and this nonce.

use llavero_credentials::crypto::Signer;
use llavero_credentials::jwk::Jwk;
use llavero_credentials::jws::{self, Header, JwsError};
use llavero_credentials::time::UnixTime;
use serde_json::{Map, Value};

/// The proof JWT `typ`.
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";

/// Signs a proof JWT: header `typ`, `alg` and the holder's public `jwk` (never a private
/// member: [`Jwk`] has none); claims `aud` (the credential issuer), `iat`, `nonce` (the
/// issuer's `c_nonce`, when it has a nonce endpoint) and `iss` (the wallet's `client_id`, when
/// it has one).
pub fn proof_jwt(
    signer: &dyn Signer,
    credential_issuer: &str,
    nonce: Option<&str>,
    issued_at: UnixTime,
    client_id: Option<&str>,
) -> Result<String, JwsError> {
    let mut header = Header::new(PROOF_TYP);
    header.jwk = Some(Jwk::new(signer.public_jwk().key().clone()).to_value());
    let mut claims = Map::new();
    claims.insert("aud".into(), credential_issuer.into());
    claims.insert("iat".into(), issued_at.into());
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), nonce.into());
    }
    if let Some(client_id) = client_id {
        claims.insert("iss".into(), client_id.into());
    }
    jws::sign_json(header, &Value::Object(claims), signer)
}

#[cfg(test)]
mod tests {
    use llavero_credentials::crypto::{DangerousSeededRandom, default_backend, signer_from_jwk};
    use llavero_credentials::jwk::PrivateJwk;
    use llavero_credentials::jws::{AlgorithmPolicy, DecodedJws};

    use super::*;

    #[test]
    fn proof_carries_the_public_key_and_verifies_with_it() {
        let key =
            PrivateJwk::generate_p256(&DangerousSeededRandom::new(3), Some("k".into())).unwrap();
        let jwt = proof_jwt(
            signer_from_jwk(&key).unwrap().as_ref(),
            "https://registro.llavero.cl",
            Some("c-nonce"),
            1000,
            None,
        )
        .unwrap();
        let decoded = DecodedJws::decode(&jwt).unwrap();
        assert_eq!(decoded.header().typ.as_deref(), Some(PROOF_TYP));
        let jwk = Jwk::from_value(decoded.header().jwk.as_ref().unwrap()).unwrap();
        assert_eq!(jwk.key(), key.public().key());
        decoded
            .verify(default_backend(), &jwk, &AlgorithmPolicy::es256_only())
            .unwrap();
        let claims: Value = decoded.unverified_claims().unwrap();
        assert_eq!(
            (
                claims["aud"].as_str(),
                claims["nonce"].as_str(),
                claims["iat"].as_i64()
            ),
            (
                Some("https://registro.llavero.cl"),
                Some("c-nonce"),
                Some(1000)
            )
        );
        assert!(claims.get("iss").is_none());
    }
}
