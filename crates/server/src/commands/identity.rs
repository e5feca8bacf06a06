//! `registry`, `account`, `client` and `keys rotate`: the identity provider's operator commands.
//! They work on the configured database directly, so they run beside live instances.

use std::io::BufReader;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use llavero_credentials::time::{Clock, SystemClock, format_datetime};
use llavero_idp::registry::import::{ImportFormat, import};
use llavero_platform::Run;

use crate::cli::{AccountCommand, AuditCommand, ClientCommand, RegistryCommand, RegistryFormat};
use crate::config::Config;
use crate::identity;

pub(crate) fn block_on<T>(
    future: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(future)
}

fn now() -> i64 {
    SystemClock.now()
}

/// `llavero keys rotate`.
pub fn rotate_key(config: &Config) -> anyhow::Result<ExitCode> {
    block_on(async {
        let store = identity::open_store(config).await?;
        let master = identity::master_key(config, &store)?;
        let kid = llavero_idp::keys::rotate(&store, &master, now()).await?;
        // The RSA key rotates too once a client uses RS256 (null otherwise).
        let rs256 = if llavero_idp::keys::has_rs256(&store).await? {
            Some(llavero_idp::keys::rotate_rs256(&store, &master, now()).await?)
        } else {
            None
        };
        println!("{}", serde_json::json!({"kid": kid, "rs256_kid": rs256}));
        Ok(ExitCode::SUCCESS)
    })
}

/// `llavero registry …`
pub fn registry(config: &Config, command: RegistryCommand) -> anyhow::Result<ExitCode> {
    match command {
        RegistryCommand::Demo {
            count,
            format,
            seed,
            out,
        } => {
            let csv = format == RegistryFormat::Csv;
            if out.as_os_str() == "-" {
                llavero_idp::registry::demo::write(
                    std::io::BufWriter::new(std::io::stdout().lock()),
                    count,
                    seed,
                    csv,
                )?;
            } else {
                let file = std::fs::File::create(&out)
                    .with_context(|| format!("creating {}", out.display()))?;
                llavero_idp::registry::demo::write(
                    std::io::BufWriter::with_capacity(1 << 20, file),
                    count,
                    seed,
                    csv,
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        RegistryCommand::Import {
            file,
            format,
            quiet,
        } => {
            let format = match format {
                Some(RegistryFormat::Csv) => ImportFormat::Csv,
                Some(RegistryFormat::Jsonl) => ImportFormat::JsonLines,
                None => {
                    ImportFormat::from_path(&file).context("say --format csv or --format jsonl")?
                }
            };
            let size = std::fs::metadata(&file)
                .with_context(|| format!("reading {}", file.display()))?
                .len();
            let reader = BufReader::with_capacity(
                1 << 20,
                std::fs::File::open(&file)
                    .with_context(|| format!("opening {}", file.display()))?,
            );
            let bar = if quiet {
                indicatif::ProgressBar::hidden()
            } else {
                indicatif::ProgressBar::new_spinner()
            };
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {pos} records read ({per_sec}) {elapsed}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            let started = std::time::Instant::now();
            let report = block_on(async {
                let store = identity::open_store(config).await?;
                Ok(import(&store, reader, format, now(), |read| bar.set_position(read)).await?)
            })?;
            bar.finish_and_clear();
            for rejected in report.rejected.iter().take(1000) {
                eprintln!("line {}: {}", rejected.line, rejected.reason);
            }
            if report.rejected.len() > 1000 {
                eprintln!("… and {} more rejected lines", report.rejected.len() - 1000);
            }
            println!(
                "{}",
                serde_json::json!({
                    "file_bytes": size,
                    "read": report.read,
                    "written": report.written,
                    "unchanged": report.unchanged,
                    "rejected": report.rejected.len(),
                    "accounts_disabled": report.disabled_accounts,
                    "seconds": started.elapsed().as_secs_f64(),
                })
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `llavero account …`
pub fn account(config: &Config, command: AccountCommand) -> anyhow::Result<ExitCode> {
    match command {
        AccountCommand::ActivationCode { run } => {
            let run: Run = run.parse()?;
            block_on(async {
                let store = identity::open_store(config).await?;
                let idp = identity::build(config, store, Arc::new(SystemClock)).await?;
                let issued = llavero_idp::accounts::issue_activation_code(&idp, run).await?;
                println!(
                    "{}",
                    serde_json::json!({"run": issued.run, "code": issued.code, "expires_at": format_datetime(issued.expires_at)})
                );
                Ok(ExitCode::SUCCESS)
            })
        }
        AccountCommand::Staff { run, remove } => {
            let run: Run = run.parse()?;
            block_on(async {
                let store = identity::open_store(config).await?;
                let idp = identity::build(config, store, Arc::new(SystemClock)).await?;
                let Some(changed) = llavero_idp::accounts::set_staff(&idp, run, !remove).await?
                else {
                    eprintln!("{run} has no account");
                    return Ok(ExitCode::FAILURE);
                };
                println!(
                    "{}",
                    serde_json::json!({"run": run.to_string(), "staff": !remove, "unattested_keys": changed.unattested_keys})
                );
                if !remove && idp.config.webauthn_attestation.is_none() {
                    eprintln!(
                        "warning: no webauthn_attestation allow-list is configured, so this account cannot register any authenticator"
                    );
                }
                Ok(ExitCode::SUCCESS)
            })
        }
    }
}

/// `llavero client …`
pub fn client(config: &Config, command: ClientCommand) -> anyhow::Result<ExitCode> {
    let registration = match command {
        ClientCommand::List => return list_clients(config),
        ClientCommand::Add {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            scope,
            auth,
            jwks,
            min_acr,
            subject_type,
            id_token_signed_response_alg,
            pkce,
        } => llavero_idp::clients::Registration {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            scopes: vec![scope],
            token_endpoint_auth_method: Some(auth),
            min_acr,
            subject_type,
            jwks: match jwks {
                Some(path) => Some(serde_json::from_str(
                    &std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?,
                )?),
                None => None,
            },
            id_token_signed_response_alg,
            pkce,
        },
    };
    block_on(async {
        let store = identity::open_store(config).await?;
        let idp = identity::build(config, store, Arc::new(SystemClock)).await?;
        let origin = llavero_platform::Origin::default();
        let registered = llavero_idp::clients::register(&idp, registration, &origin).await?;
        println!("{}", serde_json::to_string(&registered)?);
        Ok(ExitCode::SUCCESS)
    })
}

/// `llavero client list`: one JSON array, secrets left out.
fn list_clients(config: &Config) -> anyhow::Result<ExitCode> {
    block_on(async {
        let store = identity::open_store(config).await?;
        let clients: Vec<serde_json::Value> = store
            .clients()
            .await?
            .iter()
            .map(llavero_idp::clients::listing)
            .collect();
        println!("{}", serde_json::Value::from(clients));
        Ok(ExitCode::SUCCESS)
    })
}

/// `llavero audit …`
pub fn audit(config: &Config, command: AuditCommand) -> anyhow::Result<ExitCode> {
    block_on(async {
        let store = identity::open_store(config).await?;
        let idp = identity::build(config, store, Arc::new(SystemClock)).await?;
        match command {
            AuditCommand::Verify => match llavero_idp::audit::verify(&idp).await? {
                llavero_idp::audit::AuditVerdict::Intact {
                    entries,
                    checkpoints,
                } => {
                    println!(
                        "{}",
                        serde_json::json!({"intact": true, "entries": entries, "checkpoints": checkpoints})
                    );
                    Ok(ExitCode::SUCCESS)
                }
                llavero_idp::audit::AuditVerdict::Broken(link) => {
                    println!(
                        "{}",
                        serde_json::json!({"intact": false, "seq": link.seq, "reason": link.reason})
                    );
                    Ok(ExitCode::from(1))
                }
                llavero_idp::audit::AuditVerdict::BadCheckpoint { seq, reason } => {
                    println!(
                        "{}",
                        serde_json::json!({"intact": false, "checkpoint": seq, "reason": reason})
                    );
                    Ok(ExitCode::from(1))
                }
            },
            AuditCommand::Export { from, to } => {
                let from = llavero_credentials::time::parse_datetime(&from)
                    .context("--from must be RFC 3339")?;
                let to = llavero_credentials::time::parse_datetime(&to)
                    .context("--to must be RFC 3339")?;
                for entry in idp.store.audit_between(from, to).await? {
                    println!("{}", serde_json::to_string(&entry)?);
                }
                Ok(ExitCode::SUCCESS)
            }
            AuditCommand::Checkpoint => {
                let checkpoint = llavero_idp::audit::checkpoint(&idp).await?;
                println!(
                    "{}",
                    serde_json::json!({"seq": checkpoint.seq, "jws": checkpoint.jws})
                );
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
