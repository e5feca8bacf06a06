//! What each command does. Each function reads its inputs, calls the libraries, writes its
//! outputs; exit code 0 on success, 1 when a verification rejects, 2 on usage or I/O errors.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use llavero_credentials::crypto::{self, default_backend};
use llavero_credentials::time::{Clock, SystemClock};

use crate::cli::{Cli, Command, KeysCommand};
use crate::config::Config;
use crate::{demo, files, http};

pub mod credential;
pub mod identity;
pub mod issuer;
pub mod load;
pub mod trust;
pub mod verifier;
pub mod verify;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => serve(&config),
        Command::Keys(KeysCommand::Generate { out, kid }) => generate_key(&out, kid),
        Command::Credential(command) => credential::run(command),
        Command::Verify(args) => verify::run(&config, &args),
        Command::TrustList(command) => trust::trust_list(&config, command),
        Command::StatusList(command) => trust::status_list(command),
        Command::Bundle(command) => trust::bundle(&config, command),
        Command::Keys(KeysCommand::Rotate) => identity::rotate_key(&config),
        Command::Registry(command) => identity::registry(&config, command),
        Command::Account(command) => identity::account(&config, command),
        Command::Client(command) => identity::client(&config, command),
        Command::Audit(command) => identity::audit(&config, command),
        Command::Issuer(command) => issuer::run(&config, command),
        Command::Verifier(command) => verifier::run(&config, command),
        Command::Load(command) => load::run(command),
    }
}

fn generate_key(out: &std::path::Path, kid: Option<String>) -> anyhow::Result<ExitCode> {
    let key = crypto::generate_p256(None)?;
    let kid = kid.unwrap_or_else(|| key.public().thumbprint(default_backend()));
    let key = key.with_kid(kid);
    files::write_secret(out, &key.to_secret_value())?;
    println!("{}", key.public().to_value());
    Ok(ExitCode::SUCCESS)
}

fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if config.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn serve(config: &Config) -> anyhow::Result<ExitCode> {
    init_tracing(config);
    let limits = config.listen_limits()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (bundle_path, anchor_path) = match (&config.bundle, &config.trust_anchor) {
        (Some(bundle), Some(anchor)) => (bundle.clone(), anchor.clone()),
        (None, None) => {
            let demo = demo::ensure(&config.data_dir, clock.now())?;
            tracing::info!(dir = %demo.dir.display(), "using the demo trust list and bundle");
            tracing::info!(
                "try: curl -s http://{}/credentials/verify -H 'content-type: application/json' \
                 -d \"{{\\\"verifiableCredential\\\": \\\"$(cat {})\\\"}}\"",
                config.listen,
                demo.dir.join("birth-certificate.sd-jwt").display()
            );
            (demo.bundle, demo.anchor)
        }
        _ => anyhow::bail!("configure both `bundle` and `trust_anchor`, or neither for the demo"),
    };
    let verifier = verify::load_verifier(&bundle_path, &anchor_path, config, clock.now())?;
    let state = http::AppState {
        verifier: Arc::new(verifier),
        clock: Arc::clone(&clock),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let store = crate::identity::open_store(config).await?;
        let (idp, issuer) = crate::issuance::with_provider(config, store, clock).await?;
        if config.demo_data() {
            crate::identity::seed_demo(&idp).await?;
            crate::issuance::seed_demo(&issuer).await?;
        }
        let presentations = crate::presentations::build(config, &issuer).await?;
        if config.demo_data() {
            crate::presentations::seed_demo(&presentations).await?;
        }
        tokio::spawn(crate::presentations::refresh_trust(
            std::sync::Arc::clone(&presentations),
            std::sync::Arc::clone(&issuer),
        ));
        tokio::spawn(crate::issuance::purge_expired(std::sync::Arc::clone(&issuer)));
        tokio::spawn(crate::identity::truncate_audit_ips(
            std::sync::Arc::clone(&idp),
            config.audit_ip_retention_days,
        ));
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        tracing::info!(address = %listener.local_addr()?, issuer = %idp.config.issuer, "llavero listening");
        let https = idp.config.issuer.starts_with("https://");
        let mut roots = vec![presentations.authority.certificate().to_vec()];
        if let Some(path) = &config.wallet_trusted_roots {
            roots.extend(crate::wallet::read_trusted_roots(path)?);
        }
        let wallet = http::with_security_headers(llavero_wallet::router(crate::wallet::build(&idp, &roots)?), https);
        let app = http::app_with(state, idp, issuer, llavero_presentations::router(presentations))
            .merge(wallet)
            .layer(tower_http::trace::TraceLayer::new_for_http());
        crate::listen::serve(listener, app, limits, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
