//! Service configuration: built-in defaults, overridden by a TOML file, overridden by
//! `LLAVERO_*` environment variables, so `llavero serve` runs on a fresh machine with no file
//! at all and a deployment sets only what differs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for the embedded database, keys and generated demo material.
    pub data_dir: PathBuf,
    /// The offline bundle the verification endpoints use. Without one, `serve` builds a demo
    /// bundle in `data_dir` on first start.
    pub bundle: Option<PathBuf>,
    /// The trust anchor's public JWK that must have signed the bundle's trust list.
    pub trust_anchor: Option<PathBuf>,
    /// Clock skew tolerated when checking validity windows, in seconds.
    pub clock_skew_secs: i64,
    /// Log format: `pretty` or `json`.
    pub log_format: String,
    /// The identity provider's database: `sqlite://…` or `postgres://…`. Default: an SQLite
    /// file in `data_dir`.
    pub database_url: Option<String>,
    /// The OpenID Connect issuer (public base URL). Default: `http://` + `listen`.
    pub issuer: Option<String>,
    /// The master key (32 bytes, base64url) sealing signing keys. Default for SQLite: generated
    /// on first start into `data_dir/master.key`; required with PostgreSQL (every instance
    /// needs the same one).
    pub master_key: Option<String>,
    /// `Secure` + `__Host-` cookies. Default: on unless the issuer is `http://`.
    pub secure_cookies: Option<bool>,
    /// The admin API bearer token (only its SHA-256 is kept in memory). No admin API without it.
    pub admin_token: Option<String>,
    /// Citizen credential requests per minute per IP.
    pub login_rate_per_minute: i64,
    /// Client credential requests (token, PAR, revocation) per minute per IP.
    pub client_rate_per_minute: i64,
    /// Seed a demo registry, account and client when the registry is empty.
    pub demo_data: bool,
    /// Grace window of refresh-token rotation, in seconds: a client's retry of the refresh
    /// token it just rotated, while the new one is unused, gets a fresh pair instead of
    /// revoking the family (its answer was lost). 0 disables it.
    pub refresh_grace_secs: u32,
    /// Days the audit trail keeps full IP addresses; older ones are truncated (/24, /48).
    pub audit_ip_retention_days: i64,
    /// WebAuthn relying-party id (default: the issuer's host).
    pub webauthn_rp_id: Option<String>,
    /// WebAuthn origins (default: the issuer).
    pub webauthn_origins: Vec<String>,
    /// Every citizen must enrol a second factor (WebAuthn) before reaching any service.
    pub require_enrolment: bool,
    /// The WebAuthn attestation allow-list: trusted attestation CAs and the authenticator
    /// models (AAGUIDs) allowed under each. Empty (the default): no attestation is requested
    /// and `…/LoA/high` is never reached.
    pub webauthn_attestation: Vec<AttestationEntry>,
    /// A directory of credential type definitions (`<id>.json` + `<id>.schema.json`) added to,
    /// or replacing, the built-in ones.
    pub credential_types_dir: Option<PathBuf>,
    /// How long to keep trying a PostgreSQL server that cannot be reached yet at start
    /// (connection refused, no answer, starting up), with backoff, before giving up with the
    /// cause. 0 tries once.
    pub database_connect_retry_secs: u32,
}

/// One attestation allow-list entry (`[[webauthn_attestation]]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationEntry {
    /// The CA certificate, a PEM file.
    pub ca: PathBuf,
    /// The AAGUIDs allowed under it.
    pub aaguids: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("llavero-data"),
            bundle: None,
            trust_anchor: None,
            clock_skew_secs: 60,
            log_format: "pretty".into(),
            database_url: None,
            issuer: None,
            master_key: None,
            secure_cookies: None,
            admin_token: None,
            login_rate_per_minute: 30,
            client_rate_per_minute: 600,
            demo_data: true,
            refresh_grace_secs: 10,
            audit_ip_retention_days: 90,
            webauthn_rp_id: None,
            webauthn_origins: Vec::new(),
            credential_types_dir: None,
            require_enrolment: false,
            webauthn_attestation: Vec::new(),
            database_connect_retry_secs: 10,
        }
    }
}

impl Config {
    /// The database URL in effect.
    #[must_use]
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("llavero.db").display()
            )
        })
    }

    /// The issuer in effect.
    #[must_use]
    pub fn issuer(&self) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }

    /// Loads the configuration: defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("parsing config {}", path.display()))?
            }
            None => Self::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// Applies `LLAVERO_LISTEN`, `LLAVERO_DATA_DIR`, `LLAVERO_BUNDLE`, `LLAVERO_TRUST_ANCHOR`,
    /// `LLAVERO_CLOCK_SKEW_SECS`, `LLAVERO_LOG_FORMAT`, `LLAVERO_DATABASE_URL`, `LLAVERO_ISSUER`,
    /// `LLAVERO_MASTER_KEY`, `LLAVERO_SECURE_COOKIES`, `LLAVERO_ADMIN_TOKEN`,
    /// `LLAVERO_LOGIN_RATE_PER_MINUTE`, `LLAVERO_CLIENT_RATE_PER_MINUTE`,
    /// `LLAVERO_REFRESH_GRACE_SECS`, `LLAVERO_AUDIT_IP_RETENTION_DAYS`, `LLAVERO_WEBAUTHN_RP_ID`, `LLAVERO_WEBAUTHN_ORIGINS`
    /// (comma-separated), `LLAVERO_WEBAUTHN_ATTESTATION_CA` with
    /// `LLAVERO_WEBAUTHN_ATTESTATION_AAGUIDS` (comma-separated; together they replace the
    /// allow-list by one entry), `LLAVERO_DEMO_DATA` and `LLAVERO_DATABASE_CONNECT_RETRY_SECS`.
    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = var("LLAVERO_LISTEN") {
            self.listen = v.parse().context("LLAVERO_LISTEN")?;
        }
        if let Some(v) = var("LLAVERO_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = var("LLAVERO_BUNDLE") {
            self.bundle = Some(v.into());
        }
        if let Some(v) = var("LLAVERO_TRUST_ANCHOR") {
            self.trust_anchor = Some(v.into());
        }
        if let Some(v) = var("LLAVERO_CLOCK_SKEW_SECS") {
            self.clock_skew_secs = v.parse().context("LLAVERO_CLOCK_SKEW_SECS")?;
        }
        if let Some(v) = var("LLAVERO_LOG_FORMAT") {
            self.log_format = v;
        }
        if let Some(v) = var("LLAVERO_DATABASE_URL") {
            self.database_url = Some(v);
        }
        if let Some(v) = var("LLAVERO_ISSUER") {
            self.issuer = Some(v);
        }
        if let Some(v) = var("LLAVERO_MASTER_KEY") {
            self.master_key = Some(v);
        }
        if let Some(v) = var("LLAVERO_SECURE_COOKIES") {
            self.secure_cookies = Some(v.parse().context("LLAVERO_SECURE_COOKIES")?);
        }
        if let Some(v) = var("LLAVERO_ADMIN_TOKEN") {
            self.admin_token = Some(v);
        }
        if let Some(v) = var("LLAVERO_LOGIN_RATE_PER_MINUTE") {
            self.login_rate_per_minute = v.parse().context("LLAVERO_LOGIN_RATE_PER_MINUTE")?;
        }
        if let Some(v) = var("LLAVERO_CLIENT_RATE_PER_MINUTE") {
            self.client_rate_per_minute = v.parse().context("LLAVERO_CLIENT_RATE_PER_MINUTE")?;
        }
        if let Some(v) = var("LLAVERO_REFRESH_GRACE_SECS") {
            self.refresh_grace_secs = v.parse().context("LLAVERO_REFRESH_GRACE_SECS")?;
        }
        if let Some(v) = var("LLAVERO_AUDIT_IP_RETENTION_DAYS") {
            self.audit_ip_retention_days = v.parse().context("LLAVERO_AUDIT_IP_RETENTION_DAYS")?;
        }
        if let Some(v) = var("LLAVERO_WEBAUTHN_RP_ID") {
            self.webauthn_rp_id = Some(v);
        }
        if let Some(v) = var("LLAVERO_WEBAUTHN_ORIGINS") {
            self.webauthn_origins = v
                .split(',')
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect();
        }
        match (
            var("LLAVERO_WEBAUTHN_ATTESTATION_CA"),
            var("LLAVERO_WEBAUTHN_ATTESTATION_AAGUIDS"),
        ) {
            (Some(ca), Some(aaguids)) => {
                self.webauthn_attestation = vec![AttestationEntry {
                    ca: ca.into(),
                    aaguids: aaguids
                        .split(',')
                        .map(|a| a.trim().to_owned())
                        .filter(|a| !a.is_empty())
                        .collect(),
                }];
            }
            (None, None) => {}
            _ => anyhow::bail!(
                "LLAVERO_WEBAUTHN_ATTESTATION_CA and LLAVERO_WEBAUTHN_ATTESTATION_AAGUIDS go together"
            ),
        }
        if let Some(v) = var("LLAVERO_REQUIRE_ENROLMENT") {
            self.require_enrolment = v.parse().context("LLAVERO_REQUIRE_ENROLMENT")?;
        }
        if let Some(v) = var("LLAVERO_CREDENTIAL_TYPES_DIR") {
            self.credential_types_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = var("LLAVERO_DEMO_DATA") {
            self.demo_data = v.parse().context("LLAVERO_DEMO_DATA")?;
        }
        if let Some(v) = var("LLAVERO_DATABASE_CONNECT_RETRY_SECS") {
            self.database_connect_retry_secs =
                v.parse().context("LLAVERO_DATABASE_CONNECT_RETRY_SECS")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_override_defaults() {
        let mut config: Config =
            toml::from_str("listen = \"0.0.0.0:9000\"\nclock_skew_secs = 5\n").unwrap();
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.data_dir, PathBuf::from("llavero-data"));
        config
            .apply_env(|name| (name == "LLAVERO_LISTEN").then(|| "127.0.0.1:7000".into()))
            .unwrap();
        assert_eq!(config.listen.port(), 7000);
        assert_eq!(config.clock_skew_secs, 5);
        assert!(toml::from_str::<Config>("unknown = 1").is_err());
    }

    #[test]
    fn attestation_allow_list_from_file_or_environment() {
        let mut config: Config = toml::from_str(
            "[[webauthn_attestation]]\nca = \"/etc/llavero/yubico.pem\"\naaguids = [\"cb69481e-8ff7-4039-93ec-0a2729a154a8\"]\n",
        )
        .unwrap();
        assert_eq!(config.webauthn_attestation.len(), 1);
        assert_eq!(
            config.webauthn_attestation[0].ca,
            PathBuf::from("/etc/llavero/yubico.pem")
        );
        config
            .apply_env(|name| match name {
                "LLAVERO_WEBAUTHN_ATTESTATION_CA" => Some("/ca.pem".into()),
                "LLAVERO_WEBAUTHN_ATTESTATION_AAGUIDS" => Some("a, b".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            config.webauthn_attestation,
            [AttestationEntry {
                ca: "/ca.pem".into(),
                aaguids: vec!["a".into(), "b".into()]
            }]
        );
        assert!(
            Config::default()
                .apply_env(
                    |name| (name == "LLAVERO_WEBAUTHN_ATTESTATION_CA").then(|| "/ca.pem".into())
                )
                .is_err()
        );
        assert!(Config::default().webauthn_attestation.is_empty());
    }

    #[test]
    fn refresh_grace_from_file_or_environment_never_negative() {
        assert_eq!(Config::default().refresh_grace_secs, 10);
        let mut config: Config = toml::from_str(
            "refresh_grace_secs = 0
",
        )
        .unwrap();
        assert_eq!(config.refresh_grace_secs, 0);
        config
            .apply_env(|name| (name == "LLAVERO_REFRESH_GRACE_SECS").then(|| "30".into()))
            .unwrap();
        assert_eq!(config.refresh_grace_secs, 30);
        assert!(toml::from_str::<Config>("refresh_grace_secs = -1\n").is_err());
        assert!(
            Config::default()
                .apply_env(|name| (name == "LLAVERO_REFRESH_GRACE_SECS").then(|| "-1".into()))
                .is_err()
        );
    }

    #[test]
    fn database_connect_retry_from_file_or_environment() {
        assert_eq!(Config::default().database_connect_retry_secs, 10);
        let mut config: Config = toml::from_str("database_connect_retry_secs = 0\n").unwrap();
        assert_eq!(config.database_connect_retry_secs, 0);
        config
            .apply_env(|name| (name == "LLAVERO_DATABASE_CONNECT_RETRY_SECS").then(|| "60".into()))
            .unwrap();
        assert_eq!(config.database_connect_retry_secs, 60);
        assert!(toml::from_str::<Config>("database_connect_retry_secs = -1\n").is_err());
    }
}
