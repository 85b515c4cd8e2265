//! `gate evidence verify|show`: check and read evaluation records.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use gate_evidence::predicate::{Evaluation, Verdict};
use gate_evidence::{Envelope, Statement, Verification, VerifyingKey};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Check and read evaluation records (`gate check --attest`).
#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Verify a record's signature and, given the manifests, that they have not
    /// changed since. Exit 0 verified, 1 mismatch, 2 error.
    Verify(VerifyArgs),
    /// Print a record for a person (or as JSON).
    Show(ShowArgs),
}

impl EvidenceCommand {
    /// Runs the subcommand.
    pub fn run(self) -> Result<ExitCode> {
        match self {
            EvidenceCommand::Verify(args) => args.run(),
            EvidenceCommand::Show(args) => args.run(),
        }
    }
}

/// `gate evidence verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The record: a DSSE envelope written by `gate check --attest`.
    pub record: PathBuf,

    /// The public key to verify with (PEM, e.g. `cosign.pub`).
    #[arg(long)]
    pub key: PathBuf,

    /// The manifests the record is about, as given to `gate check` (files,
    /// directories, or `-` for stdin): their digests are compared with the record's.
    pub paths: Vec<PathBuf>,
}

/// `gate evidence show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The record.
    pub record: PathBuf,

    /// Also verify the signature with this public key (PEM).
    #[arg(long)]
    pub key: Option<PathBuf>,

    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ShowFormat::Text)]
    pub format: ShowFormat,

    /// Print the framework view of the record instead (cis, iso27001, gdpr, ...).
    #[arg(long, value_name = "FRAMEWORK")]
    pub by_control: Option<String>,
}

/// How `gate evidence show` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    /// For a person.
    Text,
    /// The statement (the envelope's payload) as JSON.
    Json,
}

/// Reads a record and its statement.
fn read_record(path: &Path) -> Result<(Envelope, Statement)> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read the record {name}"))?;
    let envelope = Envelope::parse(&name, &bytes)?;
    let statement = envelope.statement(&name)?;
    Ok((envelope, statement))
}

fn read_key(path: &Path) -> Result<VerifyingKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the key {}", path.display()))?;
    Ok(VerifyingKey::from_pem(&path.display().to_string(), &text)?)
}

fn describe(verification: &Verification) -> String {
    match verification {
        Verification::Verified { keyid } => format!("verified (key {keyid})"),
        Verification::Unsigned => "NOT VERIFIED: the record is unsigned".to_owned(),
        Verification::BadSignature { signatures } => format!(
            "NOT VERIFIED: none of its {signatures} signature(s) verifies with this key \
             (another key signed it, or the record was changed)"
        ),
    }
}

impl VerifyArgs {
    /// Verifies; the exit code says how.
    pub fn run(self) -> Result<ExitCode> {
        let (envelope, statement) = read_record(&self.record)?;
        let key = read_key(&self.key)?;
        let verification = envelope.verify(&self.record.display().to_string(), &key)?;
        let mut ok = matches!(verification, Verification::Verified { .. });
        println!(
            "{}: signature {}",
            self.record.display(),
            describe(&verification)
        );
        if !self.paths.is_empty() {
            for path in &self.paths {
                if path.as_os_str() != "-" && !path.exists() {
                    bail!("{}: no such file or directory", path.display());
                }
            }
            let (recorded, current) = current_subjects(&statement, &self.paths)?;
            let diff = gate_evidence::compare(&recorded, &current);
            for name in &diff.changed {
                println!("changed: {name}");
            }
            for name in &diff.missing {
                println!("missing: {name} (in the record, not found now)");
            }
            for name in &diff.added {
                println!("added: {name} (not in the record: never judged)");
            }
            if diff.is_clean() {
                println!(
                    "manifests: {} file(s) unchanged since the record",
                    diff.unchanged
                );
            } else {
                println!(
                    "manifests: CHANGED since the record: {} changed, {} missing, {} added, {} unchanged",
                    diff.changed.len(),
                    diff.missing.len(),
                    diff.added.len(),
                    diff.unchanged
                );
                ok = false;
            }
        }
        Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    }
}

/// The subjects to compare: those of the record, and the same computed now,
/// as the front door that made the record computed them. `gate check` digests
/// the manifests it read; the Argo CD and Flux doors every file of the app
/// directory, plus streams (`<render>`, `<source-artifact>`) that are not
/// files and are left out here.
fn current_subjects(
    statement: &Statement,
    paths: &[PathBuf],
) -> Result<(Vec<gate_evidence::Subject>, Vec<gate_evidence::Subject>)> {
    if !matches!(
        statement.predicate.run.front_door.as_str(),
        "argocd" | "flux"
    ) {
        let loaded = gate_engine::sources::load(paths);
        let current = gate_evidence::subjects(&loaded.inputs, paths);
        return Ok((statement.subject.clone(), current));
    }
    let (streams, files): (Vec<_>, Vec<_>) = statement
        .subject
        .iter()
        .cloned()
        .partition(|s| gate_evidence::is_stream_name(&s.name));
    let mut current = Vec::new();
    for path in paths {
        if !path.is_dir() {
            bail!(
                "{}: a {} record names the files of the app directory: give that directory",
                path.display(),
                statement.predicate.run.front_door
            );
        }
        current.extend(gate_evidence::tree_subjects(path)?);
    }
    for stream in &streams {
        println!("not compared: {} (a stream, not a file)", stream.name);
    }
    Ok((files, current))
}

impl ShowArgs {
    /// Prints the record.
    pub fn run(self) -> Result<ExitCode> {
        let (envelope, statement) = read_record(&self.record)?;
        let verification = match &self.key {
            Some(key) => {
                Some(envelope.verify(&self.record.display().to_string(), &read_key(key)?)?)
            }
            None => None,
        };
        let text = if let Some(framework) = &self.by_control {
            let view = gate_evidence::controls::view(&statement.predicate, framework)
                .map_err(anyhow::Error::msg)?;
            match self.format {
                ShowFormat::Text => view.to_text(),
                ShowFormat::Json => format!("{}\n", serde_json::to_string_pretty(&view)?),
            }
        } else {
            match self.format {
                ShowFormat::Json => format!("{}\n", serde_json::to_string_pretty(&statement)?),
                ShowFormat::Text => {
                    show_text(&self.record, &envelope, &statement, verification.as_ref())
                }
            }
        };
        print!("{text}");
        let verified = verification
            .as_ref()
            .is_none_or(|v| matches!(v, Verification::Verified { .. }));
        Ok(if verified {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    }
}

fn show_text(
    path: &Path,
    envelope: &Envelope,
    statement: &Statement,
    verification: Option<&Verification>,
) -> String {
    let e: &Evaluation = &statement.predicate;
    let mut out = String::new();
    let signature = match verification {
        Some(v) => describe(v),
        None if envelope.signatures.is_empty() => "none (unsigned record)".to_owned(),
        None => format!(
            "{} signature(s), not checked (give --key to verify)",
            envelope.signatures.len()
        ),
    };
    let _ = writeln!(out, "record:    {}", path.display());
    let _ = writeln!(out, "signature: {signature}");
    let _ = writeln!(
        out,
        "decision:  {} ({} front door, gate {})",
        format!("{:?}", e.decision).to_uppercase(),
        e.run.front_door,
        e.gate.version
    );
    let _ = writeln!(out, "time:      {}", e.run.time.to_rfc3339());
    let _ = writeln!(
        out,
        "revision:  {}",
        e.run.revision.as_deref().unwrap_or("(not known)")
    );
    let _ = writeln!(out, "bundle:    {} {}", e.bundle.name, e.bundle.digest);
    let s = &e.summary;
    let _ = writeln!(
        out,
        "summary:   {} objects, {} policies, {} evaluations: {} passed, {} denied, {} warnings, {} excepted, {} errors, {} skipped",
        s.objects,
        s.policies,
        s.evaluations,
        s.passed,
        s.denied,
        s.warnings,
        s.excepted,
        s.errors,
        s.skipped
    );
    let _ = writeln!(out, "\nsubjects ({}):", statement.subject.len());
    for subject in &statement.subject {
        let digest = subject.digest.get("sha256").map_or("-", String::as_str);
        let _ = writeln!(out, "  sha256:{digest}  {}", subject.name);
    }
    let _ = writeln!(out, "\npolicies ({}):", e.policies.len());
    for p in &e.policies {
        let _ = writeln!(
            out,
            "  {} {} ({}), {}\n    component {}\n    settings  {}",
            p.name, p.version, p.mode, p.module, p.digest, p.settings_digest
        );
    }
    let not_passed: Vec<_> = e
        .verdicts
        .iter()
        .filter(|v| v.verdict != Verdict::Pass)
        .collect();
    let _ = writeln!(
        out,
        "\nverdicts: {} (object, policy) pairs, {} not passed:",
        e.verdicts.len(),
        not_passed.len()
    );
    for v in not_passed {
        let o = &v.object;
        let ns = o
            .namespace
            .as_deref()
            .map(|n| format!("{n}/"))
            .unwrap_or_default();
        let why: Vec<&str> = v
            .violations
            .iter()
            .map(|x| x.message.as_str())
            .chain(v.error.as_deref())
            .collect();
        let exception = v
            .exception
            .as_deref()
            .map(|x| format!(" [exception {x}]"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<6} {} {ns}{} ({}:{}) {}{exception}: {}",
            v.verdict.as_str().to_uppercase(),
            o.kind,
            o.name,
            o.file,
            o.line,
            v.policy,
            why.join("; ")
        );
    }
    if !e.exceptions.is_empty() {
        let _ = writeln!(out, "\nexceptions ({}):", e.exceptions.len());
        for x in &e.exceptions {
            let status = if x.expired { "EXPIRED" } else { "live" };
            let _ = writeln!(
                out,
                "  {status:<7} {} / {}: expires {}, covered {} finding(s); reason: {}",
                x.policy, x.name, x.expires, x.covered, x.reason
            );
        }
    }
    if !e.errors.is_empty() {
        let _ = writeln!(out, "\nerrors ({}):", e.errors.len());
        for x in &e.errors {
            let _ = writeln!(out, "  {}", x.message);
        }
    }
    out
}
