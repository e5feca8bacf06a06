//! Service configuration: built-in defaults, overridden by a TOML file, overridden by
//! `LLAVERO_*` environment variables, so `llavero serve` runs on a fresh machine with no file
//! at all and a deployment sets only what differs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use llavero_idp::web::client_address::TrustedProxies;
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
    /// The OpenID Connect issuer (public base URL). Default: `http://localhost:PORT` on a
    /// loopback `listen`, else `http://` + `listen`.
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
    /// Seed a demo registry, account and client when the registry is empty (printing the demo
    /// password and the agencies' secrets). Default: only for a laptop demo, see
    /// [`Config::demo_data`].
    pub demo_data: Option<bool>,
    /// Grace window of refresh-token rotation, in seconds: a client's retry of the refresh
    /// token it just rotated, while the new one is unused, gets a fresh pair instead of
    /// revoking the family (its answer was lost). 0 disables it.
    pub refresh_grace_secs: u32,
    /// Days the audit trail keeps full IP addresses; older ones are truncated (/24, /48).
    pub audit_ip_retention_days: i64,
    /// Password hashes (Argon2id, 19 MiB each) computed at once. Default: the cores.
    pub password_hash_workers: Option<std::num::NonZeroUsize>,
    /// Requests waiting for a hashing worker; beyond them, 503 with `Retry-After`. Default:
    /// 32 per worker.
    pub password_hash_queue: Option<usize>,
    /// WebAuthn relying-party id (default: the issuer's host).
    pub webauthn_rp_id: Option<String>,
    /// WebAuthn origins (default: the issuer).
    pub webauthn_origins: Vec<String>,
    /// Every citizen must enrol a second factor (WebAuthn) before reaching any service.
    pub require_enrolment: bool,
    /// The IANA time zone the citizen's pages show times in (default `America/Santiago`).
    pub time_zone: Option<String>,
    /// The WebAuthn attestation allow-list: trusted attestation CAs and the authenticator
    /// models (AAGUIDs) allowed under each. Empty (the default): no attestation is requested
    /// and `…/LoA/high` is never reached.
    pub webauthn_attestation: Vec<AttestationEntry>,
    /// A directory of credential type definitions (`<id>.json` + `<id>.schema.json`) added to,
    /// or replacing, the built-in ones.
    pub credential_types_dir: Option<PathBuf>,
    /// A PEM file of CA certificates the citizen's wallet also trusts for verifiers' signed
    /// requests (`x5c` chains), besides the local presentation authority's root: how an
    /// operator lets the wallet answer another verifier.
    pub wallet_trusted_roots: Option<PathBuf>,
    /// Seconds a client has to send a request's line and headers (also the longest a
    /// keep-alive connection waits for its next request).
    pub header_read_timeout_secs: u64,
    /// Seconds a request may take, body upload included, before it is answered 408.
    pub request_timeout_secs: u64,
    /// Seconds a connection may stay open with no byte moving before it is closed.
    pub idle_timeout_secs: u64,
    /// Connections served at once; past that, new ones wait in the kernel's backlog.
    pub max_connections: u32,
    /// Proxies (CIDRs or addresses) whose `Forwarded` / `X-Forwarded-For` headers name the
    /// client, for per-address limits and the audit trail. Empty (the default): the headers
    /// are ignored and the TCP peer is the client.
    pub trusted_proxies: TrustedProxies,
    /// How long to keep trying a PostgreSQL server that cannot be reached yet at start
    /// (connection refused, no answer, starting up), with backoff, before giving up with the
    /// cause. 0 tries once.
    pub database_connect_retry_secs: u32,
    /// The presentation service accepts `redirect_uri` client identifiers (unsigned requests
    /// nothing authenticates): for development only, off by default.
    pub verifier_dangerous_allow_redirect_uri_client_ids: bool,
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
            demo_data: None,
            refresh_grace_secs: 10,
            audit_ip_retention_days: 90,
            password_hash_workers: None,
            password_hash_queue: None,
            webauthn_rp_id: None,
            webauthn_origins: Vec::new(),
            credential_types_dir: None,
            wallet_trusted_roots: None,
            require_enrolment: false,
            verifier_dangerous_allow_redirect_uri_client_ids: false,
            time_zone: None,
            webauthn_attestation: Vec::new(),
            header_read_timeout_secs: 10,
            request_timeout_secs: 30,
            idle_timeout_secs: 60,
            max_connections: 4096,
            trusted_proxies: TrustedProxies::default(),
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

    /// Whether to seed demo data: as set, else only for the embedded SQLite default with an
    /// issuer on a loopback address — a laptop demo. A deployment (PostgreSQL, or a public
    /// issuer) must never get a known demo password or print agency secrets to its log.
    #[must_use]
    pub fn demo_data(&self) -> bool {
        self.demo_data
            .unwrap_or_else(|| self.database_url.is_none() && is_loopback_url(&self.issuer()))
    }

    /// The issuer in effect: the setting, else `http://localhost:PORT` when listening on a
    /// loopback address (an IP address cannot be a WebAuthn relying-party id, `localhost` can,
    /// and browsers treat it as a secure context, so the quick start's keys work), else
    /// `http://` + `listen`.
    #[must_use]
    pub fn issuer(&self) -> String {
        self.issuer.clone().unwrap_or_else(|| {
            if self.listen.ip().is_loopback() {
                format!("http://localhost:{}", self.listen.port())
            } else {
                format!("http://{}", self.listen)
            }
        })
    }

    /// The listener's connection limits.
    pub fn listen_limits(&self) -> anyhow::Result<crate::listen::Limits> {
        crate::listen::Limits::new(
            self.header_read_timeout_secs,
            self.request_timeout_secs,
            self.idle_timeout_secs,
            self.max_connections,
        )
        .context("connection limits")
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
    /// `LLAVERO_REFRESH_GRACE_SECS`, `LLAVERO_AUDIT_IP_RETENTION_DAYS`,
    /// `LLAVERO_PASSWORD_HASH_WORKERS`, `LLAVERO_PASSWORD_HASH_QUEUE`, `LLAVERO_WEBAUTHN_RP_ID`, `LLAVERO_WEBAUTHN_ORIGINS`
    /// (comma-separated), `LLAVERO_WEBAUTHN_ATTESTATION_CA` with
    /// `LLAVERO_WEBAUTHN_ATTESTATION_AAGUIDS` (comma-separated; together they replace the
    /// allow-list by one entry), `LLAVERO_DEMO_DATA`, `LLAVERO_HEADER_READ_TIMEOUT_SECS`,
    /// `LLAVERO_REQUEST_TIMEOUT_SECS`, `LLAVERO_IDLE_TIMEOUT_SECS`,
    /// `LLAVERO_MAX_CONNECTIONS`, `LLAVERO_TRUSTED_PROXIES` (comma-separated),
    /// `LLAVERO_DATABASE_CONNECT_RETRY_SECS`, `LLAVERO_TIME_ZONE` and
    /// `LLAVERO_WALLET_TRUSTED_ROOTS` (a PEM file).
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
        if let Some(v) = var("LLAVERO_PASSWORD_HASH_WORKERS") {
            self.password_hash_workers = Some(
                v.parse()
                    .context("LLAVERO_PASSWORD_HASH_WORKERS (at least 1)")?,
            );
        }
        if let Some(v) = var("LLAVERO_PASSWORD_HASH_QUEUE") {
            self.password_hash_queue = Some(v.parse().context("LLAVERO_PASSWORD_HASH_QUEUE")?);
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
        if let Some(v) = var("LLAVERO_TIME_ZONE") {
            self.time_zone = Some(v);
        }
        if let Some(v) = var("LLAVERO_REQUIRE_ENROLMENT") {
            self.require_enrolment = v.parse().context("LLAVERO_REQUIRE_ENROLMENT")?;
        }
        if let Some(v) = var("LLAVERO_CREDENTIAL_TYPES_DIR") {
            self.credential_types_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = var("LLAVERO_WALLET_TRUSTED_ROOTS") {
            self.wallet_trusted_roots = Some(PathBuf::from(v));
        }
        if let Some(v) = var("LLAVERO_DEMO_DATA") {
            self.demo_data = Some(v.parse().context("LLAVERO_DEMO_DATA")?);
        }
        self.apply_listener_env(&var)
    }

    /// The listener's settings: connection limits and trusted proxies.
    fn apply_listener_env(&mut self, var: &impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = var("LLAVERO_HEADER_READ_TIMEOUT_SECS") {
            self.header_read_timeout_secs =
                v.parse().context("LLAVERO_HEADER_READ_TIMEOUT_SECS")?;
        }
        if let Some(v) = var("LLAVERO_REQUEST_TIMEOUT_SECS") {
            self.request_timeout_secs = v.parse().context("LLAVERO_REQUEST_TIMEOUT_SECS")?;
        }
        if let Some(v) = var("LLAVERO_IDLE_TIMEOUT_SECS") {
            self.idle_timeout_secs = v.parse().context("LLAVERO_IDLE_TIMEOUT_SECS")?;
        }
        if let Some(v) = var("LLAVERO_MAX_CONNECTIONS") {
            self.max_connections = v.parse().context("LLAVERO_MAX_CONNECTIONS")?;
        }
        if let Some(v) = var("LLAVERO_TRUSTED_PROXIES") {
            let entries: Vec<&str> = v.split(',').filter(|e| !e.trim().is_empty()).collect();
            self.trusted_proxies =
                TrustedProxies::parse(&entries).context("LLAVERO_TRUSTED_PROXIES")?;
        }
        if let Some(v) = var("LLAVERO_DATABASE_CONNECT_RETRY_SECS") {
            self.database_connect_retry_secs =
                v.parse().context("LLAVERO_DATABASE_CONNECT_RETRY_SECS")?;
        }
        Ok(())
    }
}

/// Whether `url`'s host is `localhost` or a loopback address.
fn is_loopback_url(url: &str) -> bool {
    let authority = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or(v6, |(h, _)| h),
        None => host_port.split(':').next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_issuer_is_localhost_on_a_loopback_listener_so_webauthn_works() {
        let at = |listen: &str| Config {
            listen: listen.parse().unwrap(),
            ..Config::default()
        };
        assert_eq!(Config::default().issuer(), "http://localhost:8080");
        assert_eq!(at("127.0.0.1:7000").issuer(), "http://localhost:7000");
        assert_eq!(at("[::1]:7001").issuer(), "http://localhost:7001");
        assert_eq!(at("10.0.0.5:8080").issuer(), "http://10.0.0.5:8080");
        let mut changed = Config::default();
        changed
            .apply_env(|name| (name == "LLAVERO_LISTEN").then(|| "127.0.0.1:7002".into()))
            .unwrap();
        assert_eq!(changed.issuer(), "http://localhost:7002");
        let explicit = Config {
            issuer: Some("https://llavero.example".into()),
            ..Config::default()
        };
        assert_eq!(explicit.issuer(), "https://llavero.example");
    }
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
    fn connection_limits_from_file_or_environment_refuse_zero() {
        let mut config: Config =
            toml::from_str("header_read_timeout_secs = 5\nmax_connections = 100\n").unwrap();
        config
            .apply_env(|name| (name == "LLAVERO_IDLE_TIMEOUT_SECS").then(|| "20".into()))
            .unwrap();
        let limits = config.listen_limits().unwrap();
        assert_eq!(limits.header_read_timeout.as_secs(), 5);
        assert_eq!(limits.request_timeout.as_secs(), 30);
        assert_eq!(limits.idle_timeout.as_secs(), 20);
        assert_eq!(limits.max_connections, 100);
        config
            .apply_env(|name| (name == "LLAVERO_REQUEST_TIMEOUT_SECS").then(|| "0".into()))
            .unwrap();
        assert!(config.listen_limits().is_err());
    }

    #[test]
    fn trusted_proxies_from_file_or_environment_refuse_what_is_not_a_network() {
        assert!(Config::default().trusted_proxies.is_empty());
        let mut config: Config =
            toml::from_str("trusted_proxies = [\"10.0.0.0/8\", \"2001:db8::1\"]\n").unwrap();
        assert!(config.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
        assert!(toml::from_str::<Config>("trusted_proxies = [\"lb.internal\"]\n").is_err());
        config
            .apply_env(|name| (name == "LLAVERO_TRUSTED_PROXIES").then(|| "192.0.2.0/24, ".into()))
            .unwrap();
        assert!(
            config
                .trusted_proxies
                .contains("192.0.2.9".parse().unwrap())
        );
        assert!(!config.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
        assert!(
            Config::default()
                .apply_env(|name| (name == "LLAVERO_TRUSTED_PROXIES").then(|| "10.0.0.0/40".into()))
                .is_err()
        );
    }

    #[test]
    fn demo_data_defaults_on_only_for_a_loopback_sqlite_demo_and_the_setting_wins() {
        assert!(Config::default().demo_data());
        let postgres = Config {
            database_url: Some("postgres://127.0.0.1/llavero".into()),
            ..Config::default()
        };
        assert!(!postgres.demo_data());
        let public = Config {
            issuer: Some("https://auth.example.cl".into()),
            ..Config::default()
        };
        assert!(!public.demo_data());
        let all_interfaces = Config {
            listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            ..Config::default()
        };
        assert!(!all_interfaces.demo_data());
        for loopback in [
            "http://localhost:8080",
            "http://[::1]:8080/",
            "http://127.0.0.2",
        ] {
            let config = Config {
                issuer: Some(loopback.into()),
                ..Config::default()
            };
            assert!(config.demo_data(), "{loopback}");
        }
        let mut explicit: Config =
            toml::from_str("database_url = \"postgres://db/llavero\"\ndemo_data = true\n").unwrap();
        assert!(explicit.demo_data());
        explicit
            .apply_env(|name| (name == "LLAVERO_DEMO_DATA").then(|| "false".into()))
            .unwrap();
        assert!(!explicit.demo_data());
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
    fn password_hashing_limits_from_file_or_environment_at_least_one_worker() {
        let defaults = Config::default();
        assert_eq!(
            (defaults.password_hash_workers, defaults.password_hash_queue),
            (None, None)
        );
        let mut config: Config =
            toml::from_str("password_hash_workers = 3\npassword_hash_queue = 0\n").unwrap();
        assert_eq!(
            config.password_hash_workers.map(std::num::NonZero::get),
            Some(3)
        );
        assert_eq!(config.password_hash_queue, Some(0));
        config
            .apply_env(|name| match name {
                "LLAVERO_PASSWORD_HASH_WORKERS" => Some("8".into()),
                "LLAVERO_PASSWORD_HASH_QUEUE" => Some("100".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            config.password_hash_workers.map(std::num::NonZero::get),
            Some(8)
        );
        assert_eq!(config.password_hash_queue, Some(100));
        assert!(toml::from_str::<Config>("password_hash_workers = 0\n").is_err());
        assert!(
            Config::default()
                .apply_env(|name| (name == "LLAVERO_PASSWORD_HASH_WORKERS").then(|| "0".into()))
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
