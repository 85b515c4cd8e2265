//! Fixtures of the OCI tests: components, keys made with openssl, trust
//! policies, bundles, and `gate` runs with an isolated store and docker config.
#![allow(dead_code)]

use crate::registry::TestRegistry;
use crate::support;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// The built component of a policy of the pack (built by gate's build script).
pub fn policy_wasm(name: &str) -> PathBuf {
    let file = format!("{}.wasm", name.replace('-', "_"));
    if let Some(dir) = std::env::var_os("GATE_POLICIES_WASM_DIR") {
        return PathBuf::from(dir).join(file);
    }
    let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("../wasm/wasm32-wasip2/release")
        .join(&file);
    assert!(
        path.is_file(),
        "{} is missing: build gate first",
        path.display()
    );
    path
}

/// A scratch directory for one test: its own OCI store, docker config and HOME.
pub struct Workspace {
    /// The directory.
    pub dir: tempfile::TempDir,
}

impl Workspace {
    /// A new workspace.
    pub fn new() -> Workspace {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("docker")).expect("docker dir");
        std::fs::create_dir_all(dir.path().join("home")).expect("home");
        Workspace { dir }
    }

    /// A path in it.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The OCI store.
    pub fn store(&self) -> PathBuf {
        self.path("store")
    }

    /// A `gate` command with this workspace's store, an empty docker config, no
    /// Azure or registry credentials from the outside, and plain HTTP to `plain`.
    pub fn gate(&self, plain: &[&str]) -> Command {
        let mut command = support::gate();
        command
            .env("GATE_OCI_STORE", self.store())
            .env("DOCKER_CONFIG", self.path("docker"))
            .env("HOME", self.path("home"))
            .env("GATE_PLAIN_HTTP", plain.join(","))
            .env("GATE_REGISTRY_ATTEMPTS", "3")
            .env("GATE_REGISTRY_TIMEOUT_SECS", "10");
        for var in [
            "GATE_REGISTRY_USERNAME",
            "GATE_REGISTRY_PASSWORD",
            "GATE_REGISTRY_CA_FILE",
            "GATE_ACR_REGISTRIES",
            "AZURE_FEDERATED_TOKEN_FILE",
            "AZURE_CLIENT_ID",
            "AZURE_TENANT_ID",
            "AZURE_AUTHORITY_HOST",
            "GATE_SIGNING_KEY",
        ] {
            command.env_remove(var);
        }
        command
    }

    /// Runs `gate` against a plain-HTTP registry (120 s watchdog).
    pub fn run(&self, registry: &TestRegistry, args: &[&str]) -> Output {
        self.run_cmd(&mut self.gate(&[&registry.host]), args)
    }

    /// Runs a prepared command with arguments.
    pub fn run_cmd(&self, command: &mut Command, args: &[&str]) -> Output {
        support::run_with_timeout(command.args(args), None, Duration::from_secs(120))
    }

    /// Makes an ECDSA P-256 key pair with openssl: `(private PKCS#8 PEM, public PEM)`.
    pub fn keypair(&self, name: &str) -> (PathBuf, PathBuf) {
        let private = self.path(&format!("{name}.key"));
        let public = self.path(&format!("{name}.pub"));
        sh(&format!(
            "openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out {0} && openssl ec -in {0} -pubout -out {1}",
            private.display(),
            public.display()
        ));
        (private, public)
    }

    /// Puts a public key in trust store `cosign:NAME` under `truststore/`.
    pub fn trust_cosign_key(&self, store: &str, public: &Path) {
        let dir = self.path(&format!("truststore/cosign/{store}"));
        std::fs::create_dir_all(&dir).expect("store dir");
        std::fs::copy(public, dir.join("key.pub")).expect("copy key");
    }

    /// Writes `trustpolicy.json` beside the bundles of this workspace.
    pub fn trust_policy(&self, json: &serde_json::Value) -> PathBuf {
        let path = self.path("trustpolicy.json");
        std::fs::write(&path, serde_json::to_vec_pretty(json).expect("json"))
            .expect("trust policy");
        path
    }

    /// A trust policy of one scope `*` trusting these stores.
    pub fn trust_stores(&self, stores: &[&str], identities: &[&str]) -> PathBuf {
        self.trust_policy(&serde_json::json!({
            "version": "1.0",
            "trustPolicies": [{
                "name": "test",
                "registryScopes": ["*"],
                "signatureVerification": {"level": "strict"},
                "trustStores": stores,
                "trustedIdentities": identities,
            }]
        }))
    }

    /// Writes a bundle running one module (enforced) and returns its path.
    pub fn bundle(&self, module: &str) -> PathBuf {
        let path = self.path("bundle.yaml");
        std::fs::write(
            &path,
            format!(
                "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {{name: oci-test}}\nspec:\n  policies:\n  - module: {module}\n"
            ),
        )
        .expect("bundle");
        path
    }

    /// Writes a privileged and a clean pod; returns `(privileged, clean)`.
    pub fn pods(&self) -> (PathBuf, PathBuf) {
        let bad = self.path("privileged.yaml");
        let good = self.path("clean.yaml");
        std::fs::write(&bad, "apiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: apps}\nspec:\n  containers:\n  - name: c\n    image: contoso.azurecr.io/app:1\n    securityContext: {privileged: true}\n").expect("pod");
        std::fs::write(&good, "apiVersion: v1\nkind: Pod\nmetadata: {name: good, namespace: apps}\nspec:\n  containers:\n  - name: c\n    image: contoso.azurecr.io/app:1\n").expect("pod");
        (bad, good)
    }
}

/// Runs a shell command; panics with its output if it fails.
pub fn sh(script: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{script}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value after `label ` on a line of `gate policy push` output.
pub fn field(stdout: &str, label: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{label} ")))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{stdout}"))
        .trim()
        .to_owned()
}

/// Asserts success and returns stdout.
pub fn ok(output: &Output) -> String {
    let (code, stdout, stderr) = support::parts(output);
    assert_eq!(
        code, 0,
        "gate failed ({code}):\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

/// Asserts exit 2 (gate could not decide: refused) and returns stderr.
pub fn refused(output: &Output) -> String {
    let (code, stdout, stderr) = support::parts(output);
    assert_eq!(
        code, 2,
        "expected a refusal (exit 2), got {code}:\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stderr
}

/// Pushes the disallow-privileged component to `repo:tag` on `registry`, signed
/// with `key` if given; returns the manifest digest.
/// The common start of a registry test: pushes disallow-privileged to
/// `reference`, signed with a new cosign key `release`, and trusts that key (and
/// only it). Returns the pushed digest.
pub fn push_trusted_policy(ws: &Workspace, registry: &TestRegistry, reference: &str) -> String {
    let (key, public) = ws.keypair("release");
    let digest = push_policy(ws, registry, reference, Some(&key));
    ws.trust_cosign_key("release", &public);
    ws.trust_stores(&["cosign:release"], &[]);
    digest
}

pub fn push_policy(
    ws: &Workspace,
    registry: &TestRegistry,
    repo: &str,
    key: Option<&Path>,
) -> String {
    push_named(ws, registry, "disallow-privileged", repo, key)
}

/// Pushes the component of pack policy `policy` to `repo:tag` on `registry`,
/// signed with `key` if given; returns the manifest digest.
pub fn push_named(
    ws: &Workspace,
    registry: &TestRegistry,
    policy: &str,
    repo: &str,
    key: Option<&Path>,
) -> String {
    let wasm = policy_wasm(policy);
    let reference = format!("{}/{repo}", registry.host);
    let mut args = vec![
        "policy".to_owned(),
        "push".into(),
        wasm.display().to_string(),
        reference,
        "--licenses".into(),
        "Apache-2.0".into(),
        "--source-url".into(),
        "https://github.com/gate-dev/gate".into(),
    ];
    if let Some(key) = key {
        args.extend(["--sign".into(), "--key".into(), key.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    field(&ok(&ws.run(registry, &args)), "digest")
}

/// Attaches a signature to `repo@digest` as a referrer (pushed by digest, listed in
/// the referrers tag schema's index: distribution 2.8 has no referrers API).
pub fn attach_referrer(
    registry: &TestRegistry,
    repo: &str,
    digest: &str,
    artifact_type: &str,
    media_type: &str,
    layer: &[u8],
) {
    gate_oci::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let options = gate_oci::RegistryOptions {
        plain_http: vec![registry.host.clone()],
        ..Default::default()
    };
    let scratch = tempfile::tempdir().expect("tempdir");
    let client = gate_oci::Client::online(
        gate_oci::Registry::new(options).expect("registry"),
        gate_oci::Store::open(scratch.path()).expect("store"),
    );
    let size = std::fs::metadata(registry.blob_file(digest))
        .expect("manifest in storage")
        .len();
    let subject = gate_oci::manifest::Descriptor {
        media_type: gate_oci::manifest::OCI_MANIFEST.to_owned(),
        digest: digest.to_owned(),
        size,
        artifact_type: None,
        annotations: Default::default(),
    };
    let reference =
        gate_oci::ArtifactRef::parse(&format!("{}/{repo}", registry.host)).expect("reference");
    rt.block_on(client.attach_referrer(
        &reference,
        &subject,
        artifact_type,
        media_type,
        layer,
        Default::default(),
    ))
    .expect("attach referrer");
}

/// Signs `digest` with Notation's JWS format using Python's `cryptography`
/// (support/notation_sign.py); returns `(envelope, ca.pem path)`.
pub fn notation_sign(
    ws: &Workspace,
    registry: &TestRegistry,
    digest: &str,
    extra: &[&str],
) -> (Vec<u8>, PathBuf) {
    let out = ws.path(&format!(
        "notation-{}",
        extra.join("_").replace(['-', ' '], "")
    ));
    let size = std::fs::metadata(registry.blob_file(digest))
        .expect("manifest")
        .len();
    let script = support::root().join("integration/tests/support/notation_sign.py");
    let mut command = Command::new("python3");
    command
        .arg(script)
        .arg(&out)
        .arg(digest)
        .arg("application/vnd.oci.image.manifest.v1+json")
        .arg(size.to_string())
        .args(extra);
    let output = command.output().expect("python3");
    assert!(
        output.status.success(),
        "notation_sign.py: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        std::fs::read(out.join("envelope.json")).expect("envelope"),
        out.join("ca.pem"),
    )
}

/// Puts a CA certificate in trust store `ca:NAME`.
pub fn trust_ca(ws: &Workspace, store: &str, pem: &Path) {
    let dir = ws.path(&format!("truststore/x509/ca/{store}"));
    std::fs::create_dir_all(&dir).expect("store dir");
    std::fs::copy(pem, dir.join("root.pem")).expect("copy ca");
}

/// Is Python's `cryptography` importable? Required when `GATE_REQUIRE_REGISTRY=1`.
pub fn have_python_cryptography() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var("GATE_REQUIRE_REGISTRY").as_deref() == Ok("1") {
            panic!(
                "GATE_REQUIRE_REGISTRY=1 but Python's cryptography package is missing: pip install cryptography"
            );
        }
        eprintln!("SKIPPED: pip install cryptography");
    }
    ok
}

/// Runs `gate check` of `bundle` on `manifest` with a fresh store.
pub fn check(ws: &Workspace, registry: &TestRegistry, bundle: &Path, manifest: &Path) -> Output {
    let _ = std::fs::remove_dir_all(ws.store());
    ws.run(
        registry,
        &[
            "check",
            "-b",
            &bundle.display().to_string(),
            &manifest.display().to_string(),
        ],
    )
}

/// Asserts a refusal naming the reference and the reason, with no report (no policy ran).
pub fn assert_refused(output: &Output, reference: &str, reason: &str) {
    let (code, stdout, stderr) = support::parts(output);
    assert_eq!(
        code, 2,
        "expected a refusal, got exit {code}:\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stderr.contains(reference),
        "the error must name {reference}:\n{stderr}"
    );
    assert!(
        stderr.contains(reason),
        "the error must say {reason:?}:\n{stderr}"
    );
    assert!(
        stdout.trim().is_empty(),
        "a refused policy must not run; got a report:\n{stdout}"
    );
}

/// The media type (and artifact type) of a Sigstore bundle.
pub const SIGSTORE_BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// A Sigstore bundle (v0.3, DSSE envelope) over an in-toto statement about
/// `digest` with `predicate_type`, signed with the PKCS#8 PEM P-256 key `key`.
pub fn sigstore_bundle(key: &Path, digest: &str, predicate_type: &str) -> Vec<u8> {
    use base64::Engine as _;
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::DecodePrivateKey as _;
    let pem = std::fs::read_to_string(key).expect("key");
    let key = p256::ecdsa::SigningKey::from_pkcs8_pem(&pem).expect("PKCS#8 P-256 key");
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "policy", "digest": {"sha256": digest.trim_start_matches("sha256:")}}],
        "predicateType": predicate_type,
        "predicate": {},
    })
    .to_string();
    let payload_type = "application/vnd.in-toto+json";
    let pae = format!(
        "DSSEv1 {} {payload_type} {} {statement}",
        payload_type.len(),
        statement.len()
    );
    let signature: p256::ecdsa::DerSignature = key.sign(pae.as_bytes());
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    serde_json::to_vec(&serde_json::json!({
        "mediaType": SIGSTORE_BUNDLE,
        "verificationMaterial": {"publicKey": {"hint": "gate-test"}},
        "dsseEnvelope": {"payload": b64(statement.as_bytes()), "payloadType": payload_type,
                         "signatures": [{"sig": b64(signature.as_bytes())}]},
    }))
    .expect("bundle")
}

/// Attaches a Sigstore bundle to `repo@digest` as a referrer.
pub fn attach_bundle(registry: &TestRegistry, repo: &str, digest: &str, bundle: &[u8]) {
    attach_referrer(
        registry,
        repo,
        digest,
        SIGSTORE_BUNDLE,
        SIGSTORE_BUNDLE,
        bundle,
    );
}
