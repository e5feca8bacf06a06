//! Registry import: bad lines are reported with their number and reason and skipped; good ones
//! land; newer records win; the same file twice changes nothing.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // the scenario runs outside #[test] fns

use llavero_idp::registry::import::{ImportFormat, import};
use llavero_store::Store;

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

#[tokio::test]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    scenario(llavero_store::testing::sqlite(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn postgres() {
    scenario(llavero_store::testing::postgres().await.unwrap()).await;
}
