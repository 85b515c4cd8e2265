//! Source artifacts for the Flux tests: real tar.gz files, good and hostile,
//! built here byte by byte (the hostile ones with raw tar headers, since no
//! well-behaved archiver writes them).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use tar::EntryType;

/// An app the built-in default bundle allows.
pub const ALLOWED: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: contoso.azurecr.io/web:1.0
";

/// The same app, now privileged: the built-in default bundle denies it.
pub const DENIED: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: contoso.azurecr.io/web:2.0
          securityContext: {privileged: true}
";

/// One tar entry, with its name written raw into the header.
pub struct Entry {
    pub name: Vec<u8>,
    pub kind: EntryType,
    pub data: Vec<u8>,
    pub link: Vec<u8>,
}

/// A regular file.
pub fn file(name: &str, data: &str) -> Entry {
    Entry {
        name: name.as_bytes().to_vec(),
        kind: EntryType::Regular,
        data: data.as_bytes().to_vec(),
        link: Vec::new(),
    }
}

/// A special entry (link, device, ...).
pub fn special(name: &str, kind: EntryType, link: &str) -> Entry {
    Entry {
        name: name.as_bytes().to_vec(),
        kind,
        data: Vec::new(),
        link: link.as_bytes().to_vec(),
    }
}

/// A gzip-compressed tar of the entries, in order.
pub fn targz(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    for e in entries {
        let mut header = tar::Header::new_gnu();
        {
            let gnu = header.as_gnu_mut().unwrap();
            gnu.name[..e.name.len()].copy_from_slice(&e.name);
            gnu.linkname[..e.link.len()].copy_from_slice(&e.link);
        }
        header.set_entry_type(e.kind);
        header.set_size(e.data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        builder.append(&header, &e.data[..]).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// `sha256:<hex>` of some bytes.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A source artifact holding `deploy/app.yaml`.
pub fn app(manifest: &str) -> Vec<u8> {
    targz(&[
        file("deploy/app.yaml", manifest),
        file("README.md", "# app\n"),
    ])
}

/// How a hostile artifact reaches the gate.
pub enum Delivery {
    /// Served whole, with the digest of what is served.
    Honest(Vec<u8>),
    /// Served whole, but the source publishes another digest.
    WrongDigest(Vec<u8>),
    /// The connection breaks half-way.
    Broken(Vec<u8>),
}

/// Every hostile artifact the gate must refuse: (name, delivery, what the error says).
/// The limits they break are those `LIMIT_FLAGS` sets.
pub fn hostile() -> Vec<(&'static str, Delivery, &'static str)> {
    let good = app(ALLOWED);
    let truncated = good[..good.len() - 20].to_vec();
    let many: Vec<Entry> = (0..60)
        .map(|i| file(&format!("deploy/f{i}.yaml"), ""))
        .collect();
    vec![
        (
            "wrong-digest",
            Delivery::WrongDigest(good.clone()),
            "digest mismatch",
        ),
        (
            "broken-download",
            Delivery::Broken(good.clone()),
            "download",
        ),
        ("truncated", Delivery::Honest(truncated), "tar.gz"),
        (
            "path-traversal",
            Delivery::Honest(targz(&[
                file("deploy/app.yaml", ALLOWED),
                file("deploy/../../evil.yaml", ALLOWED),
            ])),
            "`..`",
        ),
        (
            "absolute-path",
            Delivery::Honest(targz(&[file("/etc/cron.d/evil", "* * * * * root sh\n")])),
            "absolute path",
        ),
        (
            "symlink",
            Delivery::Honest(targz(&[
                file("deploy/app.yaml", ALLOWED),
                special(
                    "deploy/secret.yaml",
                    EntryType::Symlink,
                    "/var/run/secrets/kubernetes.io/serviceaccount/token",
                ),
            ])),
            "symbolic link",
        ),
        (
            "hard-link",
            Delivery::Honest(targz(&[
                file("deploy/app.yaml", ALLOWED),
                special("deploy/passwd.yaml", EntryType::Link, "/etc/passwd"),
            ])),
            "hard link",
        ),
        (
            "device",
            Delivery::Honest(targz(&[
                file("deploy/app.yaml", ALLOWED),
                special("deploy/mem", EntryType::Char, ""),
            ])),
            "device",
        ),
        (
            "oversize",
            Delivery::Honest(targz(&[
                file("deploy/app.yaml", ALLOWED),
                file("deploy/big.yaml", &"#".repeat(2 << 20)),
            ])),
            "total size",
        ),
        (
            "too-many-files",
            Delivery::Honest(targz(&many)),
            "number of entries",
        ),
    ]
}

/// The limits the hostile artifacts are built against.
pub const LIMIT_FLAGS: [&str; 4] = ["--max-extract", "1048576", "--max-files", "50"];
