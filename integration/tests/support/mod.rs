//! Shared by the end-to-end tests: run the real `gate` binary, with a watchdog.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// A `gate` command run from the repository root, with a private component cache
/// shared by all tests of this run.
pub fn gate() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gate"));
    command
        .current_dir(root())
        .env("GATE_CACHE_DIR", cache_dir())
        .env_remove("GATE_LOG");
    command
}

/// Builds the hostile components of integration/wasm once per test binary and
/// returns the directory of their `.wasm` files (`hostile_loop.wasm`, ...).
pub fn hostile_components() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("target dir")
            .join("wasm");
        let cargo = option_env!("CARGO").unwrap_or("cargo");
        let status = std::process::Command::new(cargo)
            .current_dir(root().join("integration/wasm"))
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--target-dir",
            ])
            .arg(&target)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("run cargo");
        assert!(status.success(), "building the hostile components failed");
        target.join("wasm32-wasip2/release")
    })
}

/// One cache for the whole test run: the first test compiles, the others load.
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("gate-cache")
}

/// Runs a command with stdin from `input` (or nothing) and kills it after `limit`:
/// a test never hangs, it fails. Output is drained while the command runs, so a
/// large report never blocks it on a full pipe.
pub fn run_with_timeout(command: &mut Command, input: Option<&[u8]>, limit: Duration) -> Output {
    use std::io::{Read, Write};
    command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn gate");
    if let Some(input) = input {
        let mut stdin = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "command did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&stdout.join().unwrap_or_default()),
                String::from_utf8_lossy(&stderr.join().unwrap_or_default())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Runs `gate` with arguments (60 s watchdog).
pub fn run(args: &[&str]) -> Output {
    run_with_timeout(gate().args(args), None, Duration::from_secs(60))
}

/// The exit code, stdout and stderr of an output.
pub fn parts(output: &Output) -> (i32, String, String) {
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Keeps a generated section of a document in step with what a test computed.
///
/// The section sits between `<!-- NAME:begin ... -->` and `<!-- NAME:end -->` in `doc`
/// (relative to the repository root). With `GATE_UPDATE_DOCS` set the section is
/// rewritten; otherwise the test fails when it differs, saying how to regenerate it.
pub fn check_doc_section(doc: &str, name: &str, content: &str, regenerate: &str) {
    let path = root().join(doc);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{doc}: {e}"));
    let begin_tag = format!("<!-- {name}:begin");
    let end_tag = format!("<!-- {name}:end -->");
    let (Some(begin), Some(end)) = (text.find(&begin_tag), text.find(&end_tag)) else {
        panic!("{doc} lacks the `{begin_tag} ... -->` and `{end_tag}` markers");
    };
    let body_start = begin + text[begin..].find("-->").expect("closed begin marker") + 3;
    let updated = format!(
        "{}\n{}\n{}",
        &text[..body_start],
        content.trim_matches('\n'),
        &text[end..]
    );
    if std::env::var_os("GATE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, updated).unwrap_or_else(|e| panic!("{doc}: {e}"));
        return;
    }
    if updated != text {
        let line = text
            .lines()
            .zip(updated.lines())
            .position(|(a, b)| a != b)
            .map_or(0, |i| i + 1);
        panic!(
            "{doc}: the `{name}` section is out of date (first difference at line {line}); \
             review and regenerate it with\n  GATE_UPDATE_DOCS=1 {regenerate}\n\nexpected:\n{content}"
        );
    }
}

/// Writes a CA, and a serving certificate it signed for `localhost` and
/// 127.0.0.1, into `dir` (`ca.pem`, `tls.crt`, `tls.key`). Returns the CA PEM.
pub fn make_tls(dir: &Path) -> String {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "gate test CA");
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let mut leaf_params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    leaf_params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress("127.0.0.1".parse().expect("ip")));
    let leaf_key = rcgen::KeyPair::generate().expect("key");
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).expect("leaf");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("ca");
    std::fs::write(dir.join("tls.crt"), leaf.pem()).expect("crt");
    std::fs::write(dir.join("tls.key"), leaf_key.serialize_pem()).expect("key");
    ca.pem()
}
