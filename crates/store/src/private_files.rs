//! The SQLite database holds personal data and password hashes: its file, and the `-wal` and
//! `-shm` files beside it, are readable by their owner alone (0600).
//!
//! sqlx would create the database with the process umask (0644 with the usual 022), so the
//! store creates it first, empty and 0600, and SQLite then opens it as an existing database.
//! SQLite gives the `-wal` and `-shm` files the mode of the database file (`findCreateFileMode`
//! in its Unix VFS), so they follow. Files that already exist with a more open mode, from an
//! older version or a copy, are tightened, with a warning.

use std::path::{Path, PathBuf};

/// Owner read and write, nothing for group and others.
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;

/// The database file an SQLite URL names, unless it names an in-memory database.
fn database_file(url: &str) -> Option<PathBuf> {
    use std::str::FromStr as _;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    let path = options.get_filename();
    // sqlx names in-memory databases `file:sqlx-in-memory-N`.
    if path.as_os_str().is_empty() || path.to_string_lossy().starts_with("file:") {
        return None;
    }
    Some(path.to_path_buf())
}

/// Whether the URL lets SQLite create a missing database (`mode=rwc`).
fn creates_missing(url: &str) -> bool {
    url.split_once('?').is_some_and(|(_, query)| {
        query
            .split('&')
            .any(|pair| pair.eq_ignore_ascii_case("mode=rwc"))
    })
}

/// Before SQLite opens `url`: creates a missing database file 0600 (when the URL allows
/// creating it) and tightens the database, `-wal` and `-shm` files if they are more open.
pub(crate) fn prepare(url: &str) -> std::io::Result<()> {
    let Some(path) = database_file(url) else {
        return Ok(());
    };
    if creates_missing(url) {
        create_private(&path)?;
    }
    for file in [path.clone(), sibling(&path, "-wal"), sibling(&path, "-shm")] {
        tighten(&file);
    }
    Ok(())
}

/// `path` with `suffix` appended to its file name (`llavero.db` → `llavero.db-wal`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates `path` empty with mode 0600 unless it exists (an empty file is a valid, empty
/// SQLite database).
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Sets an existing `path` to 0600 if group or others have any access, with a warning (or a
/// warning alone if that fails, e.g. the file belongs to another user).
#[cfg(unix)]
fn tighten(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let Ok(metadata) = std::fs::metadata(path) else {
        return;
    };
    let mode = metadata.permissions().mode() & 0o777;
    let open_to_others = mode & 0o077 != 0;
    if !open_to_others {
        return;
    }
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(FILE_MODE)) {
        Ok(()) => tracing::warn!(
            path = %path.display(),
            was = format_args!("{mode:o}"),
            "the database file was readable by others: set to 600"
        ),
        Err(e) => tracing::warn!(
            path = %path.display(),
            mode = format_args!("{mode:o}"),
            error = %e,
            "the database file is readable by others and could not be set to 600"
        ),
    }
}

#[cfg(not(unix))]
fn tighten(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_file_and_the_creation_mode() {
        assert_eq!(
            database_file("sqlite:///var/lib/llavero/llavero.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/llavero/llavero.db"))
        );
        assert_eq!(
            database_file("sqlite://llavero-data/llavero.db"),
            Some(PathBuf::from("llavero-data/llavero.db"))
        );
        assert_eq!(database_file("sqlite::memory:"), None);
        assert!(creates_missing("sqlite://a.db?mode=rwc"));
        assert!(creates_missing("sqlite://a.db?cache=shared&mode=rwc"));
        assert!(!creates_missing("sqlite://a.db?mode=rw"));
        assert!(!creates_missing("sqlite://a.db"));
        assert_eq!(
            sibling(Path::new("/d/llavero.db"), "-wal"),
            PathBuf::from("/d/llavero.db-wal")
        );
    }
}
