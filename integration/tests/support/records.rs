//! Evaluation records in tests: fresh keys, the statement inside an envelope,
//! `gate evidence verify`, a tampered copy, and a check of the signature by an
//! implementation that is not gate's (Python's `cryptography`).
#![allow(dead_code)]

use crate::support;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use sigstore::crypto::SigningScheme;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A fresh ECDSA P-256 key pair: (PKCS#8 PEM, public PEM), made by sigstore-rs.
pub fn key_pair() -> (String, String) {
    let pair = SigningScheme::ECDSA_P256_SHA256_ASN1
        .create_signer()
        .unwrap()
        .to_sigstore_keypair()
        .unwrap();
    (
        pair.private_key_to_pem().unwrap().to_string(),
        pair.public_key_to_pem().unwrap(),
    )
}

/// The in-toto statement a DSSE envelope (given as its bytes) carries.
pub fn statement_of(bytes: &[u8]) -> Value {
    let envelope: Value = serde_json::from_slice(bytes).unwrap();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    let payload = STANDARD
        .decode(envelope["payload"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&payload).unwrap()
}

/// The in-toto statement of a record file.
pub fn statement(record: &Path) -> Value {
    statement_of(&std::fs::read(record).unwrap())
}

/// `gate evidence verify RECORD --key KEY [PATH...]`: (exit code, stdout, stderr).
pub fn verify(record: &Path, key: &Path, paths: &[&Path]) -> (i32, String, String) {
    let mut command = support::gate();
    command
        .args(["evidence", "verify"])
        .arg(record)
        .arg("--key")
        .arg(key)
        .args(paths);
    let output = support::run_with_timeout(&mut command, None, Duration::from_secs(60));
    support::parts(&output)
}

/// A copy of the record at `dir/tampered.json` whose statement `change` edited,
/// re-encoded under the original signatures.
pub fn tampered(record: &Path, dir: &Path, change: impl FnOnce(&mut Value)) -> PathBuf {
    let mut envelope: Value = serde_json::from_slice(&std::fs::read(record).unwrap()).unwrap();
    let mut statement = statement(record);
    change(&mut statement);
    envelope["payload"] = STANDARD
        .encode(serde_json::to_vec(&statement).unwrap())
        .into();
    let path = dir.join("tampered.json");
    std::fs::write(&path, envelope.to_string()).unwrap();
    path
}

/// The DSSE signature, checked by Python's `cryptography` over the PAE it
/// computes itself.
pub fn verify_with_python(record: &Path, public_key: &Path) {
    if !python_has(&["cryptography"]) {
        return;
    }
    let script = "import base64, json, sys\n\
        from cryptography.hazmat.primitives import hashes, serialization\n\
        from cryptography.hazmat.primitives.asymmetric import ec\n\
        env = json.load(open(sys.argv[1]))\n\
        key = serialization.load_pem_public_key(open(sys.argv[2], 'rb').read())\n\
        body = base64.b64decode(env['payload'])\n\
        t = env['payloadType'].encode()\n\
        pae = b'DSSEv1 %d %s %d %s' % (len(t), t, len(body), body)\n\
        key.verify(base64.b64decode(env['signatures'][0]['sig']), pae, ec.ECDSA(hashes.SHA256()))\n\
        print('python: verified')\n";
    let mut command = Command::new("python3");
    command.arg("-c").arg(script).arg(record).arg(public_key);
    let output = support::run_with_timeout(&mut command, None, Duration::from_secs(60));
    let (code, stdout, stderr) = support::parts(&output);
    assert_eq!(
        code, 0,
        "cryptography rejects the signature:\n{stdout}{stderr}"
    );
    assert!(stdout.contains("python: verified"));
}

/// The predicate against its JSON Schema, kept in the repository, with Python's jsonschema.
pub fn validate_predicate(predicate: &Value) {
    let schema = support::root().join("host/evidence/schema/evaluation-v1.schema.json");
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        jsonschema.Draft202012Validator.check_schema(schema)\n\
        v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)\n\
        errors = list(v.iter_errors(json.load(sys.stdin)))\n\
        [print(e.message, list(e.path)) for e in errors]\n\
        sys.exit(1 if errors else 0)\n";
    if !python_has(&["jsonschema"]) {
        return;
    }
    let mut command = Command::new("python3");
    command.arg("-c").arg(script).arg(schema);
    let input = serde_json::to_vec(predicate).unwrap();
    let output = support::run_with_timeout(&mut command, Some(&input), Duration::from_secs(60));
    let (code, stdout, stderr) = support::parts(&output);
    assert_eq!(
        code, 0,
        "the predicate does not match its schema:\n{stdout}{stderr}"
    );
}

/// Whether python3 imports these modules; CI must have them (.ci/requirements.txt).
pub fn python_has(modules: &[&str]) -> bool {
    let found = Command::new("python3")
        .arg("-c")
        .arg(format!("import {}", modules.join(", ")))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have python3 with {modules:?} (.ci/requirements.txt)"
        );
        eprintln!("notice: python3 {modules:?} not found; independent check skipped");
    }
    found
}
