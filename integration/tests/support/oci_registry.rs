//! Debian's `docker-registry` (distribution 2.8), started per test with its own
//! config on a free 127.0.0.1 port, killed on drop.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Is `program` on PATH?
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Whether the registry tests can run. With `GATE_REQUIRE_REGISTRY=1` (CI), a
/// missing tool is a failure; otherwise the test is skipped with a notice.
pub fn tools_present(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !have(t)).collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("GATE_REQUIRE_REGISTRY").is_ok_and(|v| v == "1") {
        panic!(
            "GATE_REQUIRE_REGISTRY=1 but {} missing: apt-get install -y docker-registry skopeo apache2-utils",
            missing.join(", ")
        );
    }
    eprintln!(
        "SKIPPED: {} not installed (apt-get install -y docker-registry skopeo apache2-utils)",
        missing.join(", ")
    );
    false
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// How the registry authenticates.
pub enum Auth {
    /// Nobody.
    None,
    /// htpasswd (bcrypt) file.
    Htpasswd(PathBuf),
    /// `auth: token`: a token service at `realm` signs JWTs with the key of `root_cert`.
    Token {
        /// The token endpoint.
        realm: String,
        /// The service name.
        service: String,
        /// The issuer.
        issuer: String,
        /// PEM of the certificate whose key signs tokens.
        root_cert: PathBuf,
    },
}

/// A running registry.
pub struct TestRegistry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub host: String,
    /// Its storage directory.
    pub storage: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestRegistry {
    /// Starts a registry; `tls` is `(cert.pem, key.pem)`.
    pub fn start(auth: Auth, tls: Option<(&Path, &Path)>) -> TestRegistry {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let storage = dir.path().join("storage");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: gate-test-secret\n",
            storage.display()
        );
        if let Some((cert, key)) = tls {
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
        }
        match &auth {
            Auth::None => {}
            Auth::Htpasswd(file) => {
                config.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: gate-test\n    path: {}\n",
                    file.display()
                ));
            }
            Auth::Token {
                realm,
                service,
                issuer,
                root_cert,
            } => {
                config.push_str(&format!(
                    "auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n",
                    root_cert.display()
                ));
            }
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("config");
        let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let registry = TestRegistry {
            child,
            host: format!("127.0.0.1:{port}"),
            storage,
            _dir: dir,
        };
        registry.wait_ready();
        registry
    }

    /// A plain-HTTP registry with no auth.
    pub fn plain() -> TestRegistry {
        TestRegistry::start(Auth::None, None)
    }

    /// Its socket address.
    pub fn addr(&self) -> SocketAddr {
        self.host.parse().expect("addr")
    }

    fn wait_ready(&self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if TcpStream::connect(self.addr()).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log =
            std::fs::read_to_string(self._dir.path().join("registry.log")).unwrap_or_default();
        panic!("docker-registry did not start on {}:\n{log}", self.host);
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The file holding a blob in the registry's storage.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.storage
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
