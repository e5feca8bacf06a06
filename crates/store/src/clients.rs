//! Relying parties registered with the identity provider.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::secret::{json_list, to_json_list};
use crate::{Store, StoreError};

/// How a client authenticates at the token, PAR and revocation endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// HTTP Basic with the client secret.
    ClientSecretBasic,
    /// The client secret in the form body.
    ClientSecretPost,
    /// A JWT signed with a key from the client's registered JWKS (RFC 7523).
    PrivateKeyJwt,
    /// A public client (a mobile or browser app): no secret, PKCE only.
    None,
}

impl ClientAuthMethod {
    /// The registered name (RFC 7591 `token_endpoint_auth_method`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }

    /// Parses the registered name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "client_secret_basic" => Some(Self::ClientSecretBasic),
            "client_secret_post" => Some(Self::ClientSecretPost),
            "private_key_jwt" => Some(Self::PrivateKeyJwt),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

/// Which `sub` a client sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectType {
    /// A different, unlinkable `sub` per client (the default).
    Pairwise,
    /// The same `sub` for every client that asks for it.
    Public,
}

impl SubjectType {
    /// The registered name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pairwise => "pairwise",
            Self::Public => "public",
        }
    }

    /// Parses the registered name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pairwise" => Some(Self::Pairwise),
            "public" => Some(Self::Public),
            _ => None,
        }
    }
}

/// The algorithm a client's ID tokens are signed with (`id_token_signed_response_alg`,
/// OpenID Connect Dynamic Client Registration §2), and of the provider key that signs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    /// ECDSA P-256 with SHA-256: the default.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, which OpenID Connect Core §15.1 makes mandatory to
    /// implement for every provider.
    Rs256,
}

impl SigningAlg {
    /// The JWS `alg` name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }

    /// Parses the JWS `alg` name (exact, as JWS compares it).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ES256" => Some(Self::Es256),
            "RS256" => Some(Self::Rs256),
            _ => None,
        }
    }
}

/// Whether a client must use PKCE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkcePolicy {
    /// Every authorization request carries an S256 challenge (the default, and the only
    /// policy a public client can have).
    Required,
    /// A confidential client may omit PKCE (registered so explicitly, for relying parties that
    /// move from ClaveÚnica unchanged); a challenge it sends is still enforced.
    Optional,
}

impl PkcePolicy {
    /// The registered name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Optional => "optional",
        }
    }

    /// Parses the registered name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "required" => Some(Self::Required),
            "optional" => Some(Self::Optional),
            _ => None,
        }
    }
}

/// A client as registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// `client_id`.
    pub id: String,
    /// Shown to citizens on the consent and account pages.
    pub name: String,
    /// `hash_secret(client_secret)` for secret-based methods.
    pub secret_hash: Option<String>,
    /// Authentication method.
    pub auth_method: ClientAuthMethod,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Exact post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Scopes the client may request.
    pub scopes: Vec<String>,
    /// Lowest `acr` the client accepts.
    pub min_acr: Option<String>,
    /// Which `sub` it sees.
    pub subject_type: SubjectType,
    /// Public JWKS for `private_key_jwt`.
    pub jwks: Option<String>,
    /// How its ID tokens are signed.
    pub id_token_alg: SigningAlg,
    /// Whether it must use PKCE.
    pub pkce: PkcePolicy,
}

/// A client to register.
pub type NewClient = Client;

const COLUMNS: &str = "id, name, secret_hash, auth_method, redirect_uris, post_logout_redirect_uris, scopes, min_acr, subject_type, jwks, id_token_signed_response_alg, pkce";

fn client_from_row(row: &AnyRow) -> Result<Client, StoreError> {
    let method: String = row.try_get("auth_method")?;
    let subject: String = row.try_get("subject_type")?;
    let redirect: String = row.try_get("redirect_uris")?;
    let logout: String = row.try_get("post_logout_redirect_uris")?;
    let scopes: String = row.try_get("scopes")?;
    let alg: String = row.try_get("id_token_signed_response_alg")?;
    let pkce: String = row.try_get("pkce")?;
    Ok(Client {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        secret_hash: row.try_get("secret_hash")?,
        auth_method: ClientAuthMethod::parse(&method)
            .ok_or_else(|| StoreError::corrupt("auth_method", method))?,
        redirect_uris: json_list("redirect_uris", &redirect)?,
        post_logout_redirect_uris: json_list("post_logout_redirect_uris", &logout)?,
        scopes: json_list("scopes", &scopes)?,
        min_acr: row.try_get("min_acr")?,
        subject_type: SubjectType::parse(&subject)
            .ok_or_else(|| StoreError::corrupt("subject_type", subject))?,
        jwks: row.try_get("jwks")?,
        id_token_alg: SigningAlg::parse(&alg)
            .ok_or_else(|| StoreError::corrupt("id_token_signed_response_alg", alg))?,
        pkce: PkcePolicy::parse(&pkce).ok_or_else(|| StoreError::corrupt("pkce", pkce))?,
    })
}

impl Store {
    /// Registers a client.
    pub async fn add_client(&self, client: &NewClient, now: i64) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO clients ({COLUMNS}, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(&client.id)
        .bind(&client.name)
        .bind(client.secret_hash.as_deref())
        .bind(client.auth_method.as_str())
        .bind(to_json_list(&client.redirect_uris))
        .bind(to_json_list(&client.post_logout_redirect_uris))
        .bind(to_json_list(&client.scopes))
        .bind(client.min_acr.as_deref())
        .bind(client.subject_type.as_str())
        .bind(client.jwks.as_deref())
        .bind(client.id_token_alg.as_str())
        .bind(client.pkce.as_str())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A client by id.
    pub async fn client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM clients WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(client_from_row).transpose()
    }

    /// Every registered client, oldest first (for `llavero client list`).
    pub async fn clients(&self) -> Result<Vec<Client>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM clients ORDER BY created_at, id"
        ))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(client_from_row).collect()
    }
}
