//! Hostile policies: each misbehaves on purpose and must be stopped within its
//! limit, with an error that names the policy and the limit. A test fails if the
//! limit is not enforced (the watchdog turns a hang into a failure).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

/// The hostile components, built once per test run.
fn components() -> &'static Path {
    support::hostile_components()
}

/// A bundle with one hostile policy and these limits, and two pods to judge.
fn setup(policy: &str, limits: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let wasm = components().join(format!("{}.wasm", policy.replace('-', "_")));
    assert!(wasm.is_file(), "{} missing", wasm.display());
    std::fs::write(
        dir.path().join("bundle.yaml"),
        format!(
            "apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {{name: hostile}}\nspec:\n  limits: {limits}\n  policies:\n  - module: {}\n",
            wasm.display()
        ),
    )
    .expect("write bundle");
    std::fs::write(
        dir.path().join("pods.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: first}\nspec: {containers: [{name: a, image: a}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: second}\nspec: {containers: [{name: a, image: a}]}\n",
    )
    .expect("write pods");
    dir
}

/// Runs `gate check` with the hostile bundle; returns exit code, stdout, stderr and
/// how long it took.
fn check(dir: &Path, extra: &[&str]) -> (i32, String, String, Duration) {
    let start = Instant::now();
    let bundle = dir.join("bundle.yaml");
    let pods = dir.join("pods.yaml");
    let mut command = support::gate();
    command
        .arg("check")
        .arg("--bundle")
        .arg(&bundle)
        .arg(&pods)
        .args(extra);
    let output = support::run_with_timeout(&mut command, None, Duration::from_secs(60));
    let (code, stdout, stderr) = support::parts(&output);
    (code, stdout, stderr, start.elapsed())
}

/// Asserts exit 2 and an error for each pod naming the policy and the limit.
fn assert_stopped(policy: &str, limits: &str, expected: &str) -> Duration {
    let dir = setup(policy, limits);
    let (code, stdout, stderr, elapsed) = check(dir.path(), &[]);
    assert_eq!(
        code, 2,
        "a policy that hits a limit must fail closed\n{stdout}\n{stderr}"
    );
    let wanted = format!("policy {policy}: {expected}");
    for pod in ["first", "second"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("error:") && l.contains(&wanted))
                && stdout.contains(&format!("pods.yaml:{}", if pod == "first" { 1 } else { 6 })),
            "expected `{wanted}` for pod {pod}, got:\n{stdout}\n{stderr}"
        );
    }
    assert!(stdout.contains("ERROR: 2 objects"), "{stdout}");
    elapsed
}

#[test]
fn an_endless_loop_is_stopped_by_the_time_limit() {
    let elapsed = assert_stopped(
        "hostile-loop",
        "{timeoutMs: 300, fuelPerObject: 1000000000000000}",
        "exceeded its time limit (300 ms)",
    );
    // Both pods share one batch and a timeout is not retried: about 0.3 s, far below 10 s.
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}

#[test]
fn an_endless_loop_is_stopped_by_the_fuel_limit() {
    assert_stopped(
        "hostile-loop",
        "{timeoutMs: 60000, fuelPerObject: 1000000}",
        "exceeded its fuel limit",
    );
}

#[test]
fn unbounded_allocation_is_stopped_by_the_memory_limit() {
    assert_stopped(
        "hostile-alloc",
        "{memoryMib: 16}",
        "exceeded its memory limit (16 MiB)",
    );
}

#[test]
fn unbounded_recursion_is_stopped_by_the_stack_limit() {
    assert_stopped("hostile-recursion", "{}", "exceeded its stack limit");
}

#[test]
fn huge_output_is_stopped_by_the_output_limit() {
    assert_stopped(
        "hostile-output",
        "{maxOutputKib: 256}",
        "exceeded its output size limit",
    );
}

#[test]
fn a_panic_is_a_trap_that_carries_the_panic_message() {
    assert_stopped(
        "hostile-panic",
        "{}",
        "trapped: wasm trap: wasm `unreachable` instruction executed; the policy wrote: ",
    );
    let dir = setup("hostile-panic", "{}");
    let (_, stdout, _, _) = check(dir.path(), &[]);
    assert!(
        stdout.contains("hostile policy panicked on purpose while judging first"),
        "the panic message must reach the user:\n{stdout}"
    );
}

#[test]
fn an_unreachable_trap_is_an_error_naming_the_policy() {
    assert_stopped(
        "hostile-trap",
        "{}",
        "trapped: wasm trap: wasm `unreachable`",
    );
}

#[test]
fn a_broken_contract_is_an_error_naming_the_policy() {
    assert_stopped(
        "hostile-contract",
        "{}",
        "broke the gate:policy contract: returned 0 verdicts for 1 objects",
    );
}

#[test]
fn a_policy_sees_no_files_environment_clock_entropy_or_network() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let address = listener.local_addr().expect("addr").to_string();
    let dir = setup("hostile-capabilities", "{}");
    std::fs::write(
        dir.path().join("pods.yaml"),
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: \"{address}\"}}\nspec: {{}}\n"),
    )
    .expect("write pod");

    let seen = |dir: &Path| {
        let (code, stdout, stderr, _) = check(dir, &["-f", "json"]);
        assert_eq!(
            code, 1,
            "the probe reports what it saw as a violation\n{stdout}\n{stderr}"
        );
        let report: serde_json::Value = serde_json::from_str(&stdout).expect("json report");
        report["results"][0]["violations"][0]["message"]
            .as_str()
            .expect("message")
            .to_owned()
    };
    let first = seen(dir.path());
    for expected in [
        "files=denied",
        "file=denied",
        "env=0;",
        "args=0;",
        "clock_ns=0;",
        "net=denied",
    ] {
        assert!(
            first.contains(expected),
            "expected {expected:?} in what the policy saw: {first}"
        );
    }
    assert!(
        listener.accept().is_err(),
        "the policy must not have reached the test's listener"
    );
    // Entropy is a constant: a second, separate run sees exactly the same.
    assert_eq!(first, seen(dir.path()), "entropy must be deterministic");
}

/// Asserts that a policy which tries to wait is stopped at once, well within its
/// time limit, with an error naming it: waiting happens in the host, where neither
/// fuel nor the epoch deadline reach, so without the fix this run hangs until the
/// watchdog kills it.
fn assert_refused_to_block(policy: &str) {
    let elapsed = assert_stopped(
        policy,
        "{timeoutMs: 30000}",
        "tried to block in wasi:io/poll.",
    );
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
}

#[test]
fn sleeping_is_refused_at_once() {
    assert_refused_to_block("hostile-sleep");
}

#[test]
fn waiting_on_a_clock_with_poll_or_block_is_refused_at_once() {
    assert_refused_to_block("hostile-poll");
    // Each pod took a different path: `first` poll, `second` pollable.block.
    let dir = setup("hostile-poll", "{}");
    let (_, stdout, _, _) = check(dir.path(), &[]);
    for call in ["wasi:io/poll.poll;", "wasi:io/poll.pollable.block;"] {
        assert!(stdout.contains(call), "expected {call} in:\n{stdout}");
    }
}

/// Runs a bundle whose policy fails while loading; returns stdout and stderr.
fn load_failure(policy: &str, limits: &str) -> String {
    let dir = setup(policy, limits);
    let (code, stdout, stderr, elapsed) = check(dir.path(), &[]);
    assert_eq!(
        code, 2,
        "a policy that cannot load fails the run\n{stdout}\n{stderr}"
    );
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
    format!("{stdout}\n{stderr}")
}

#[test]
fn describe_runs_under_the_bundle_time_limit() {
    // The default limits would stop the loop by fuel; the bundle's 10 ms must.
    let output = load_failure("hostile-describe-loop", "{timeoutMs: 10}");
    assert!(
        output.contains("hostile_describe_loop.wasm: exceeded its time limit (10 ms)"),
        "{output}"
    );
}

#[test]
fn validate_settings_runs_under_the_bundle_memory_limit() {
    let output = load_failure("hostile-settings-alloc", "{memoryMib: 16}");
    assert!(
        output.contains("policy hostile-settings-alloc: exceeded its memory limit (16 MiB)"),
        "{output}"
    );
}

#[test]
fn a_million_empty_violations_exceed_the_output_limit() {
    // Memory and fuel enough to build them: only the output limit may stop them.
    assert_stopped(
        "hostile-empty-violations",
        "{memoryMib: 512, fuelPerObject: 100000000000}",
        "exceeded its output size limit",
    );
}

/// The webhook and the Flux controller reuse pooled slots, whose memory wasmtime
/// resets in place (only the pages written, kept resident). A policy that looks
/// for what an earlier evaluation left behind must find it within one call (the
/// probe works) and never across calls (nothing survives an instance).
#[test]
fn a_reused_instance_slot_remembers_nothing() {
    use gate_engine::loader::{BundleRef, LocalResolver, load_bundle};
    use gate_engine::{EvaluateOptions, evaluate, sources};
    use gate_runtime::{InstanceAllocator, Runtime, RuntimeConfig};

    let dir = setup("hostile-remember", "{}");
    let runtime = Runtime::new(RuntimeConfig {
        allocator: InstanceAllocator::Pooling,
        ..RuntimeConfig::default()
    })
    .expect("pooling runtime");
    let bundle = load_bundle(
        &runtime,
        &BundleRef::File(dir.path().join("bundle.yaml")),
        &LocalResolver,
    )
    .expect("bundle");
    let options = EvaluateOptions::default();
    let messages = |report: &gate_core::report::Report| -> Vec<String> {
        report
            .results
            .iter()
            .flat_map(|f| f.violations.iter().map(|v| v.message.clone()))
            .collect()
    };

    let pods = std::fs::read_to_string(dir.path().join("pods.yaml")).unwrap();
    let both = evaluate(
        &runtime,
        &bundle,
        sources::parse_text("pods.yaml", &pods),
        &options,
    );
    assert!(both.errors.is_empty(), "{:?}", both.errors);
    assert_eq!(
        messages(&both),
        [
            "second remembers: 1 earlier evaluations counted, the data segment changed, 16 zeroed pages marked"
        ],
        "within one instance the second object finds the first one's marks"
    );

    for round in 0..50 {
        let pod = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("pod-{round}")},
            "spec": {"containers": [{"name": "a", "image": "a"}]}
        });
        let report = evaluate(
            &runtime,
            &bundle,
            sources::single_object("pod.json", pod),
            &options,
        );
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(messages(&report), Vec::<String>::new(), "round {round}");
    }
}
