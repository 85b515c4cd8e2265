//! Signed evaluation records end to end: `gate check --attest` writes one, `gate
//! evidence verify` checks it, and implementations that are not gate's (Python's
//! `cryptography` and `jsonschema`, the `sigstore` crate) agree. Keys are generated
//! during the test; the cosign key is one cosign itself wrote.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/records.rs"]
mod records;
mod support;

use records::{key_pair, statement, validate_predicate, verify, verify_with_python};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sigstore::crypto::signing_key::SigStoreKeyPair;
use sigstore::crypto::{CosignVerificationKey, Signature, SigningScheme};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const BUNDLE: &str = "integration/fixtures/outputs/bundle.yaml";
const NOW: &str = "2026-11-28T12:00:00Z";

/// A copy of the outputs fixture's manifests, so that tests can change them.
fn manifests(dir: &Path) -> PathBuf {
    let target = dir.join("manifests");
    std::fs::create_dir_all(&target).unwrap();
    let source = support::root().join("integration/fixtures/outputs/manifests");
    for entry in std::fs::read_dir(source).unwrap().flatten() {
        std::fs::copy(entry.path(), target.join(entry.file_name())).unwrap();
    }
    target
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run(command: &mut Command) -> (i32, String, String) {
    let output = support::run_with_timeout(command, None, Duration::from_secs(120));
    let (code, stdout, stderr) = support::parts(&output);
    (code, stdout, stderr)
}

/// `gate check --attest RECORD` on `paths` with extra arguments; returns the exit code.
fn attest(record: &Path, paths: &[&Path], extra: &[&str]) -> (i32, String, String) {
    let mut command = support::gate();
    command
        .args([
            "check",
            "--bundle",
            BUNDLE,
            "--now",
            NOW,
            "--revision",
            "abc123",
            "--attest",
        ])
        .arg(record)
        .args(extra)
        .args(paths)
        .env_remove("GATE_ATTEST_KEY")
        .env_remove("GATE_ATTEST_KEY_PASSWORD")
        .env_remove("COSIGN_PASSWORD");
    run(&mut command)
}

fn sha256_hex(path: &Path) -> String {
    hex(&Sha256::digest(std::fs::read(path).unwrap()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn record_round_trips_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let render = manifests(dir.path());
    let (private, public) = key_pair();
    let key = write(dir.path(), "key.pem", &private);
    let public_key = write(dir.path(), "key.pub", &public);
    let record = dir.path().join("record.json");

    let key_arg = key.to_str().unwrap();
    let (code, _, stderr) = attest(&record, &[&render], &["--attest-key", key_arg]);
    // The fixture holds a malformed file: the run's decision is "error" (exit 2),
    // and the record says so.
    assert_eq!(code, 2, "{stderr}");

    let statement = statement(&record);
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["predicateType"], "https://gate.dev/evaluation/v1");
    // Every file read is a subject, named relative to the directory given, with
    // the sha256 of its bytes (computed here, independently).
    let subjects = statement["subject"].as_array().unwrap();
    let mut names: Vec<&str> = subjects
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "app.yaml",
            "broken.yaml",
            "list.yaml",
            "notes.yaml",
            "system.yaml"
        ]
    );
    for subject in subjects {
        let file = render.join(subject["name"].as_str().unwrap());
        assert_eq!(subject["digest"]["sha256"], sha256_hex(&file), "{file:?}");
    }

    let predicate = &statement["predicate"];
    assert_eq!(predicate["decision"], "error");
    assert_eq!(predicate["run"]["revision"], "abc123");
    assert_eq!(predicate["run"]["frontDoor"], "check");
    assert_eq!(predicate["run"]["time"], "2026-11-28T12:00:00Z");
    assert_eq!(predicate["bundle"]["name"], "outputs");
    let bundle_bytes = std::fs::read(support::root().join(BUNDLE)).unwrap();
    assert_eq!(
        predicate["bundle"]["digest"],
        format!("sha256:{}", hex(&Sha256::digest(&bundle_bytes)))
    );
    // settings {} as JSON, hashed: the same for both policies.
    let empty_settings = format!("sha256:{}", hex(&Sha256::digest(b"{}")));
    for policy in predicate["policies"].as_array().unwrap() {
        assert_eq!(policy["settingsDigest"], empty_settings.as_str());
        assert!(policy["digest"].as_str().unwrap().starts_with("sha256:"));
    }
    // One verdict per (object, policy) judged: the report's 6 evaluations.
    let verdicts = predicate["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), 6);
    assert_eq!(predicate["summary"]["evaluations"], 6);
    let count = |v: &str| verdicts.iter().filter(|e| e["verdict"] == v).count();
    assert_eq!(
        (count("pass"), count("deny"), count("warn"), count("except")),
        (2, 2, 1, 1)
    );
    let excepted = verdicts.iter().find(|e| e["verdict"] == "except").unwrap();
    assert_eq!(excepted["exception"], "legacy-agent");
    assert_eq!(excepted["object"]["name"], "legacy-agent");
    let exceptions = predicate["exceptions"].as_array().unwrap();
    assert_eq!(exceptions.len(), 2);
    assert_eq!(exceptions[0]["covered"], 1);
    assert_eq!(exceptions[1]["expired"], true);
    assert_eq!(predicate["errors"].as_array().unwrap().len(), 1);

    let (code, stdout, stderr) = verify(&record, &public_key, &[&render]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("signature verified"), "{stdout}");
    assert!(stdout.contains("5 file(s) unchanged"), "{stdout}");

    let mut show = support::gate();
    show.args(["evidence", "show"])
        .arg(&record)
        .arg("--key")
        .arg(&public_key);
    let (code, stdout, stderr) = run(&mut show);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("decision:  ERROR"), "{stdout}");
    assert!(
        stdout.contains("EXCEPT Pod legacy/legacy-agent"),
        "{stdout}"
    );
    assert!(
        stdout.contains("EXPIRED disallow-privileged / old-debug"),
        "{stdout}"
    );
    // The framework view, from the record alone.
    let mut by_control = support::gate();
    by_control
        .args(["evidence", "show", "--by-control", "cis"])
        .arg(&record);
    let (code, stdout, _) = run(&mut by_control);
    assert_eq!(code, 0);
    assert!(stdout.contains("2 of 35 controls covered"), "{stdout}");

    validate_predicate(predicate);
    verify_with_python(&record, &public_key);
    verify_with_sigstore(&record, &public);
}

/// The same signature, checked by sigstore-rs.
fn verify_with_sigstore(record: &Path, public_pem: &str) {
    let envelope: Value = serde_json::from_slice(&std::fs::read(record).unwrap()).unwrap();
    let payload = STANDARD
        .decode(envelope["payload"].as_str().unwrap())
        .unwrap();
    let payload_type = envelope["payloadType"].as_str().unwrap();
    let mut pae = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    pae.extend_from_slice(&payload);
    let signature = STANDARD
        .decode(envelope["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    let key = CosignVerificationKey::from_pem(
        public_pem.as_bytes(),
        &SigningScheme::ECDSA_P256_SHA256_ASN1,
    )
    .unwrap();
    key.verify_signature(Signature::Raw(&signature), &pae)
        .expect("sigstore-rs verifies gate's DSSE signature");
}

#[test]
fn a_tampered_record_or_another_key_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let render = manifests(dir.path());
    let (private, public) = key_pair();
    let key = write(dir.path(), "key.pem", &private);
    let public_key = write(dir.path(), "key.pub", &public);
    let record = dir.path().join("record.json");
    // The key as PEM text in GATE_ATTEST_KEY, as a CI secret would give it.
    let mut command = support::gate();
    command
        .args(["check", "--bundle", BUNDLE, "--now", NOW, "--attest"])
        .arg(&record)
        .arg(&render)
        .env("GATE_ATTEST_KEY", &private);
    let (code, _, stderr) = run(&mut command);
    assert_eq!(code, 2, "{stderr}");
    drop(key);

    // Turn the decision into "allow" and re-encode the payload: the signature no
    // longer matches.
    let mut envelope: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    let mut statement = statement(&record);
    statement["predicate"]["decision"] = "allow".into();
    envelope["payload"] = STANDARD
        .encode(serde_json::to_vec(&statement).unwrap())
        .into();
    let tampered = write(dir.path(), "tampered.json", &envelope.to_string());
    let (code, stdout, _) = verify(&tampered, &public_key, &[]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("NOT VERIFIED"), "{stdout}");

    // A subject's digest changed (to hide an edited manifest): caught the same way.
    let mut statement = self::statement(&record);
    statement["subject"][0]["digest"]["sha256"] = "00".repeat(32).into();
    envelope["payload"] = STANDARD
        .encode(serde_json::to_vec(&statement).unwrap())
        .into();
    let forged = write(dir.path(), "forged.json", &envelope.to_string());
    assert_eq!(verify(&forged, &public_key, &[]).0, 1);

    // Another key.
    let (_, other_public) = key_pair();
    let other = write(dir.path(), "other.pub", &other_public);
    let (code, stdout, _) = verify(&record, &other, &[]);
    assert_eq!(code, 1, "{stdout}");

    // Not a record at all, a key that is not one: errors (exit 2) naming the file.
    let garbage = write(dir.path(), "garbage.json", "{\"payloadType\": 3}");
    let (code, _, stderr) = verify(&garbage, &public_key, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("garbage.json"), "{stderr}");
    let (code, _, stderr) = verify(&record, &garbage, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("garbage.json"), "{stderr}");
    // The untouched record still verifies.
    assert_eq!(verify(&record, &public_key, &[]).0, 0);
}

#[test]
fn changed_missing_and_added_manifests_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let render = manifests(dir.path());
    let (private, public) = key_pair();
    let key = write(dir.path(), "key.pem", &private);
    let public_key = write(dir.path(), "key.pub", &public);
    let record = dir.path().join("record.json");
    let key_arg = key.to_str().unwrap();
    attest(&record, &[&render], &["--attest-key", key_arg]);

    let app = render.join("app.yaml");
    let text = std::fs::read_to_string(&app).unwrap();
    std::fs::write(&app, text.replace("privileged: true", "privileged: false")).unwrap();
    std::fs::remove_file(render.join("notes.yaml")).unwrap();
    std::fs::write(
        render.join("extra.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    )
    .unwrap();
    let (code, stdout, _) = verify(&record, &public_key, &[&render]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("signature verified"), "{stdout}");
    assert!(stdout.contains("changed: app.yaml"), "{stdout}");
    assert!(stdout.contains("missing: notes.yaml"), "{stdout}");
    assert!(stdout.contains("added: extra.yaml"), "{stdout}");

    // The same manifests checked out elsewhere (another path) still verify.
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = manifests(elsewhere.path());
    let fresh = dir.path().join("fresh.json");
    attest(&fresh, &[&copy], &["--attest-key", key_arg]);
    assert_eq!(
        verify(
            &fresh,
            &public_key,
            &[&manifests(dir.path().join("again").as_path())]
        )
        .0,
        0
    );
}

#[test]
fn stdin_is_one_subject_and_verifies_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let (private, public) = key_pair();
    let key = write(dir.path(), "key.pem", &private);
    let public_key = write(dir.path(), "key.pub", &public);
    let record = dir.path().join("record.json");
    let render =
        std::fs::read(support::root().join("integration/fixtures/outputs/manifests/app.yaml"))
            .unwrap();
    let mut command = support::gate();
    command
        .args(["check", "--bundle", BUNDLE, "--now", NOW, "--attest"])
        .arg(&record)
        .arg("--attest-key")
        .arg(&key)
        .arg("-");
    let output = support::run_with_timeout(&mut command, Some(&render), Duration::from_secs(120));
    assert_eq!(
        support::parts(&output).0,
        1,
        "the render has an enforced denial"
    );
    let statement = statement(&record);
    assert_eq!(statement["subject"][0]["name"], "<stdin>");
    assert_eq!(
        statement["subject"][0]["digest"]["sha256"],
        hex(&Sha256::digest(&render))
    );

    let mut command = support::gate();
    command
        .args(["evidence", "verify"])
        .arg(&record)
        .arg("--key")
        .arg(&public_key)
        .arg("-");
    let output = support::run_with_timeout(&mut command, Some(&render), Duration::from_secs(60));
    assert_eq!(
        support::parts(&output).0,
        0,
        "{:?}",
        support::parts(&output)
    );
    let output = support::run_with_timeout(
        &mut command,
        Some(b"kind: Other\n"),
        Duration::from_secs(60),
    );
    let (code, stdout, _) = support::parts(&output);
    assert_eq!(code, 1);
    assert!(stdout.contains("changed: <stdin>"), "{stdout}");
}

#[test]
fn cosign_keys_sign_records() {
    let dir = tempfile::tempdir().unwrap();
    let render = manifests(dir.path());

    // A key cosign wrote, with an empty password; its public key as sigstore-rs reads it.
    let cosign_key =
        support::root().join("integration/fixtures/evidence/cosign-empty-password.key");
    let pair =
        SigStoreKeyPair::from_encrypted_pem(&std::fs::read(&cosign_key).unwrap(), b"").unwrap();
    let public_key = write(dir.path(), "cosign.pub", &pair.public_key_to_pem().unwrap());
    let record = dir.path().join("record.json");
    let (code, _, stderr) = attest(
        &record,
        &[&render],
        &["--attest-key", cosign_key.to_str().unwrap()],
    );
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(verify(&record, &public_key, &[&render]).0, 0);

    // A password-protected key in the same format (written by sigstore-rs), with the
    // password from COSIGN_PASSWORD as cosign users set it.
    let (_, _) = key_pair();
    let signer = SigningScheme::ECDSA_P256_SHA256_ASN1
        .create_signer()
        .unwrap();
    let pair = signer.to_sigstore_keypair().unwrap();
    let encrypted = write(
        dir.path(),
        "cosign.key",
        &pair.private_key_to_encrypted_pem(b"hunter2").unwrap(),
    );
    let public_key = write(
        dir.path(),
        "cosign2.pub",
        &pair.public_key_to_pem().unwrap(),
    );
    let record = dir.path().join("record2.json");
    let mut command = support::gate();
    command
        .args(["check", "--bundle", BUNDLE, "--now", NOW, "--attest"])
        .arg(&record)
        .arg("--attest-key")
        .arg(&encrypted)
        .arg(&render)
        .env_remove("GATE_ATTEST_KEY_PASSWORD")
        .env("COSIGN_PASSWORD", "hunter2");
    assert_eq!(run(&mut command).0, 2);
    assert_eq!(verify(&record, &public_key, &[]).0, 0);

    // The wrong password: an error naming the key, before any policy runs, no record.
    let refused = dir.path().join("refused.json");
    command = support::gate();
    command
        .args(["check", "--bundle", BUNDLE, "--attest"])
        .arg(&refused)
        .arg("--attest-key")
        .arg(&encrypted)
        .arg(&render)
        .env("GATE_ATTEST_KEY_PASSWORD", "wrong");
    let (code, _, stderr) = run(&mut command);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cosign.key") && stderr.contains("wrong password"),
        "{stderr}"
    );
    assert!(!refused.exists());
}

#[test]
fn hostile_keys_are_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let render = manifests(dir.path());
    let record = dir.path().join("record.json");
    // A cosign key asking scrypt for 2^30 rounds (gigabytes of memory): refused
    // before deriving anything.
    let body = serde_json::json!({
        "kdf": {"name": "scrypt", "params": {"N": 1u64 << 30, "r": 8, "p": 1}, "salt": STANDARD.encode([0u8; 32])},
        "cipher": {"name": "nacl/secretbox", "nonce": STANDARD.encode([0u8; 24])},
        "ciphertext": STANDARD.encode([0u8; 64]),
    });
    let b64 = STANDARD.encode(body.to_string());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let hostile = write(
        dir.path(),
        "hostile.key",
        &format!(
            "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n{}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
            lines.join("\n")
        ),
    );
    let (code, _, stderr) = attest(
        &record,
        &[&render],
        &["--attest-key", hostile.to_str().unwrap()],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("hostile.key") && stderr.contains("scrypt parameters"),
        "{stderr}"
    );

    // Not PEM; an RSA key; a SEC1 key: each named, each explained.
    let not_pem = write(dir.path(), "notpem.key", "hello");
    let (code, _, stderr) = attest(
        &record,
        &[&render],
        &["--attest-key", not_pem.to_str().unwrap()],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("notpem.key: not a PEM key"), "{stderr}");
    let sec1 = write(
        dir.path(),
        "sec1.key",
        "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
    );
    let (code, _, stderr) = attest(
        &record,
        &[&render],
        &["--attest-key", sec1.to_str().unwrap()],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("openssl pkcs8 -topk8"), "{stderr}");

    // --attest with no key and no --attest-unsigned: refused, nothing written.
    let (code, _, stderr) = attest(&record, &[&render], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--attest-unsigned"), "{stderr}");
    assert!(!record.exists());
}

#[test]
fn unsigned_records_are_readable_but_never_verified() {
    let dir = tempfile::tempdir().unwrap();
    let render = manifests(dir.path());
    let record = dir.path().join("record.json");
    let (code, _, stderr) = attest(&record, &[&render], &["--attest-unsigned"]);
    assert_eq!(code, 2, "{stderr}");
    let envelope: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(envelope["signatures"], serde_json::json!([]));
    let (_, public) = key_pair();
    let public_key = write(dir.path(), "key.pub", &public);
    let (code, stdout, _) = verify(&record, &public_key, &[&render]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("unsigned"), "{stdout}");

    let mut show = support::gate();
    show.args(["evidence", "show", "--format", "json"])
        .arg(&record);
    let (code, stdout, _) = run(&mut show);
    assert_eq!(code, 0);
    let shown: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(shown["predicate"]["summary"]["denied"], 2);
}
