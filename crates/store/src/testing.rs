//! Fresh, isolated stores for tests: an SQLite file in a temporary directory, and a PostgreSQL
//! schema of its own in the database `LLAVERO_TEST_DATABASE_URL` names (default
//! `postgres://root@127.0.0.1:5432/test`), so concurrent runs never collide.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Store, StoreError};

/// The PostgreSQL database tests use.
#[must_use]
pub fn postgres_url() -> String {
    std::env::var("LLAVERO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".to_owned())
}

/// Whether a PostgreSQL test should return at once: no server answers at the test database's
/// address and `LLAVERO_REQUIRE_POSTGRES` is not `1` (CI sets it, so there a missing server
/// fails the tests instead of skipping them). Decided once per test binary, and said on one
/// line written past the test harness's capture, so a run without PostgreSQL passes in seconds
/// and says why instead of waiting out a pool timeout in every test.
#[must_use]
pub fn skip_postgres() -> bool {
    static SKIP: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SKIP.get_or_init(|| {
        if std::env::var("LLAVERO_REQUIRE_POSTGRES").as_deref() == Ok("1") {
            return false;
        }
        let address = server_address(&postgres_url());
        if answers(&address) {
            return false;
        }
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!(
                "skipping the PostgreSQL tests: no server answers on {address} \
                 (set LLAVERO_REQUIRE_POSTGRES=1 to make this a failure)\n"
            )
            .as_bytes(),
        );
        true
    })
}

/// `host:port` of a `postgres://user@host:port/db` URL (port 5432 when absent).
fn server_address(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let has_port = host
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    if has_port {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

/// Whether something accepts a TCP connection at `address` within a second.
fn answers(address: &str) -> bool {
    use std::net::ToSocketAddrs as _;
    address.to_socket_addrs().is_ok_and(|mut addresses| {
        addresses.any(|a| {
            std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(1)).is_ok()
        })
    })
}

/// The plan for a group commit of `rows` refresh-token rotations: PostgreSQL's `EXPLAIN` of
/// the group's statement, SQLite's `EXPLAIN QUERY PLAN` of one rotation's spend.
pub async fn rotation_plan(store: &Store, rows: usize) -> Result<String, StoreError> {
    store.rotation_plan(rows).await
}

/// Records a `valid` credential `id` of citizen `run`, issued by agency `agency_id` (created,
/// with a placeholder key, if new): for tests of what the registry does to credentials.
pub async fn issue_credential(
    store: &Store,
    agency_id: &str,
    id: &str,
    run: i64,
    now: i64,
) -> Result<(), StoreError> {
    let agency = crate::Agency {
        id: agency_id.to_owned(),
        name: agency_id.to_owned(),
        credential_types: vec!["identity".into()],
        created_at: now,
    };
    let key = crate::AgencyKey {
        kid: format!("{agency_id}-key"),
        agency_id: agency_id.to_owned(),
        sealed_private_key: Vec::new(),
        public_jwk: "{}".into(),
        created_at: now,
        activates_at: now,
        publish_until: None,
    };
    store.put_agency(&agency, &key).await?;
    let credential = crate::NewCredential {
        id: id.to_owned(),
        agency_id: agency_id.to_owned(),
        run,
        configuration_id: "identity".into(),
        format: "dc+sd-jwt".into(),
        kid: key.kid,
        holder_thumbprint: None,
        offer_id: None,
        notification_id: None,
        issued_at: now,
        expires_at: now + 86_400,
    };
    let mut issuance = store.begin_issuance().await?;
    let mut next = 0;
    issuance
        .record(
            &credential,
            1024,
            &mut |size| {
                next += 1;
                next % size
            },
            now,
        )
        .await?;
    issuance.commit().await
}

/// A store on a new SQLite file under `dir`.
pub async fn sqlite(dir: &std::path::Path) -> Result<Store, StoreError> {
    let path = dir.join(format!("test-{}.db", unique()));
    Store::connect(&format!("sqlite://{}?mode=rwc", path.display())).await
}

/// A store on a new schema of the test PostgreSQL database. Schemas left by runs more than an
/// hour old are dropped first.
pub async fn postgres() -> Result<Store, StoreError> {
    Store::connect(&postgres_schema_url().await?).await
}

/// Creates a new schema in the test PostgreSQL database and returns a URL whose connections
/// use it (for tests that open several stores on one database, like two service instances).
pub async fn postgres_schema_url() -> Result<String, StoreError> {
    let base = postgres_url();
    let schema = format!("llavero_test_{}_{}", now(), unique());
    let admin = Store::connect_without_migrations(&base).await?;
    admin.drop_stale_test_schemas(now() - 3600).await?;
    admin
        .execute_raw(&format!("CREATE SCHEMA {schema}"))
        .await?;
    admin.close().await;
    let separator = if base.contains('?') { '&' } else { '?' };
    // The schema also names the connections (`application_name`), so the server's activity
    // and log tell the test runs apart.
    Ok(format!(
        "{base}{separator}options=-c%20search_path%3D{schema}&application_name={schema}"
    ))
}

fn unique() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut salt = [0u8; 4];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt);
    format!("{}_{n}_{}", std::process::id(), u32::from_le_bytes(salt))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_address_defaults_the_port() {
        assert_eq!(
            server_address("postgres://root@127.0.0.1:5432/test"),
            "127.0.0.1:5432"
        );
        assert_eq!(
            server_address("postgres://db.internal/x?sslmode=disable"),
            "db.internal:5432"
        );
        assert_eq!(
            server_address("postgresql://u:p@[::1]:6543/t"),
            "[::1]:6543"
        );
    }
}
