//! What leaves the provider about a citizen: the subject identifier, the ID token, and the
//! userinfo claims, each released only under a scope the client may ask for and the citizen
//! consented to.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use llavero_store::{Client, Grant, Person, SubjectType};
use serde_json::{Map, Value, json};

use crate::keys::KeyError;
use crate::registry::Run;
use crate::state::Idp;

pub use crate::scopes::CLAIM_SCOPES;

/// The `sub` a client sees: pairwise by default (HMAC of client and account, so two clients
/// cannot link their users), or the account id for clients registered as public.
#[must_use]
pub fn subject(idp: &Idp, client_id: &str, subject_type: SubjectType, account_id: &str) -> String {
    match subject_type {
        SubjectType::Public => account_id.to_owned(),
        SubjectType::Pairwise => {
            let tag = ring::hmac::sign(
                &idp.pairwise_key,
                format!("{client_id}\u{0}{account_id}").as_bytes(),
            );
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        }
    }
}

/// Signs an ID token for a grant.
pub async fn id_token(
    idp: &Idp,
    client: &Client,
    grant: &Grant,
    nonce: Option<&str>,
) -> Result<String, KeyError> {
    let now = idp.now();
    let signer = idp
        .keys
        .id_token_signer(&idp.store, &idp.master, client.id_token_alg, now)
        .await?;
    let mut claims = json!({
        "iss": idp.config.issuer,
        "sub": subject(idp, &client.id, client.subject_type, &grant.account_id),
        "aud": client.id,
        "exp": now + idp.config.id_token_secs,
        "iat": now,
        "auth_time": grant.auth_time,
        "acr": grant.acr,
        "amr": grant.amr,
        "sid": grant.session_handle,
    });
    if let (Some(nonce), Some(obj)) = (nonce, claims.as_object_mut()) {
        obj.insert("nonce".into(), nonce.into());
    }
    signer.sign_json(&claims)
}

/// Splits registry names on spaces: `"María José"` → `["María", "José"]`.
fn words(text: &str) -> Vec<Value> {
    text.split_whitespace()
        .map(|w| Value::from(w.to_owned()))
        .collect()
}

/// The userinfo response: `sub`, and per granted scope:
/// `run` → `RolUnico {numero, DV, tipo: "RUN"}` (ClaveÚnica's shape: `numero` a number, `DV` a
/// string); `name` → `name {nombres[], apellidos[]}`, `given_name`, `family_name`;
/// `birthdate` → `birthdate`.
#[must_use]
pub fn userinfo(sub: String, scopes: &[&str], person: &Person) -> Value {
    let mut out = Map::new();
    out.insert("sub".into(), sub.into());
    if scopes.contains(&"run") {
        let run = u32::try_from(person.run)
            .ok()
            .and_then(|n| Run::from_number(n).ok());
        if let Some(run) = run {
            out.insert(
                "RolUnico".into(),
                json!({"numero": run.number(), "DV": run.check_digit().to_string(), "tipo": "RUN"}),
            );
        }
    }
    if scopes.contains(&"name") {
        let mut apellidos = words(&person.paternal_surname);
        apellidos.extend(words(&person.maternal_surname));
        let family = [
            person.paternal_surname.as_str(),
            person.maternal_surname.as_str(),
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
        out.insert(
            "name".into(),
            json!({"nombres": words(&person.given_names), "apellidos": apellidos}),
        );
        out.insert("given_name".into(), person.given_names.clone().into());
        out.insert("family_name".into(), family.into());
    }
    if scopes.contains(&"birthdate") {
        out.insert("birthdate".into(), person.birth_date.clone().into());
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use llavero_store::PersonStatus;

    use super::*;

    #[test]
    fn claveunica_shapes_by_scope() {
        let person = Person {
            run: 12_345_678,
            given_names: "María José".into(),
            paternal_surname: "González".into(),
            maternal_surname: "Rojas".into(),
            birth_date: "1990-04-12".into(),
            sex: "F".into(),
            nationality: "CL".into(),
            document_serial: "A1".into(),
            status: PersonStatus::Active,
            registry_updated_at: 0,
        };
        let all = userinfo("s".into(), &["openid", "run", "name", "birthdate"], &person);
        assert_eq!(
            all["RolUnico"],
            json!({"numero": 12_345_678, "DV": "5", "tipo": "RUN"})
        );
        assert_eq!(
            all["name"],
            json!({"nombres": ["María", "José"], "apellidos": ["González", "Rojas"]})
        );
        assert_eq!(all["given_name"], "María José");
        assert_eq!(all["family_name"], "González Rojas");
        assert_eq!(all["birthdate"], "1990-04-12");
        let none = userinfo("s".into(), &["openid"], &person);
        assert_eq!(none, json!({"sub": "s"}));
        let k = Person { run: 6, ..person };
        assert_eq!(userinfo("s".into(), &["run"], &k)["RolUnico"]["DV"], "K");
    }
}
