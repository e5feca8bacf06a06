//! The identity provider's settings (the server fills them from its configuration file).

/// Lifetimes, limits and cookie settings.
#[derive(Debug, Clone)]
pub struct IdpConfig {
    /// The issuer identifier: the provider's base URL, with no trailing slash.
    pub issuer: String,
    /// `Secure` cookies with the `__Host-` prefix. Only a localhost development setup turns
    /// this off.
    pub secure_cookies: bool,
    /// Session inactivity limit (seconds).
    pub session_idle_secs: i64,
    /// Session absolute limit (seconds).
    pub session_absolute_secs: i64,
    /// Authorization code lifetime (seconds).
    pub code_secs: i64,
    /// Access token lifetime (seconds).
    pub access_token_secs: i64,
    /// ID token lifetime (seconds).
    pub id_token_secs: i64,
    /// Refresh token lifetime (seconds); each rotation starts a new one.
    pub refresh_token_secs: i64,
    /// Grace window of refresh-token rotation (seconds): a retry of the token just rotated,
    /// by the same client, this soon after its rotation and while its successor is unused,
    /// gets a fresh pair instead of revoking the family (the answer to the rotation was lost,
    /// a crash or a dropped connection). 0 disables it. See `llavero_store`'s `refresh_grace`.
    pub refresh_grace_secs: i64,
    /// Pending authorization request lifetime (seconds), PAR `expires_in` included.
    pub request_secs: i64,
    /// Activation code lifetime (seconds).
    pub activation_code_secs: i64,
    /// Requests per minute per client IP on the citizen-facing credential endpoints (login,
    /// activation, password change).
    pub login_rate_per_minute: i64,
    /// Requests per minute per client IP on the client-facing credential endpoints (token,
    /// PAR, revocation).
    pub client_rate_per_minute: i64,
    /// Consecutive failures after which an account locks (NIST SP 800-63B: at most 100).
    pub lock_after_failures: i64,
    /// Argon2id computations running at once, each with its 19 MiB buffer (default: the
    /// cores). See [`crate::hashing`].
    pub password_hash_workers: std::num::NonZeroUsize,
    /// Requests waiting for a hashing worker beyond the running ones; more get 503 with
    /// `Retry-After` (default: 32 per worker, about a second of work).
    pub password_hash_queue: usize,
    /// SHA-256 (base64url) of the admin API bearer token; no admin API without it.
    pub admin_token_hash: Option<String>,
    /// WebAuthn relying-party id. Default: the issuer's host.
    pub webauthn_rp_id: Option<String>,
    /// Origins allowed in WebAuthn client data. Default: the issuer.
    pub webauthn_origins: Vec<String>,
    /// Every citizen must have a second factor: an account without one, after its password,
    /// is sent to enrol a security key or passkey instead of to the service.
    pub require_enrolment: bool,
    /// The attestation allow-list (trusted CAs and the AAGUIDs allowed under them). `None`,
    /// the default: no attestation is requested, `…/LoA/high` is never reached, and staff
    /// accounts cannot register authenticators.
    pub webauthn_attestation: Option<crate::attestation::AttestationPolicy>,
    /// Proxies (load balancers) whose forwarding headers name the client; empty, the default:
    /// the TCP peer is the client. See [`crate::web::client_address`].
    pub trusted_proxies: llavero_platform::TrustedProxies,
    /// The zone the citizen's pages show times in (history, sessions, keys), named beside
    /// them. Default: `America/Santiago`.
    pub time_zone: crate::local_time::LocalZone,
}

impl IdpConfig {
    /// Defaults for an issuer URL.
    #[must_use]
    pub fn new(issuer: impl Into<String>) -> Self {
        let issuer: String = issuer.into();
        let hashing = crate::hashing::HashingLimits::for_this_machine();
        Self {
            secure_cookies: !issuer.starts_with("http://"),
            issuer: issuer.trim_end_matches('/').to_owned(),
            session_idle_secs: 3600,
            session_absolute_secs: 24 * 3600,
            code_secs: 60,
            access_token_secs: 600,
            id_token_secs: 600,
            refresh_token_secs: 24 * 3600,
            refresh_grace_secs: 10,
            request_secs: 600,
            activation_code_secs: 72 * 3600,
            login_rate_per_minute: 30,
            client_rate_per_minute: 600,
            lock_after_failures: 100,
            password_hash_workers: hashing.workers,
            password_hash_queue: hashing.queue,
            admin_token_hash: None,
            webauthn_rp_id: None,
            webauthn_origins: Vec::new(),
            require_enrolment: false,
            webauthn_attestation: None,
            trusted_proxies: llavero_platform::TrustedProxies::default(),
            time_zone: crate::local_time::LocalZone::default(),
        }
    }

    /// The hashing limits these settings ask for.
    #[must_use]
    pub fn hashing_limits(&self) -> crate::hashing::HashingLimits {
        crate::hashing::HashingLimits {
            workers: self.password_hash_workers,
            queue: self.password_hash_queue,
        }
    }

    /// An absolute URL on this provider.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}
