//! The cost of reading manifests as Kubernetes does: `cargo bench -p gate-core --bench parse [DIR]`.
//!
//! Compares, in one run, gate's parser (`gate_core::manifest::parse`) with what gate
//! did before it (serde_yaml_ng on each piece between `---` lines, YAML 1.2, no merge
//! keys) on every file of the corpus (default ../shared/corpus/realworld): one thread,
//! median of 7 interleaved rounds each. BENCHMARKS.md records the result.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::collapsible_if,
    missing_docs
)]
use std::time::{Duration, Instant};

fn old(text: &str) -> usize {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut n = 0;
    let mut start = 0;
    let mut offset = 0;
    let mut pieces = Vec::new();
    for line in text.split_inclusive('\n') {
        let is_marker = line
            .strip_prefix("---")
            .or_else(|| line.strip_prefix("..."))
            .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t', '\r', '\n']));
        if is_marker && offset > start {
            pieces.push(&text[start..offset]);
            start = offset;
        }
        offset += line.len();
    }
    pieces.push(&text[start..]);
    for p in pieces {
        if text.trim_start().starts_with('{') {
            break;
        }
        if let Ok(v) = serde_yaml_ng::from_str::<serde_json::Value>(p) {
            if !v.is_null() {
                n += 1;
            }
        }
    }
    n
}

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/corpus/realworld"
            )
            .to_owned()
        });
    let mut files = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.symlink_metadata().unwrap().file_type().is_symlink() {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("yaml" | "yml" | "json")
            ) {
                if let Ok(t) = std::fs::read_to_string(&p) {
                    files.push(t);
                }
            }
        }
    }
    let bytes: usize = files.iter().map(String::len).sum();
    let (mut o, mut n) = (Vec::new(), Vec::new());
    let mut sink = 0usize;
    for _ in 0..7 {
        let t = Instant::now();
        for f in &files {
            sink += old(f);
        }
        o.push(t.elapsed());
        let t = Instant::now();
        for f in &files {
            if let Ok(p) = gate_core::manifest::parse("f", f) {
                sink += p.resources.len();
            }
        }
        n.push(t.elapsed());
    }
    o.sort();
    n.sort();
    let (om, nm): (Duration, Duration) = (o[3], n[3]);
    println!("files {} bytes {} sink {}", files.len(), bytes, sink);
    println!("old serde_yaml_ng: {:.1} ms", om.as_secs_f64() * 1e3);
    println!("new gate parser:   {:.1} ms", nm.as_secs_f64() * 1e3);
    println!("new/old = {:.3}", nm.as_secs_f64() / om.as_secs_f64());
}
