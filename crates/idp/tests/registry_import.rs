//! Registry import: bad lines are reported with their number and reason and skipped; good ones
//! land; newer records win; the same file twice changes nothing.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // the scenario runs outside #[test] fns

use llavero_idp::registry::import::{ImportFormat, ImportReport, import};
use llavero_store::{CredentialStatus, Store};

const HEADER: &str = "run,given_names,paternal_surname,maternal_surname,birth_date,sex,nationality,document_serial,status,updated_at";

async fn scenario(store: Store) {
    let csv = format!(
        "{HEADER}\n\
         12.345.678-5,María José,González,Rojas,1990-04-12,F,CL,A123456789,active,2026-01-01T00:00:00Z\n\
         12.345.678-4,Bad,Digit,X,1990-04-12,F,CL,A1,active,2026-01-01T00:00:00Z\n\
         11.111.111-1,Ana,Pérez,,1990-02-30,F,CL,A1,active,2026-01-01T00:00:00Z\n\
         6-K,Juan,Soto,Díaz,1950-01-01,M,CL,B1,deceased,2026-01-01T00:00:00Z\n\
         7.654.321-6,Too,Few,Fields\n\
         7.654.321-6,Pedro,Muñoz,Vera,1970-01-01,Q,CL,B2,active,2026-01-01T00:00:00Z\n\
         7.654.321-6,Pedro,Muñoz,Vera,1970-01-01,M,CL,B2,retired,2026-01-01T00:00:00Z\n\
         7.654.321-6,Pedro,Muñoz,Vera,1970-01-01,M,CL,B2,active,yesterday\n"
    );
    let mut progress = Vec::new();
    let report = import(
        &store,
        csv.as_bytes(),
        ImportFormat::Csv,
        1_800_000_000,
        |n| progress.push(n),
    )
    .await
    .unwrap();
    assert_eq!((report.read, report.written), (8, 2));
    let rejected: Vec<(u64, String)> = report
        .rejected
        .iter()
        .map(|r| (r.line, r.reason.to_string()))
        .collect();
    assert_eq!(rejected.len(), 6, "{rejected:?}");
    assert_eq!(
        rejected[0],
        (3, "run: the check digit does not match: expected 5".into())
    );
    assert_eq!(
        rejected[1],
        (4, "birth_date: is not a date YYYY-MM-DD".into())
    );
    assert_eq!(rejected[2].0, 6);
    assert!(rejected[2].1.contains("fields"), "{}", rejected[2].1);
    assert_eq!(rejected[3], (7, "sex: must be F, M or X".into()));
    assert_eq!(
        rejected[4],
        (8, "status: must be active, deceased or blocked".into())
    );
    assert_eq!(
        rejected[5],
        (9, "updated_at: is not an RFC 3339 date-time".into())
    );
    assert_eq!(progress.last(), Some(&8));
    assert_eq!(
        store.person(6).await.unwrap().unwrap().maternal_surname,
        "Díaz"
    );

    let jsonl = concat!(
        r#"{"run":"12.345.678-5","given_names":"María José","paternal_surname":"González","maternal_surname":"Rojas","birth_date":"1990-04-12","sex":"F","nationality":"CL","document_serial":"A999","status":"active","updated_at":"2026-06-01T00:00:00Z"}"#,
        "\n\nnot json\n",
        r#"{"run":"12.345.678-5","given_names":"Old","paternal_surname":"X","birth_date":"1990-04-12","sex":"F","nationality":"CL","document_serial":"A0","status":"active","updated_at":"2025-01-01T00:00:00Z"}"#,
        "\n",
        r#"{"run":"12.345.678-5","extra":1}"#,
        "\n"
    );
    let report = import(
        &store,
        jsonl.as_bytes(),
        ImportFormat::JsonLines,
        1_800_000_001,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!((report.written, report.unchanged), (1, 1));
    assert_eq!(
        report.rejected.iter().map(|r| r.line).collect::<Vec<_>>(),
        vec![3, 5]
    );
    assert_eq!(
        store
            .person(12_345_678)
            .await
            .unwrap()
            .unwrap()
            .document_serial,
        "A999",
        "the newer record won"
    );
    let again = import(
        &store,
        jsonl.as_bytes(),
        ImportFormat::JsonLines,
        1_800_000_002,
        |_| {},
    )
    .await
    .unwrap();
    assert_eq!(again.written, 0, "idempotent");
}

/// Rejected CSV records are reported by the file line they start on, whatever the line ends
/// (CRLF, as Windows and spreadsheets write them), blank lines or quoted fields spanning lines
/// before them. Before the fix, CRLF files reported every record one line early (the first
/// data record as line 1, like a record count).
async fn csv_rejections_name_file_lines(store: Store) {
    let lines = [
        HEADER,
        "5.000.056-7,Ana,Rojas,Soto,1980-05-05,F,CL,A1,active,2026-01-01T00:00:00Z",
        "12.345.678-4,Bad,Digit,X,1990-04-12,F,CL,A1,active,2026-01-01T00:00:00Z",
        "",
        "11.111.111-1,\"Ana",
        "María\",Pérez,,1990-02-01,F,CL,A1,active,2026-01-01T00:00:00Z",
        "7.654.321-6,Pedro,Muñoz,Vera,1970-01-01,Q,CL,B2,active,2026-01-01T00:00:00Z",
        "7.654.321-6,Too,Few,Fields",
        "6-K,Juan,Soto,Díaz,1950-01-01,M,CL,B1,active,2026-01-01T00:00:00Z",
    ];
    for end in ["\r\n", "\n"] {
        let csv = lines.join(end) + end;
        let report = import(
            &store,
            csv.as_bytes(),
            ImportFormat::Csv,
            1_800_000_000,
            |_| {},
        )
        .await
        .unwrap();
        let rejected: Vec<(u64, String)> = report
            .rejected
            .iter()
            .map(|r| (r.line, r.reason.to_string()))
            .collect();
        assert_eq!(
            rejected,
            [
                (3, "run: the check digit does not match: expected 5".into()),
                (5, "given_names: contains control characters".into()),
                (7, "sex: must be F, M or X".into()),
                (8, "not a record: 4 fields where the header has 10".into()),
            ],
            "line ends {end:?}"
        );
        assert_eq!(report.read, 6);
    }
    assert_eq!(store.people_count().await.unwrap(), 2);
}

#[tokio::test]
async fn csv_rejections_name_file_lines_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    csv_rejections_name_file_lines(llavero_store::testing::sqlite(dir.path()).await.unwrap()).await;
}

/// Everything an import may touch for `run`: the record, the account, the credentials, the
/// audit chain's head and the event feed.
async fn state_of(
    store: &Store,
    run: i64,
) -> (
    Option<llavero_store::Person>,
    Option<llavero_store::Account>,
    Vec<llavero_store::IssuedCredential>,
    (i64, String),
    Vec<llavero_store::Event>,
) {
    (
        store.person(run).await.unwrap(),
        store.account_by_run(run).await.unwrap(),
        store
            .issued_credentials("registro-civil", Some(run), 100)
            .await
            .unwrap(),
        store.audit_head().await.unwrap(),
        store.events_after(0, 100).await.unwrap(),
    )
}

async fn import_csv(store: &Store, rows: &str, now: i64) -> ImportReport {
    import(
        store,
        format!("{HEADER}\n{rows}").as_bytes(),
        ImportFormat::Csv,
        now,
        |_| {},
    )
    .await
    .unwrap()
}

/// An old extract saying a living person died is older than the stored record: it is counted
/// unchanged and changes nothing, neither the record nor the account, the credentials, the
/// audit trail or the event feed. Before the fix it revoked every credential of the person.
async fn stale_extract_changes_nothing(store: Store) {
    let run = 5_000_056;
    let active_2026 = "5.000.056-7,Ana,Rojas,Soto,1980-05-05,F,CL,A1,active,2026-01-01T00:00:00Z\n";
    let deceased_2025 =
        "5.000.056-7,Ana,Rojas,Soto,1980-05-05,F,CL,A1,deceased,2025-01-01T00:00:00Z\n";
    let report = import_csv(&store, active_2026, 1_800_000_000).await;
    assert_eq!(report.written, 1);
    let code = llavero_store::ActivationCode {
        run,
        code_hash: llavero_store::hash_secret("activation"),
        expires_at: 1_800_000_060,
    };
    store
        .put_activation_code(&code, 1_800_000_000)
        .await
        .unwrap();
    store
        .activate_account(&code, "acct-ana", "$argon2id$stub", 1_800_000_000)
        .await
        .unwrap()
        .unwrap();
    llavero_store::testing::issue_credential(
        &store,
        "registro-civil",
        "cred-1",
        run,
        1_800_000_000,
    )
    .await
    .unwrap();
    let before = state_of(&store, run).await;
    assert_eq!(before.2[0].status, CredentialStatus::Valid);

    let report = import_csv(&store, deceased_2025, 1_800_000_100).await;
    assert_eq!(
        (
            report.read,
            report.written,
            report.unchanged,
            report.disabled_accounts
        ),
        (1, 0, 1, 0)
    );
    assert_eq!(
        state_of(&store, run).await,
        before,
        "the stale record changed something"
    );

    // The newer extract takes effect; re-importing the older one afterwards changes nothing.
    let deceased_2026 =
        "5.000.056-7,Ana,Rojas,Soto,1980-05-05,F,CL,A1,deceased,2026-06-01T00:00:00Z\n";
    let report = import_csv(&store, deceased_2026, 1_800_000_200).await;
    assert_eq!((report.written, report.disabled_accounts), (1, 1));
    let after = state_of(&store, run).await;
    assert_eq!(after.2[0].status, CredentialStatus::Revoked);
    for old in [active_2026, deceased_2025, deceased_2026] {
        let report = import_csv(&store, old, 1_800_000_300).await;
        assert_eq!((report.written, report.unchanged), (0, 1));
        assert_eq!(state_of(&store, run).await, after, "re-import of {old}");
    }
}

#[tokio::test]
async fn stale_extract_changes_nothing_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    stale_extract_changes_nothing(llavero_store::testing::sqlite(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn stale_extract_changes_nothing_postgres() {
    if llavero_store::testing::skip_postgres() {
        return;
    }
    stale_extract_changes_nothing(llavero_store::testing::postgres().await.unwrap()).await;
}

#[tokio::test]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    scenario(llavero_store::testing::sqlite(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn postgres() {
    if llavero_store::testing::skip_postgres() {
        return;
    }
    scenario(llavero_store::testing::postgres().await.unwrap()).await;
}
