//! Reading and writing the files the CLI works with: keys (private ones with 0600
//! permissions), JSON documents, and `-` for standard input/output.

use std::io::{Read as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, bail};
use llavero_credentials::jwk::{Jwk, PrivateJwk};

/// Reads a file, or standard input for `-`.
pub fn read_text(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> anyhow::Result<serde_json::Value> {
    serde_json::from_str(&read_text(path)?).with_context(|| format!("parsing {}", path.display()))
}

/// Reads a private P-256 JWK.
pub fn read_private_key(path: &Path) -> anyhow::Result<PrivateJwk> {
    PrivateJwk::from_json(&read_text(path)?)
        .with_context(|| format!("{} is not a private P-256 JWK", path.display()))
}

/// Reads a public JWK; a private JWK file is accepted and reduced to its public half.
pub fn read_public_key(path: &Path) -> anyhow::Result<Jwk> {
    let value = read_json(path)?;
    if value.get("d").is_some() {
        return Ok(PrivateJwk::from_value(&value)
            .with_context(|| format!("{} is not a valid JWK", path.display()))?
            .public());
    }
    Jwk::from_value(&value).with_context(|| format!("{} is not a valid public JWK", path.display()))
}

/// Writes `text` to `path` readable by the owner only (a private key or other secret).
pub fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            bail!(
                "{} already exists; refusing to overwrite a key",
                path.display()
            )
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    };
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// Creates the data directory readable by its owner alone (0700), with its parents: it holds
/// the database (personal data, password hashes) and the master key. An existing directory
/// open to group or others is set to 0700, with a warning, or only warned about if that fails
/// (it belongs to another user).
pub fn private_dir(path: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(path)
        .with_context(|| format!("creating {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("reading {}", path.display()))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)) {
                Ok(()) => tracing::warn!(
                    dir = %path.display(),
                    was = format_args!("{mode:o}"),
                    "the data directory was open to others: set to 700"
                ),
                Err(e) => tracing::warn!(
                    dir = %path.display(),
                    mode = format_args!("{mode:o}"),
                    error = %e,
                    "the data directory is open to others and could not be set to 700"
                ),
            }
        }
    }
    Ok(())
}

/// Writes `text` to `path`, or to standard output for `-`.
pub fn write_text(path: &Path, text: &str) -> anyhow::Result<()> {
    if path == Path::new("-") {
        println!("{text}");
        return Ok(());
    }
    std::fs::write(path, format!("{text}\n")).with_context(|| format!("writing {}", path.display()))
}
