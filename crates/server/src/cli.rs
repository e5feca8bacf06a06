//! The command line: every command with `--help` and an example.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Llavero: national digital identity and verifiable credentials.
#[derive(Debug, Parser)]
#[command(name = "llavero", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (TOML). Environment variables `LLAVERO_*` override it.
    #[arg(long, global = true, env = "LLAVERO_CONFIG")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service.
    #[command(
        after_help = "Example:\n  llavero serve\n  LLAVERO_LISTEN=0.0.0.0:8080 llavero serve --config llavero.toml"
    )]
    Serve,
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Issue and present credentials.
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// Verify a credential or presentation offline with a bundle. Exit code 1 on rejection.
    #[command(
        after_help = "Example:\n  llavero verify credential.txt --bundle bundle.json --anchor anchor.pub.jwk\n  llavero verify - --bundle bundle.json --aud https://rp.example --nonce n-0S6_WzA2Mj < presentation.txt"
    )]
    Verify(VerifyArgs),
    /// Build the signed trust list.
    #[command(name = "trust-list", subcommand)]
    TrustList(TrustListCommand),
    /// Build signed status lists.
    #[command(name = "status-list", subcommand)]
    StatusList(StatusListCommand),
    /// Build offline bundles.
    #[command(subcommand)]
    Bundle(BundleCommand),
    /// The civil registry the identity provider is anchored in.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Citizens' accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Relying parties of the OpenID Connect provider.
    #[command(subcommand)]
    Client(ClientCommand),
    /// The tamper-evident audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Issuing agencies: their keys, types and API clients.
    #[command(subcommand)]
    Issuer(IssuerCommand),
    /// Relying parties of the presentation service (OpenID4VP): registration and API clients.
    #[command(subcommand)]
    Verifier(VerifierCommand),
    /// Load-test a running issuer over HTTP, or measure raw signing for a baseline.
    #[command(subcommand)]
    Load(LoadCommand),
}

/// `llavero load …`
#[derive(Debug, Subcommand)]
pub enum LoadCommand {
    /// Issue credentials as fast as possible: each worker takes one offer and token, then loops
    /// nonce, proofs, credential request. Prints a JSON summary on stdout.
    #[command(
        after_help = "Example:\n  llavero load issue --url http://127.0.0.1:8080 --agency registro-civil \\\n    --client-id ag-… --client-secret … --concurrency 16 --duration 20 --record received.txt"
    )]
    Issue(LoadIssueArgs),
    /// Revoke the agency's newest valid credentials (at most 1000, what one listing returns) as
    /// fast as possible. Prints a JSON summary on stdout.
    #[command(
        after_help = "Example:\n  llavero load revoke --url http://127.0.0.1:8080 --agency registro-civil \\\n    --client-id ag-… --client-secret … --concurrency 16 --duration 10"
    )]
    Revoke(LoadTarget),
    /// Sign SD-JWT VCs in-process on one thread, as the issuer does, for a per-core baseline.
    #[command(after_help = "Example:\n  llavero load sign --duration 5")]
    Sign {
        /// Seconds to run.
        #[arg(long, default_value_t = 5)]
        duration: u64,
    },
}

/// The issuer under load and how hard to push it.
#[derive(Debug, Args)]
pub struct LoadTarget {
    /// Base URL of `llavero serve` (plain HTTP).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The agency (last path segment of its credential issuer URL).
    #[arg(long, default_value = "registro-civil")]
    pub agency: String,
    /// The agency's API client id.
    #[arg(long)]
    pub client_id: String,
    /// The agency's API client secret.
    #[arg(long, env = "LLAVERO_LOAD_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: String,
    /// Worker threads, each with its own connection.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 20)]
    pub duration: u64,
}

/// Arguments of `load issue`.
#[derive(Debug, Args)]
pub struct LoadIssueArgs {
    /// Target and load.
    #[command(flatten)]
    pub target: LoadTarget,
    /// Proofs (so credentials) per credential request.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Append every credential received to this file, one per line, as it arrives.
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// The citizen the offers are for (the demo citizen by default).
    #[arg(long, default_value = "11.111.111-1")]
    pub run: String,
    /// The credential configuration requested.
    #[arg(long, default_value = "birth-certificate_sd-jwt")]
    pub configuration_id: String,
    /// The agency's claims for the offer (`{"type": {claim: value}}`).
    #[arg(
        long,
        default_value = r#"{"birth-certificate":{"birth_place":"Santiago"}}"#
    )]
    pub claims: String,
}

/// `llavero issuer …`
#[derive(Debug, Subcommand)]
pub enum IssuerCommand {
    /// Add an agency (or update its name and types) with a first signing key and an API client.
    #[command(
        after_help = "Example:\n  llavero issuer add transito --name 'Dirección de Tránsito' --types driving-licence"
    )]
    Add {
        /// Its id: the last path segment of its credential issuer URL.
        id: String,
        /// Its name, shown to citizens.
        #[arg(long)]
        name: String,
        /// Credential types it may issue (ids of `specs/credential-types/`), comma separated.
        #[arg(long, value_delimiter = ',', required = true)]
        types: Vec<String>,
    },
    /// A new API client (`client_credentials`) for an agency; the secret is printed once.
    #[command(after_help = "Example:\n  llavero issuer client transito")]
    Client {
        /// The agency.
        id: String,
    },
    /// A new signing key, published now and signing after the overlap; the old one stays
    /// published until the credentials it signed expire.
    #[command(after_help = "Example:\n  llavero issuer rotate-key transito --overlap-days 7")]
    RotateKey {
        /// The agency.
        id: String,
        /// Days between publishing the new key and signing with it.
        #[arg(long, default_value_t = 7)]
        overlap_days: i64,
    },
    /// List the agencies with their issuer URLs, types and keys.
    List,
}

/// `llavero verifier …`
#[derive(Debug, Subcommand)]
pub enum VerifierCommand {
    /// Register a relying party: a signing key with a certificate of the presentation
    /// authority, what it may ask for (from presets), and an API client.
    #[command(
        after_help = "Example:\n  llavero verifier add farmacia --name 'Farmacia Central' --dns-name farmacia.cl --query-preset age-over-18"
    )]
    Add {
        /// Its id.
        id: String,
        /// Its name, shown to citizens.
        #[arg(long)]
        name: String,
        /// The DNS name its certificate carries (for `x509_san_dns`).
        #[arg(long)]
        dns_name: Option<String>,
        /// Same-device return addresses, comma separated.
        #[arg(long, value_delimiter = ',')]
        redirect_uri: Vec<String>,
        /// Query presets it may use (age-over-18, name-and-run, driving-licence), comma
        /// separated; it may ask for exactly what they ask.
        #[arg(long, value_delimiter = ',', required = true)]
        query_preset: Vec<String>,
        /// More it may ask for: `FORMAT TYPE CLAIM…` (claim paths dot-separated), repeatable.
        #[arg(long)]
        allow: Vec<String>,
    },
    /// A new API client (`client_credentials`) for a relying party; the secret is printed once.
    #[command(after_help = "Example:\n  llavero verifier client farmacia")]
    Client {
        /// The relying party.
        id: String,
    },
    /// List the relying parties with their client identifiers and registrations.
    List,
}

/// `llavero audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the whole hash chain and every signed checkpoint; exit 1 at the first broken link.
    #[command(after_help = "Example:\n  llavero audit verify")]
    Verify,
    /// Export the entries of a time range as JSON Lines.
    #[command(
        after_help = "Example:\n  llavero audit export --from 2026-11-01T00:00:00Z --to 2026-12-01T00:00:00Z > nov.jsonl"
    )]
    Export {
        /// Start (RFC 3339, inclusive).
        #[arg(long)]
        from: String,
        /// End (RFC 3339, exclusive).
        #[arg(long)]
        to: String,
    },
    /// Sign a checkpoint of the chain's current head with the provider's key.
    #[command(after_help = "Example:\n  llavero audit checkpoint")]
    Checkpoint,
}

/// `llavero registry …`
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Import registry records (CSV with a header row, or JSON Lines): idempotent, newer
    /// records win, bad lines are reported and skipped.
    #[command(
        after_help = "Example:\n  llavero registry import registro-2026-11.csv\n  llavero registry import cambios.jsonl"
    )]
    Import {
        /// The file (`.csv`, `.jsonl` or `.ndjson`).
        file: PathBuf,
        /// Format, when the file name does not tell.
        #[arg(long, value_enum)]
        format: Option<RegistryFormat>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Generate a synthetic registry (valid check digits, Chilean-style names) for demos and
    /// load tests.
    #[command(
        after_help = "Example:\n  llavero registry demo --count 1000000 --format csv --out registro-demo.csv"
    )]
    Demo {
        /// How many people.
        #[arg(long, default_value_t = 1000)]
        count: u64,
        /// Output format.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: RegistryFormat,
        /// Seed (the same seed gives the same registry).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file (`-` for stdout).
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
}

/// Registry file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegistryFormat {
    /// CSV with a header row.
    Csv,
    /// JSON Lines.
    Jsonl,
}

/// `llavero account …`
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Issue a one-time activation code (also resets a password). Prints JSON.
    #[command(
        name = "activation-code",
        after_help = "Example:\n  llavero account activation-code 12.345.678-5"
    )]
    ActivationCode {
        /// The citizen's RUN.
        run: String,
    },
    /// Mark an account as staff: it may register only authenticators whose attestation is on
    /// the allow-list (`webauthn_attestation`). Prints JSON.
    #[command(
        after_help = "Example:\n  llavero account staff 12.345.678-5\n  llavero account staff 12.345.678-5 --remove"
    )]
    Staff {
        /// The citizen's RUN.
        run: String,
        /// Make it an ordinary account again.
        #[arg(long)]
        remove: bool,
    },
}

/// `llavero client …`
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process: boxing `Add` would buy nothing
pub enum ClientCommand {
    /// Register a relying party. Prints JSON with `client_id` (and `client_secret`, shown once).
    #[command(
        after_help = "Example:\n  llavero client add --name 'Municipalidad' --redirect-uri https://muni.example/cb \\\n    --post-logout-redirect-uri https://muni.example/ --scope 'openid run name'"
    )]
    Add {
        /// Name shown to citizens.
        #[arg(long)]
        name: String,
        /// Exact redirect URI; repeat for several.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// Exact post-logout redirect URI; repeat for several.
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Allowed scopes, space-separated.
        #[arg(long, default_value = "openid run name")]
        scope: String,
        /// `client_secret_basic`, `client_secret_post`, `private_key_jwt` or `none` (public).
        #[arg(long, default_value = "client_secret_basic")]
        auth: String,
        /// JWKS file with the client's public keys (for `private_key_jwt`).
        #[arg(long)]
        jwks: Option<PathBuf>,
        /// Lowest `acr` the client accepts.
        #[arg(long)]
        min_acr: Option<String>,
        /// `pairwise` (default) or `public` subject identifiers.
        #[arg(long)]
        subject_type: Option<String>,
        /// `ES256` (default) or `RS256`: how the client's ID tokens are signed.
        #[arg(long)]
        id_token_signed_response_alg: Option<String>,
        /// `required` (default) or `optional`: let a confidential client send code flows
        /// without PKCE (as ClaveÚnica's relying parties do). Refused for public clients;
        /// recorded in the audit log and shown by `client list`.
        #[arg(long)]
        pkce: Option<String>,
    },
    /// List the registered relying parties as JSON (without secrets), with each one's ID token
    /// algorithm and PKCE policy.
    #[command(after_help = "Example:\n  llavero client list")]
    List,
}

/// `llavero keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a P-256 key: the private JWK goes to `--out` (mode 0600), the public JWK to stdout.
    #[command(
        after_help = "Example:\n  llavero keys generate --out issuer.jwk --kid registro-2026 > issuer.pub.jwk"
    )]
    Generate {
        /// File for the private JWK; must not exist.
        #[arg(long)]
        out: PathBuf,
        /// Key identifier (`kid`); defaults to the RFC 7638 thumbprint.
        #[arg(long)]
        kid: Option<String>,
    },
    /// Rotate the identity provider's ID token signing keys (ES256, and RS256 when a client uses
    /// it); the old keys stay in the JWKS until their tokens expire.
    #[command(after_help = "Example:\n  llavero keys rotate")]
    Rotate,
}

/// Credential formats the CLI issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// IETF SD-JWT VC (`dc+sd-jwt`), with selective disclosure.
    SdJwtVc,
    /// W3C VC 2.0 secured with JOSE (`vc+jwt`).
    VcJwt,
}

/// `llavero credential …`
#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Issue a credential from a claims file.
    #[command(
        after_help = "Example:\n  llavero credential issue --type https://llavero.cl/vct/birth-certificate \\\n    --issuer https://registro.llavero.cl --key issuer.jwk --claims claims.json \\\n    --holder-key holder.pub.jwk --disclose given_name --disclose /is_over/18 > credential.txt\n  llavero credential issue --format vc-jwt --credential license.json --key issuer.jwk > license.txt"
    )]
    Issue(IssueArgs),
    /// Present a held SD-JWT VC: choose what to disclose and sign a key-binding JWT.
    #[command(
        after_help = "Example:\n  llavero credential present --credential credential.txt --disclose given_name \\\n    --holder-key holder.jwk --aud https://rp.example --nonce n-0S6_WzA2Mj > presentation.txt"
    )]
    Present(PresentArgs),
}

/// Arguments of `credential issue`: either a subject's claims (`--claims`, with `--type` and
/// `--issuer`), or, for `vc-jwt`, a whole W3C credential (`--credential`) signed as it is.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// The credential type: the SD-JWT VC `vct`, or the W3C `type` added beside `VerifiableCredential`.
    #[arg(long = "type", required_unless_present = "credential")]
    pub credential_type: Option<String>,
    /// The issuer identifier (`iss` / VC `issuer`), a URL.
    #[arg(long, required_unless_present = "credential")]
    pub issuer: Option<String>,
    /// JSON object with the credential subject's claims.
    #[arg(long, required_unless_present = "credential")]
    pub claims: Option<PathBuf>,
    /// A whole W3C VC 2.0 credential (JSON) to sign as a `vc+jwt` (`--format vc-jwt`): any
    /// conforming document, with several subjects, `name`, `description`, `credentialSchema`,
    /// `termsOfUse`… It is checked against the data model before signing.
    #[arg(long, conflicts_with_all = ["claims", "credential_type", "issuer", "holder_key", "status_uri", "disclose", "no_disclose", "valid_days"])]
    pub credential: Option<PathBuf>,
    /// The issuer's private JWK.
    #[arg(long)]
    pub key: PathBuf,
    /// The holder's public JWK, bound as `cnf.jwk` (SD-JWT VC) or `credentialSubject.id` as did:jwk (VC-JWT).
    #[arg(long)]
    pub holder_key: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "sd-jwt-vc")]
    pub format: Format,
    /// A selectively disclosable claim (SD-JWT VC), repeat for several: a top-level claim name
    /// (`given_name`), an RFC 6901 JSON pointer into the claims (`/is_over/18`,
    /// `/nationalities/0`, `~1` for `/` and `~0` for `~` in a name) or a JSON array
    /// (`["is_over","18"]`, `["nationalities",null]` for every element). Default: every
    /// top-level claim.
    #[arg(long = "disclose")]
    pub disclose: Vec<String>,
    /// Make no claim selectively disclosable (SD-JWT VC): every claim is always shown.
    #[arg(long, conflicts_with = "disclose")]
    pub no_disclose: bool,
    /// Validity in days from now.
    #[arg(long, default_value_t = 365)]
    pub valid_days: i64,
    /// Status list URI to reference.
    #[arg(long, requires = "status_index")]
    pub status_uri: Option<String>,
    /// Index in the status list.
    #[arg(long, requires = "status_uri")]
    pub status_index: Option<u64>,
}

/// Arguments of `credential present`.
#[derive(Debug, Args)]
pub struct PresentArgs {
    /// The held credential (`-` for stdin).
    #[arg(long)]
    pub credential: PathBuf,
    /// A claim path to disclose, dot-separated (`address.locality`) or a JSON array
    /// (`["is_over","18"]`, for names that are digits or hold dots); repeat for several.
    #[arg(long = "disclose")]
    pub disclose: Vec<String>,
    /// The holder's private JWK (the key bound in the credential).
    #[arg(long)]
    pub holder_key: PathBuf,
    /// The verifier's identifier (KB-JWT `aud`).
    #[arg(long)]
    pub aud: String,
    /// The verifier's nonce.
    #[arg(long)]
    pub nonce: String,
}

/// Arguments of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// File with the credential or presentation, `-` for standard input.
    #[arg(default_value = "-")]
    pub input: PathBuf,
    /// The offline bundle.
    #[arg(long)]
    pub bundle: PathBuf,
    /// The trust anchor's public JWK (defaults to the configured `trust_anchor`).
    #[arg(long)]
    pub anchor: Option<PathBuf>,
    /// Expected audience: requires key binding (SD-JWT VC) or a bound presentation.
    #[arg(long, requires = "nonce")]
    pub aud: Option<String>,
    /// Expected nonce.
    #[arg(long, requires = "aud")]
    pub nonce: Option<String>,
    /// Verify as of this time (seconds since the epoch) instead of now.
    #[arg(long)]
    pub at: Option<i64>,
}

/// `llavero trust-list …`
#[derive(Debug, Subcommand)]
pub enum TrustListCommand {
    /// Sign a trust list from an issuers file (`[{"id", "name", "jwks" | "keys": [files], "credential_types"}]`).
    #[command(
        after_help = "Example:\n  llavero trust-list build --issuers issuers.json --anchor-key anchor.jwk --out trust-list.jwt"
    )]
    Build {
        /// JSON array of issuers: `id`, `name`, `credential_types`, and `jwks` or `key_files`.
        #[arg(long)]
        issuers: PathBuf,
        /// The trust anchor's private JWK.
        #[arg(long)]
        anchor_key: PathBuf,
        /// The anchor's identifier (`iss`).
        #[arg(long, default_value = "https://trust.llavero.cl")]
        anchor_id: String,
        /// Days until the list expires.
        #[arg(long, default_value_t = 30)]
        valid_days: i64,
        /// Publication sequence number.
        #[arg(long, default_value_t = 1)]
        sequence: u64,
        /// Output file (`-` for stdout).
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
    /// Sign a trust list of every agency in the database (ids, names, published keys, types).
    #[command(
        after_help = "Example:\n  llavero trust-list publish --anchor-key anchor.jwk --out trust-list.jwt"
    )]
    Publish {
        /// The trust anchor's private JWK.
        #[arg(long)]
        anchor_key: PathBuf,
        /// The anchor's identifier (`iss`).
        #[arg(long, default_value = "https://trust.llavero.cl")]
        anchor_id: String,
        /// Days until the list expires.
        #[arg(long, default_value_t = 30)]
        valid_days: i64,
        /// Publication sequence number (default: now, so it always grows).
        #[arg(long)]
        sequence: Option<u64>,
        /// Output file (`-` for stdout).
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
}

/// Status list kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusListKind {
    /// IETF Token Status List (`statuslist+jwt`), for SD-JWT VC.
    Token,
    /// W3C Bitstring Status List credential (`vc+jwt`), for VC-JWT.
    Bitstring,
}

/// `llavero status-list …`
#[derive(Debug, Subcommand)]
pub enum StatusListCommand {
    /// Build and sign a status list with given entries revoked or suspended.
    #[command(
        after_help = "Example:\n  llavero status-list build --uri https://registro.llavero.cl/status/1 --issuer https://registro.llavero.cl \\\n    --key issuer.jwk --size 131072 --revoked 12 --suspended 40 --out status-1.jwt"
    )]
    Build {
        /// Which standard.
        #[arg(long, value_enum, default_value = "token")]
        kind: StatusListKind,
        /// The list's URI (the `sub` / credential `id`).
        #[arg(long)]
        uri: String,
        /// The issuer identifier (for the bitstring credential's `issuer`).
        #[arg(long)]
        issuer: String,
        /// The issuer's private JWK.
        #[arg(long)]
        key: PathBuf,
        /// Number of entries.
        #[arg(long, default_value_t = 131_072)]
        size: usize,
        /// Indexes to mark revoked (comma-separated or repeated).
        #[arg(long, value_delimiter = ',')]
        revoked: Vec<usize>,
        /// Indexes to mark suspended (token lists; bitstring lists use `--purpose suspension`).
        #[arg(long, value_delimiter = ',')]
        suspended: Vec<usize>,
        /// Bitstring purpose.
        #[arg(long, default_value = "revocation")]
        purpose: String,
        /// Time to live in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
        /// Output file (`-` for stdout).
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
}

/// `llavero bundle …`
#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Build an offline bundle from a signed trust list and signed status lists.
    #[command(
        after_help = "Example:\n  llavero bundle build --trust-list trust-list.jwt --status-list status-1.jwt --out bundle.json"
    )]
    Build {
        /// The signed trust list.
        #[arg(long)]
        trust_list: PathBuf,
        /// A signed status list (token or bitstring); repeat for several.
        #[arg(long = "status-list")]
        status_lists: Vec<PathBuf>,
        /// Also every agency's current status lists, signed now from the database.
        #[arg(long)]
        from_database: bool,
        /// Output file (`-` for stdout).
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
}
