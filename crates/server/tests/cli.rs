//! The `llavero` binary end to end: keys, trust list, status list, bundle, issue, present,
//! verify, with the exit codes the README promises.

use std::path::Path;
use std::process::{Command, Output};

fn llavero(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_llavero"))
        .current_dir(dir)
        .args(args)
        .env_remove("LLAVERO_CONFIG")
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = llavero(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `llavero verify FILE` against the test's bundle and anchor, with extra arguments.
fn verify(dir: &Path, file: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "verify",
        file,
        "--bundle",
        "bundle.json",
        "--anchor",
        "anchor.pub.jwk",
    ];
    args.extend_from_slice(extra);
    llavero(dir, &args)
}

/// The standard output of a command that must succeed.
fn stdout_of(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn issue_present_verify_and_revoke_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for (name, kid) in [
        ("anchor", "anchor-1"),
        ("issuer", "registro-1"),
        ("holder", "holder-1"),
    ] {
        let public = ok(
            d,
            &[
                "keys",
                "generate",
                "--out",
                &format!("{name}.jwk"),
                "--kid",
                kid,
            ],
        );
        write(d, &format!("{name}.pub.jwk"), &public);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(d.join("issuer.jwk"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "private keys are owner-only");
    }
    assert_eq!(
        llavero(d, &["keys", "generate", "--out", "issuer.jwk"])
            .status
            .code(),
        Some(2),
        "never overwrites a key"
    );

    write(
        d,
        "issuers.json",
        r#"[{"id": "https://registro.llavero.cl", "name": "Registro Civil",
        "credential_types": ["https://llavero.cl/vct/birth-certificate"], "key_files": ["issuer.pub.jwk"]}]"#,
    );
    ok(
        d,
        &[
            "trust-list",
            "build",
            "--issuers",
            "issuers.json",
            "--anchor-key",
            "anchor.jwk",
            "--out",
            "trust-list.jwt",
        ],
    );
    ok(
        d,
        &[
            "status-list",
            "build",
            "--uri",
            "https://registro.llavero.cl/status/1",
            "--issuer",
            "https://registro.llavero.cl",
            "--key",
            "issuer.jwk",
            "--size",
            "1000",
            "--revoked",
            "7",
            "--out",
            "status.jwt",
        ],
    );
    ok(
        d,
        &[
            "bundle",
            "build",
            "--trust-list",
            "trust-list.jwt",
            "--status-list",
            "status.jwt",
            "--out",
            "bundle.json",
        ],
    );

    write(
        d,
        "claims.json",
        r#"{"given_name": "Ana", "family_name": "Rojas", "birthdate": "1990-05-01"}"#,
    );
    let issue = |index: &str| {
        ok(
            d,
            &[
                "credential",
                "issue",
                "--type",
                "https://llavero.cl/vct/birth-certificate",
                "--issuer",
                "https://registro.llavero.cl",
                "--key",
                "issuer.jwk",
                "--claims",
                "claims.json",
                "--holder-key",
                "holder.pub.jwk",
                "--status-uri",
                "https://registro.llavero.cl/status/1",
                "--status-index",
                index,
            ],
        )
    };
    write(d, "credential.txt", &issue("3"));
    write(d, "revoked.txt", &issue("7"));
    let presentation = ok(
        d,
        &[
            "credential",
            "present",
            "--credential",
            "credential.txt",
            "--disclose",
            "given_name",
            "--holder-key",
            "holder.jwk",
            "--aud",
            "https://rp.example",
            "--nonce",
            "abc",
        ],
    );
    write(d, "presentation.txt", &presentation);

    let verified = stdout_of(verify(
        d,
        "presentation.txt",
        &["--aud", "https://rp.example", "--nonce", "abc"],
    ));
    let json: serde_json::Value = serde_json::from_str(&verified).unwrap();
    assert_eq!(json["credentials"][0]["claims"]["given_name"], "Ana");
    assert!(
        json["credentials"][0]["claims"]
            .get("family_name")
            .is_none()
    );

    let replay = verify(
        d,
        "presentation.txt",
        &["--aud", "https://rp.example", "--nonce", "other"],
    );
    assert_eq!(replay.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&replay.stdout).contains("wrong_nonce"));

    let revoked = verify(d, "revoked.txt", &[]);
    assert_eq!(revoked.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&revoked.stdout).contains("\"revoked\""));

    let wrong_anchor = llavero(
        d,
        &[
            "verify",
            "credential.txt",
            "--bundle",
            "bundle.json",
            "--anchor",
            "issuer.pub.jwk",
        ],
    );
    assert_eq!(
        wrong_anchor.status.code(),
        Some(2),
        "a bundle not signed by the anchor is a usage error"
    );
    assert_eq!(
        llavero(d, &["verify", "credential.txt"]).status.code(),
        Some(2),
        "--bundle is required"
    );
}

#[test]
fn every_command_has_help_with_an_example() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        vec!["serve"],
        vec!["keys", "generate"],
        vec!["credential", "issue"],
        vec!["credential", "present"],
        vec!["verify"],
        vec!["trust-list", "build"],
        vec!["status-list", "build"],
        vec!["bundle", "build"],
    ] {
        let mut with_help = args.clone();
        with_help.push("--help");
        let text = ok(tmp.path(), &with_help);
        assert!(text.contains("Example"), "{args:?} --help has no example");
    }
}

#[test]
fn vc_jwt_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    small_world(d, &["IdentityCardCredential"]);
    write(d, "claims.json", r#"{"given_name": "Ana"}"#);
    let vc = ok(
        d,
        &[
            "credential",
            "issue",
            "--format",
            "vc-jwt",
            "--type",
            "IdentityCardCredential",
            "--issuer",
            "https://registro.llavero.cl",
            "--key",
            "issuer.jwk",
            "--claims",
            "claims.json",
            "--holder-key",
            "holder.pub.jwk",
        ],
    );
    write(d, "vc.txt", &vc);
    stdout_of(verify(d, "vc.txt", &[]));
    let vp = ok(
        d,
        &[
            "credential",
            "present",
            "--credential",
            "vc.txt",
            "--holder-key",
            "holder.jwk",
            "--aud",
            "https://rp",
            "--nonce",
            "n",
        ],
    );
    write(d, "vp.txt", &vp);
    let out = stdout_of(verify(
        d,
        "vp.txt",
        &["--aud", "https://rp", "--nonce", "n"],
    ));
    assert!(out.contains("vp+jwt"));
}

/// Keys (anchor, issuer, holder), a trust list naming `https://registro.llavero.cl` for
/// `types`, and a bundle, in `d`.
fn small_world(d: &Path, types: &[&str]) {
    for (name, kid) in [("anchor", "a"), ("issuer", "i"), ("holder", "h")] {
        let public = ok(
            d,
            &[
                "keys",
                "generate",
                "--out",
                &format!("{name}.jwk"),
                "--kid",
                kid,
            ],
        );
        write(d, &format!("{name}.pub.jwk"), &public);
    }
    let issuers = serde_json::json!([{"id": "https://registro.llavero.cl",
        "credential_types": types, "key_files": ["issuer.pub.jwk"]}]);
    write(d, "issuers.json", &issuers.to_string());
    ok(
        d,
        &[
            "trust-list",
            "build",
            "--issuers",
            "issuers.json",
            "--anchor-key",
            "anchor.jwk",
            "--out",
            "trust-list.jwt",
        ],
    );
    ok(
        d,
        &[
            "bundle",
            "build",
            "--trust-list",
            "trust-list.jwt",
            "--out",
            "bundle.json",
        ],
    );
}

fn failure(out: &Output) -> String {
    assert!(!out.status.success(), "should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_whole_w3c_credential_is_issued_as_given_and_checked_first() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    small_world(d, &["DriverLicenseCredential"]);
    let license = serde_json::json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
        "type": ["VerifiableCredential", "DriverLicenseCredential"],
        "issuer": {"id": "https://registro.llavero.cl", "name": "Registro Civil"},
        "name": [{"@value": "Licencia de conducir", "@language": "es"},
                 {"@value": "Driver licence", "@language": "en"}],
        "description": "Clase B",
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2099-01-01T00:00:00Z",
        "credentialSchema": {"id": "https://llavero.cl/schemas/license.json", "type": "JsonSchema"},
        "termsOfUse": [{"type": "TrustFrameworkPolicy", "id": "https://llavero.cl/terms/1"}],
        "credentialSubject": [
            {"id": "did:example:ana", "licenseClass": "B"},
            {"id": "did:example:luis", "supervises": "did:example:ana"}
        ]
    });
    write(d, "license.json", &license.to_string());
    let args = [
        "credential",
        "issue",
        "--format",
        "vc-jwt",
        "--credential",
        "license.json",
        "--key",
        "issuer.jwk",
    ];
    write(d, "license.txt", &ok(d, &args));
    let out = stdout_of(verify(d, "license.txt", &[]));
    let verified: serde_json::Value = serde_json::from_str(&out).unwrap();
    let claims = &verified["credentials"][0]["claims"];
    assert_eq!(
        claims["credentialSubject"][1]["supervises"],
        "did:example:ana"
    );
    assert_eq!(claims["termsOfUse"][0]["type"], "TrustFrameworkPolicy");

    // A non-conforming document is refused with the rule's code, and nothing is printed.
    let mut empty = license.clone();
    empty["credentialSubject"] = serde_json::json!({});
    write(d, "license.json", &empty.to_string());
    let out = llavero(d, &args);
    assert!(failure(&out).contains("vcdm.credentialSubject.empty"));
    assert!(out.stdout.is_empty());
    // --credential is W3C-only.
    let mut sd = args.to_vec();
    sd[3] = "sd-jwt-vc";
    assert!(failure(&llavero(d, &sd)).contains("vc-jwt"));
}

#[test]
fn issuer_ids_that_are_not_urls_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    small_world(d, &["IdentityCardCredential"]);
    write(d, "claims.json", r#"{"given_name": "Ana"}"#);
    let out = llavero(
        d,
        &[
            "credential",
            "issue",
            "--format",
            "vc-jwt",
            "--type",
            "IdentityCardCredential",
            "--issuer",
            "fake-issuer",
            "--key",
            "issuer.jwk",
            "--claims",
            "claims.json",
        ],
    );
    assert!(failure(&out).contains("vcdm.issuer.url"));
    write(
        d,
        "issuers.json",
        r#"[{"id": "fake-issuer", "credential_types": ["IdentityCardCredential"], "key_files": ["issuer.pub.jwk"]}]"#,
    );
    let out = llavero(
        d,
        &[
            "trust-list",
            "build",
            "--issuers",
            "issuers.json",
            "--anchor-key",
            "anchor.jwk",
            "--out",
            "bad-list.jwt",
        ],
    );
    assert!(failure(&out).contains("fake-issuer"));
    assert!(!d.join("bad-list.jwt").exists());
}

const AGE: &str = "https://llavero.cl/vct/age";

/// Issues the age credential with extra `credential issue` arguments; returns it.
fn issue_age(d: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "credential",
        "issue",
        "--type",
        AGE,
        "--issuer",
        "https://registro.llavero.cl",
        "--key",
        "issuer.jwk",
        "--claims",
        "age.json",
        "--holder-key",
        "holder.pub.jwk",
    ];
    args.extend_from_slice(extra);
    llavero(d, &args)
}

/// How many disclosures an issued SD-JWT carries.
fn disclosures(sd_jwt: &str) -> usize {
    sd_jwt
        .trim()
        .split('~')
        .skip(1)
        .filter(|d| !d.is_empty())
        .count()
}

#[test]
fn digit_keys_are_disclosable_by_json_pointer_or_array() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    small_world(d, &[AGE]);
    write(
        d,
        "age.json",
        r#"{"is_over": {"13": true, "18": true, "21": false}, "a/b": {"m~n": 1}, "given_name": "Ana"}"#,
    );
    let age = stdout_of(issue_age(
        d,
        &[
            "--disclose",
            "/is_over/18",
            "--disclose",
            r#"["is_over","21"]"#,
            "--disclose",
            "/a~1b/m~0n",
        ],
    ));
    assert_eq!(disclosures(&age), 3);
    write(d, "age.txt", &age);
    let vp = ok(
        d,
        &[
            "credential",
            "present",
            "--credential",
            "age.txt",
            "--disclose",
            r#"["is_over","18"]"#,
            "--holder-key",
            "holder.jwk",
            "--aud",
            "https://rp",
            "--nonce",
            "n",
        ],
    );
    write(d, "vp.txt", &vp);
    let out = stdout_of(verify(
        d,
        "vp.txt",
        &["--aud", "https://rp", "--nonce", "n"],
    ));
    let verified: serde_json::Value = serde_json::from_str(&out).unwrap();
    let is_over = &verified["credentials"][0]["claims"]["is_over"];
    assert_eq!(is_over["18"], true);
    assert_eq!(is_over["13"], true, "not disclosable: always shown");
    assert!(is_over.get("21").is_none(), "disclosable, not disclosed");

    // A pointer must name a claim that exists; a bad escape is refused.
    assert!(failure(&issue_age(d, &["--disclose", "/is_over/65"])).contains("/is_over/65"));
    assert!(failure(&issue_age(d, &["--disclose", "/a~2b"])).contains("escape"));
}

#[test]
fn no_disclose_issues_a_credential_with_nothing_selectively_disclosable() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    small_world(d, &[AGE]);
    write(
        d,
        "age.json",
        r#"{"is_over": {"18": true}, "given_name": "Ana"}"#,
    );
    let all = stdout_of(issue_age(d, &[]));
    assert_eq!(disclosures(&all), 2, "default: every top-level claim");
    let none = stdout_of(issue_age(d, &["--no-disclose"]));
    assert_eq!(disclosures(&none), 0);
    write(d, "none.txt", &none);
    let out = stdout_of(verify(d, "none.txt", &[]));
    assert!(out.contains("\"given_name\": \"Ana\""));
    let both = issue_age(d, &["--no-disclose", "--disclose", "given_name"]);
    assert!(failure(&both).contains("--no-disclose"));
}

/// A PostgreSQL URL on a closed port: the command fails within the retry budget with the real
/// cause, said once (it was "pool timed out" after 10 s, printed twice).
#[test]
fn closed_database_port_says_connection_refused_once() {
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    write(tmp.path(), "people.csv", "run\n");
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_llavero"))
        .current_dir(tmp.path())
        .args(["registry", "import", "people.csv", "--quiet"])
        .env_remove("LLAVERO_CONFIG")
        .env(
            "LLAVERO_DATABASE_URL",
            format!("postgres://root@127.0.0.1:{port}/test"),
        )
        .env("LLAVERO_DATABASE_CONNECT_RETRY_SECS", "1")
        .output()
        .unwrap();
    let waited = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(waited < std::time::Duration::from_secs(5), "{waited:?}");
    assert_eq!(stderr.matches("connection refused").count(), 1, "{stderr}");
    assert!(!stderr.contains("pool timed out"), "{stderr}");
}

/// A new data directory is 0700 and its database 0600; a directory left 0755 is tightened.
#[cfg(unix)]
#[test]
fn data_directory_and_database_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "people.csv",
        "run,given_names,paternal_surname,maternal_surname,birth_date,sex,nationality,document_serial,status,updated_at\n\
         5.000.056-7,Ana,Rojas,Soto,1980-05-05,F,CL,A1,active,2026-01-01T00:00:00Z\n",
    );
    let import = || {
        Command::new(env!("CARGO_BIN_EXE_llavero"))
            .current_dir(tmp.path())
            .args(["registry", "import", "people.csv", "--quiet"])
            .env_remove("LLAVERO_CONFIG")
            .env_remove("LLAVERO_DATABASE_URL")
            .env("LLAVERO_DATA_DIR", "data/nested")
            .output()
            .unwrap()
    };
    let out = import();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = tmp.path().join("data/nested");
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("llavero.db")), 0o600);
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        data.join("llavero.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    assert!(import().status.success());
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("llavero.db")), 0o600);
}
