//! Gatekeeper library parity: every case of every suite under
//! `integration/conformance/gatekeeper/`, run through `gate check` with the policy the
//! `mapping-*.yaml` files name for its template.
//!
//! For each suite test, the constraint's `spec.parameters` become the policy's settings
//! unchanged (plus the mapping's fixed `settings`, if any), and its
//! `spec.match.namespaces`/`excludedNamespaces` the policy's scope; the bundle excludes no
//! namespace otherwise. Every assertion (`violations: yes|no|<n>`, optionally only
//! counting messages that contain `message`) is checked against the violations the
//! policy reports on the case's object. Suites of policies that read the render (their
//! `inventory`) run one `gate check` per case, with the case's `inventory` files as the
//! rest of the render; the others share one run.
//!
//! The test fails, listing everything at once, when a case does not give the expected
//! result, a template has no mapping, a mapping names no template, or
//! coverage table in `policies-wasm/README.md` differs from the coverage this run computes
//! (regenerate with `GATE_UPDATE_DOCS=1 cargo test -p gate --test gatekeeper_parity`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The suites, relative to the repository root.
const DATA: &str = "integration/conformance/gatekeeper";
/// The document whose `gatekeeper-coverage` section this test keeps up to date.
const COVERAGE: &str = "policies-wasm/README.md";
/// Gate processes run at once for the per-case runs.
const WORKERS: usize = 3;
/// How long one `gate check` may take. The first run of a test session compiles every
/// policy of the pack (the component cache is per session), which takes minutes on a
/// loaded machine; later runs load them from the cache.
const RUN_LIMIT: Duration = Duration::from_secs(1200);

// ---------------------------------------------------------------------------------
// Input files

/// A `mapping-*.yaml` file: template directory -> how gate covers it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    templates: BTreeMap<String, Mapping>,
}

/// How gate covers one template directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Mapping {
    /// The built-in policy (`builtin:<policy>`) that implements the template.
    #[serde(default)]
    policy: Option<String>,
    /// Why the template cannot apply to a render; its cases are not run.
    #[serde(default)]
    not_applicable: Option<String>,
    /// Settings merged over every constraint's parameters (for fixed choices the
    /// template makes that the policy leaves to its settings).
    #[serde(default)]
    settings: Map<String, Value>,
    /// Cases not run, by suite case name, with the reason (shown in the coverage table).
    #[serde(default)]
    skip_cases: BTreeMap<String, String>,
    /// If set, assertions with a `message` are not checked, for this reason.
    #[serde(default)]
    skip_messages: Option<String>,
}

/// A gator `Suite`.
#[derive(Debug, Deserialize)]
struct Suite {
    #[serde(default)]
    tests: Vec<SuiteTest>,
}

#[derive(Debug, Deserialize)]
struct SuiteTest {
    name: String,
    constraint: String,
    #[serde(default)]
    cases: Vec<SuiteCase>,
}

#[derive(Debug, Deserialize)]
struct SuiteCase {
    name: String,
    object: String,
    #[serde(default)]
    inventory: Vec<String>,
    #[serde(default)]
    assertions: Vec<Assertion>,
}

#[derive(Debug, Clone, Deserialize)]
struct Assertion {
    /// `yes`, `no` or a count; gator reads a missing value as `yes`.
    #[serde(default)]
    violations: Option<Value>,
    /// Only violations whose message contains this text count. Gator matches a regular
    /// expression; every message in the copied suites is literal text (a `.` in them
    /// then matches only itself, which is stricter).
    #[serde(default)]
    message: Option<String>,
}

/// What an assertion expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// `yes`: at least one violation.
    Some,
    /// `no`: none.
    None,
    /// A count.
    Exactly(usize),
}

impl Expect {
    fn parse(value: Option<&Value>) -> Result<Expect, String> {
        match value {
            None => Ok(Expect::Some),
            Some(Value::Bool(true)) => Ok(Expect::Some),
            Some(Value::Bool(false)) => Ok(Expect::None),
            Some(Value::String(s)) if s == "yes" => Ok(Expect::Some),
            Some(Value::String(s)) if s == "no" => Ok(Expect::None),
            Some(Value::Number(n)) => n
                .as_u64()
                .map(|n| Expect::Exactly(n as usize))
                .ok_or_else(|| format!("violations: {n} is not a count")),
            Some(other) => Err(format!("violations: {other} is not yes, no or a count")),
        }
    }

    fn holds(self, count: usize) -> bool {
        match self {
            Expect::Some => count > 0,
            Expect::None => count == 0,
            Expect::Exactly(n) => count == n,
        }
    }
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Some => f.write_str("at least one violation"),
            Expect::None => f.write_str("no violation"),
            Expect::Exactly(n) => write!(f, "exactly {n} violation(s)"),
        }
    }
}

fn read_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------
// The plan: what to run

/// One suite test of a mapped template: a constraint, and the policy entry it becomes.
#[derive(Debug)]
struct Test {
    template: String,
    /// The policy entry's name in the bundle, unique in the run.
    entry: String,
    policy: String,
    constraint_kind: String,
    settings: Map<String, Value>,
    namespaces: Vec<Value>,
    excluded_namespaces: Vec<Value>,
}

/// One suite case to run.
#[derive(Debug)]
struct Case {
    test: usize,
    /// `<suite test>/<case>`, for messages.
    name: String,
    /// Relative to the repository root, as given to `gate check`.
    object: String,
    inventory: Vec<String>,
    assertions: Vec<(Expect, Option<String>)>,
    skip_messages: bool,
}

/// A case that is not run, and why.
#[derive(Debug)]
struct Skipped {
    template: String,
    reason: String,
}

/// Everything the suites and mappings ask for.
#[derive(Debug, Default)]
struct Plan {
    templates: Vec<String>,
    mappings: BTreeMap<String, Mapping>,
    tests: Vec<Test>,
    cases: Vec<Case>,
    skipped: Vec<Skipped>,
    /// Problems with the data itself: missing mappings, unreadable suites, ...
    problems: Vec<String>,
}

/// Template directories: `<category>/<template>` with a `suite.yaml`.
fn template_dirs(root: &Path) -> Vec<String> {
    let mut dirs = Vec::new();
    for category in std::fs::read_dir(root).unwrap().flatten() {
        if !category.path().is_dir() {
            continue;
        }
        for template in std::fs::read_dir(category.path()).unwrap().flatten() {
            if template.path().join("suite.yaml").is_file() {
                dirs.push(format!(
                    "{}/{}",
                    category.file_name().to_string_lossy(),
                    template.file_name().to_string_lossy()
                ));
            }
        }
    }
    dirs.sort();
    dirs
}

/// Every `mapping-*.yaml`, merged. A template mapped twice is a problem.
fn mappings(root: &Path, problems: &mut Vec<String>) -> BTreeMap<String, Mapping> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("mapping-") && n.ends_with(".yaml"))
        })
        .collect();
    files.sort();
    let mut merged = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let parsed: MappingFile = match serde_yaml_ng::from_str(&text) {
            Ok(parsed) => parsed,
            Err(e) => {
                problems.push(format!("{}: {e}", file.display()));
                continue;
            }
        };
        for (template, mapping) in parsed.templates {
            let valid = mapping.policy.is_some() != mapping.not_applicable.is_some();
            if !valid {
                problems.push(format!(
                    "{}: {template}: give exactly one of `policy` and `notApplicable`",
                    file.display()
                ));
            }
            if merged.insert(template.clone(), mapping).is_some() {
                problems.push(format!("{}: {template} is mapped twice", file.display()));
            }
        }
    }
    merged
}

/// `spec.match.<field>` of a constraint, as a list.
fn match_list(constraint: &Value, field: &str) -> Vec<Value> {
    constraint["spec"]["match"][field]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// An `AdmissionReview` is a request, not a manifest: a render cannot contain one.
fn admission_request(object: &Value) -> Option<String> {
    (object["kind"] == "AdmissionReview").then(|| {
        format!(
            "admission request ({}): a render holds objects, not requests",
            object["request"]["operation"]
                .as_str()
                .unwrap_or("unknown operation")
        )
    })
}

fn plan(repo: &Path) -> Plan {
    let root = repo.join(DATA);
    let mut plan = Plan {
        templates: template_dirs(&root),
        ..Plan::default()
    };
    plan.mappings = mappings(&root, &mut plan.problems);
    for template in plan.mappings.keys() {
        if !plan.templates.contains(template) {
            plan.problems.push(format!(
                "{template} is mapped but {DATA}/{template}/suite.yaml does not exist"
            ));
        }
    }
    for template in plan.templates.clone() {
        let Some(mapping) = plan.mappings.get(&template).cloned() else {
            plan.problems.push(format!(
                "{template} has no entry in any {DATA}/mapping-*.yaml: map it to a policy or say why it is notApplicable"
            ));
            continue;
        };
        let Some(policy) = mapping.policy.clone() else {
            continue;
        };
        plan_template(&mut plan, repo, &template, &policy, &mapping);
    }
    plan
}

fn plan_template(plan: &mut Plan, repo: &Path, template: &str, policy: &str, mapping: &Mapping) {
    let dir = format!("{DATA}/{template}");
    let suite: Suite = match serde_json::from_value(read_yaml(&repo.join(&dir).join("suite.yaml")))
    {
        Ok(suite) => suite,
        Err(e) => {
            plan.problems.push(format!("{dir}/suite.yaml: {e}"));
            return;
        }
    };
    let mut seen_skips = BTreeSet::new();
    for test in suite.tests {
        let constraint = read_yaml(&repo.join(&dir).join(&test.constraint));
        let mut settings = constraint["spec"]["parameters"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        settings.extend(mapping.settings.clone());
        let index = plan.tests.len();
        plan.tests.push(Test {
            template: template.to_owned(),
            entry: format!("t{index:03}"),
            policy: policy.to_owned(),
            constraint_kind: constraint["kind"].as_str().unwrap_or_default().to_owned(),
            settings,
            namespaces: match_list(&constraint, "namespaces"),
            excluded_namespaces: match_list(&constraint, "excludedNamespaces"),
        });
        for case in test.cases {
            let name = format!("{}/{}", test.name, case.name);
            let object = format!("{dir}/{}", case.object);
            if let Some(reason) = mapping.skip_cases.get(&case.name) {
                seen_skips.insert(case.name.clone());
                plan.skipped.push(Skipped {
                    template: template.to_owned(),
                    reason: format!("{}: {reason}", case.name),
                });
                continue;
            }
            if !repo.join(&object).is_file() {
                plan.problems
                    .push(format!("{template} {name}: {object} does not exist"));
                continue;
            }
            if let Some(reason) = admission_request(&read_yaml(&repo.join(&object))) {
                plan.skipped.push(Skipped {
                    template: template.to_owned(),
                    reason: format!("{}: {reason}", case.name),
                });
                continue;
            }
            let mut assertions = Vec::new();
            for assertion in &case.assertions {
                match Expect::parse(assertion.violations.as_ref()) {
                    Ok(expect) => assertions.push((expect, assertion.message.clone())),
                    Err(e) => plan.problems.push(format!("{template} {name}: {e}")),
                }
            }
            if assertions.is_empty() {
                plan.problems
                    .push(format!("{template} {name}: no assertions"));
            }
            plan.cases.push(Case {
                test: index,
                name,
                object,
                inventory: case
                    .inventory
                    .iter()
                    .map(|i| format!("{dir}/{i}"))
                    .collect(),
                assertions,
                skip_messages: mapping.skip_messages.is_some(),
            });
        }
    }
    for stale in mapping
        .skip_cases
        .keys()
        .filter(|k| !seen_skips.contains(*k))
    {
        plan.problems.push(format!(
            "{template}: skipCases names {stale:?}, which no suite case is"
        ));
    }
}

// ---------------------------------------------------------------------------------
// Running gate

/// What one run of `gate check` said about the objects it was given.
#[derive(Debug, Default)]
struct Outcome {
    /// (policy entry, object file) -> violation messages.
    violations: HashMap<(String, String), Vec<String>>,
    /// (policy entry, object file) -> errors.
    errors: HashMap<(String, String), Vec<String>>,
    /// Policy entries whose policy reads the render.
    reads_render: BTreeSet<String>,
    /// When the run itself failed (e.g. the bundle did not load), why.
    failure: Option<String>,
}

fn bundle_yaml(tests: &[&Test]) -> String {
    let policies: Vec<Value> = tests
        .iter()
        .map(|t| {
            json!({
                "module": format!("builtin:{}", t.policy),
                "name": t.entry,
                "settings": t.settings,
                "namespaces": t.namespaces,
                "excludedNamespaces": t.excluded_namespaces,
            })
        })
        .collect();
    let bundle = json!({
        "apiVersion": "gate.dev/v1alpha1",
        "kind": "Bundle",
        "metadata": {"name": "gatekeeper-parity"},
        "spec": {"excludedNamespaces": [], "policies": policies},
    });
    serde_json::to_string_pretty(&bundle).unwrap()
}

/// Runs `gate check -f json` with `tests` as the bundle on `files`.
fn run_gate(scratch: &Path, label: &str, tests: &[&Test], files: &[String]) -> Outcome {
    let bundle = scratch.join(format!("{label}.bundle.yaml"));
    std::fs::write(&bundle, bundle_yaml(tests)).unwrap();
    let mut command = support::gate();
    command
        .arg("check")
        .arg("--bundle")
        .arg(&bundle)
        .args(["-f", "json"])
        .args(files);
    let output = support::run_with_timeout(&mut command, None, RUN_LIMIT);
    let (code, stdout, stderr) = support::parts(&output);
    let mut outcome = Outcome::default();
    let report: Value = match serde_json::from_str(&stdout) {
        Ok(report) => report,
        Err(_) => {
            outcome.failure = Some(format!(
                "gate exited {code} without a report: {}",
                stderr.trim()
            ));
            return outcome;
        }
    };
    for policy in report["policies"].as_array().into_iter().flatten() {
        if policy["info"]["inventory"]
            .as_array()
            .is_some_and(|i| !i.is_empty())
        {
            outcome
                .reads_render
                .insert(policy["name"].as_str().unwrap_or_default().to_owned());
        }
    }
    for finding in report["results"].as_array().into_iter().flatten() {
        let key = (
            finding["policy"].as_str().unwrap_or_default().to_owned(),
            finding["object"]["file"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        let messages = finding["violations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v["message"].as_str().unwrap_or_default().to_owned());
        outcome.violations.entry(key).or_default().extend(messages);
    }
    for error in report["errors"].as_array().into_iter().flatten() {
        let key = (
            error["policy"].as_str().unwrap_or_default().to_owned(),
            error["object"]["file"]
                .as_str()
                .or(error["file"].as_str())
                .unwrap_or_default()
                .to_owned(),
        );
        let message = error["message"].as_str().unwrap_or_default().to_owned();
        outcome.errors.entry(key).or_default().push(message);
    }
    outcome
}

/// The violations and errors of one case, once its run is known.
#[derive(Debug, Default)]
struct Observed {
    messages: Vec<String>,
    errors: Vec<String>,
}

fn observe(outcome: &Outcome, entry: &str, object: &str) -> Observed {
    let key = (entry.to_owned(), object.to_owned());
    let mut errors = outcome.errors.get(&key).cloned().unwrap_or_default();
    if let Some(failure) = &outcome.failure {
        errors.push(failure.clone());
    }
    // Errors about the input files themselves have no policy.
    errors.extend(
        outcome
            .errors
            .get(&(String::new(), object.to_owned()))
            .cloned()
            .unwrap_or_default(),
    );
    Observed {
        messages: outcome.violations.get(&key).cloned().unwrap_or_default(),
        errors,
    }
}

/// Applies `f` to every item, [`WORKERS`] at a time, and returns the results in order.
fn parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let f = &f;
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WORKERS)
            .map(|w| {
                scope.spawn(move || {
                    (w..items.len())
                        .step_by(WORKERS)
                        .map(|i| (i, f(&items[i])))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// The distinct object files of the cases `keep` selects, sorted.
fn objects(plan: &Plan, keep: impl Fn(&Case) -> bool) -> Vec<String> {
    let files: BTreeSet<String> = plan
        .cases
        .iter()
        .filter(|c| keep(c))
        .map(|c| c.object.clone())
        .collect();
    files.into_iter().collect()
}

/// Runs every planned case and returns what was observed for each, by case index.
///
/// 1. One run with every test's policy entry on every object: enough for the policies
///    that judge each object on its own.
/// 2. If that bundle did not load (a policy rejected a constraint's parameters, say), one
///    run per test, so that the failure lands on that test's cases only.
/// 3. For policies that read the render: one run per case, with the case's inventory
///    as the rest of the render, so that no other case's objects are in it.
fn run(plan: &Plan, scratch: &Path) -> Vec<Observed> {
    let all_tests: Vec<&Test> = plan.tests.iter().collect();
    let all_objects = objects(plan, |_| true);
    let shared = if all_objects.is_empty() {
        Outcome::default()
    } else {
        run_gate(scratch, "shared", &all_tests, &all_objects)
    };
    let mut observed: Vec<Observed> = plan
        .cases
        .iter()
        .map(|c| observe(&shared, &plan.tests[c.test].entry, &c.object))
        .collect();
    let mut reads_render = shared.reads_render.clone();

    if shared.failure.is_some() {
        let tests: Vec<usize> = (0..plan.tests.len()).collect();
        let outcomes = parallel(&tests, |&t| {
            let files = objects(plan, |c| c.test == t);
            let test = &plan.tests[t];
            (!files.is_empty()).then(|| run_gate(scratch, &format!("test{t:03}"), &[test], &files))
        });
        reads_render.clear();
        for (t, outcome) in outcomes.iter().enumerate() {
            let Some(outcome) = outcome else { continue };
            reads_render.extend(outcome.reads_render.iter().cloned());
            for (i, case) in plan.cases.iter().enumerate().filter(|(_, c)| c.test == t) {
                observed[i] = observe(outcome, &plan.tests[t].entry, &case.object);
            }
        }
    }

    let isolated: Vec<usize> = (0..plan.cases.len())
        .filter(|&i| reads_render.contains(&plan.tests[plan.cases[i].test].entry))
        .collect();
    let results = parallel(&isolated, |&i| {
        let case = &plan.cases[i];
        let test = &plan.tests[case.test];
        let mut files = vec![case.object.clone()];
        files.extend(case.inventory.iter().cloned());
        let outcome = run_gate(scratch, &format!("case{i:04}"), &[test], &files);
        observe(&outcome, &test.entry, &case.object)
    });
    for (i, result) in isolated.into_iter().zip(results) {
        observed[i] = result;
    }
    observed
}

// ---------------------------------------------------------------------------------
// Judging and reporting

/// Why a case failed, or `None` if every assertion holds.
fn judge(case: &Case, observed: &Observed) -> Option<String> {
    if !observed.errors.is_empty() {
        return Some(format!(
            "gate reported errors: {}",
            observed.errors.join("; ")
        ));
    }
    let mut failures = Vec::new();
    for (expect, message) in &case.assertions {
        if message.is_some() && case.skip_messages {
            continue;
        }
        let count = observed
            .messages
            .iter()
            .filter(|m| {
                message
                    .as_ref()
                    .is_none_or(|want| m.contains(want.as_str()))
            })
            .count();
        if !expect.holds(count) {
            let scope = message
                .as_ref()
                .map_or(String::new(), |m| format!(" containing {m:?}"));
            failures.push(format!("expected {expect}{scope}, found {count}"));
        }
    }
    (!failures.is_empty()).then(|| {
        let found = if observed.messages.is_empty() {
            "no violations".to_owned()
        } else {
            observed
                .messages
                .iter()
                .map(|m| format!("\n      - {m}"))
                .collect::<String>()
        };
        format!("{}; policy reported: {found}", failures.join(", "))
    })
}

/// Per-template tallies for the coverage table.
#[derive(Debug, Default)]
struct Tally {
    kinds: BTreeSet<String>,
    passed: usize,
    total: usize,
    skipped: Vec<String>,
}

fn upstream_commit(repo: &Path) -> String {
    let readme = std::fs::read_to_string(repo.join(DATA).join("README.md")).unwrap_or_default();
    // The line reads "- commit: `<sha>` (<date>)".
    readme
        .lines()
        .find_map(|l| l.strip_prefix("- commit: `"))
        .and_then(|rest| rest.split('`').next())
        .unwrap_or("unknown")
        .to_owned()
}

fn coverage(repo: &Path, plan: &Plan, passed: &[bool]) -> String {
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    for test in &plan.tests {
        tallies
            .entry(&test.template)
            .or_default()
            .kinds
            .insert(test.constraint_kind.clone());
    }
    for (case, ok) in plan.cases.iter().zip(passed) {
        let tally = tallies.entry(&plan.tests[case.test].template).or_default();
        tally.total += 1;
        tally.passed += usize::from(*ok);
    }
    for skipped in &plan.skipped {
        tallies
            .entry(&skipped.template)
            .or_default()
            .skipped
            .push(skipped.reason.clone());
    }
    let mut covered = Vec::new();
    let mut not_applicable = Vec::new();
    let mut unmapped = Vec::new();
    for template in &plan.templates {
        match plan.mappings.get(template) {
            Some(Mapping {
                policy: Some(policy),
                skip_messages,
                ..
            }) => covered.push((template, policy, skip_messages.clone())),
            Some(Mapping {
                not_applicable: Some(reason),
                ..
            }) => not_applicable.push((template, reason)),
            _ => unmapped.push(template),
        }
    }
    let (passed_cases, total_cases) = tallies
        .values()
        .fold((0, 0), |(p, t), x| (p + x.passed, t + x.total));
    let skipped_cases: usize = tallies.values().map(|t| t.skipped.len()).sum();
    let full = covered
        .iter()
        .filter(|(t, _, _)| tallies.get(t.as_str()).is_some_and(|x| x.passed == x.total))
        .count();

    let mut out = String::new();
    writeln!(
        out,
        "Every case of the [Gatekeeper library](https://github.com/open-policy-agent/gatekeeper-library) \
         suites copied in [`{DATA}`](../{DATA}) (upstream commit `{}`), run through `gate check` \
         with the constraint's parameters as the policy's settings. The mapping from template to \
         policy is in `{DATA}/mapping-*.yaml`.\n",
        upstream_commit(repo)
    )
    .unwrap();
    writeln!(
        out,
        "{} templates: {} mapped to a gate policy ({full} passing every case), {} not applicable \
         to a render, {} not mapped yet. {passed_cases} of {total_cases} cases pass; \
         {skipped_cases} cases are not run (reasons below).\n",
        plan.templates.len(),
        covered.len(),
        not_applicable.len(),
        unmapped.len()
    )
    .unwrap();
    writeln!(
        out,
        "| template | constraint kind | gate policy | cases passed | notes |"
    )
    .unwrap();
    writeln!(out, "|---|---|---|---|---|").unwrap();
    for (template, policy, skip_messages) in &covered {
        let tally = tallies.remove(template.as_str()).unwrap_or_default();
        // The same reason for several suite tests is said once, with a count.
        let mut reasons: Vec<(&String, usize)> = Vec::new();
        for reason in &tally.skipped {
            match reasons.iter_mut().find(|(r, _)| *r == reason) {
                Some((_, n)) => *n += 1,
                None => reasons.push((reason, 1)),
            }
        }
        let mut notes: Vec<String> = reasons
            .into_iter()
            .map(|(reason, n)| match n {
                1 => format!("not run: {reason}"),
                n => format!("not run ({n} cases): {reason}"),
            })
            .collect();
        if let Some(reason) = skip_messages {
            notes.push(format!("message assertions not checked: {reason}"));
        }
        writeln!(
            out,
            "| {template} | {} | `{policy}` | {}/{} | {} |",
            tally.kinds.into_iter().collect::<Vec<_>>().join(", "),
            tally.passed,
            tally.total,
            notes.join("; ").replace('|', "\\|")
        )
        .unwrap();
    }
    if !not_applicable.is_empty() {
        writeln!(out, "\n#### Not applicable to a render\n").unwrap();
        writeln!(out, "| template | reason |").unwrap();
        writeln!(out, "|---|---|").unwrap();
        for (template, reason) in not_applicable {
            writeln!(
                out,
                "| {template} | {} |",
                reason.replace('|', "\\|").replace('\n', " ")
            )
            .unwrap();
        }
    }
    if !unmapped.is_empty() {
        writeln!(out, "\n## Not mapped yet\n").unwrap();
        for template in unmapped {
            writeln!(out, "- {template}").unwrap();
        }
    }
    out
}

#[test]
fn gatekeeper_library_suites_pass() {
    let repo = support::root();
    let plan = plan(&repo);
    assert!(
        !plan.templates.is_empty(),
        "no suites under {DATA}: the test would pass vacuously"
    );
    let scratch = tempfile::Builder::new()
        .prefix("gatekeeper-parity")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let observed = run(&plan, scratch.path());

    let mut failures = plan.problems.clone();
    let mut passed = Vec::with_capacity(plan.cases.len());
    for (case, observed) in plan.cases.iter().zip(&observed) {
        let failure = judge(case, observed);
        passed.push(failure.is_none());
        if let Some(why) = failure {
            let test = &plan.tests[case.test];
            failures.push(format!(
                "{} {} ({}, policy {}): {why}",
                test.template, case.name, case.object, test.policy
            ));
        }
    }

    let table = coverage(&repo, &plan, &passed);
    assert!(
        failures.is_empty(),
        "{} problem(s) with Gatekeeper parity:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    support::check_doc_section(
        COVERAGE,
        "gatekeeper-coverage",
        &table,
        "cargo test -p gate --test gatekeeper_parity",
    );
}

#[test]
fn assertions_read_yes_no_and_counts_like_gator() {
    assert_eq!(Expect::parse(None), Ok(Expect::Some));
    assert_eq!(Expect::parse(Some(&json!("yes"))), Ok(Expect::Some));
    assert_eq!(Expect::parse(Some(&json!("no"))), Ok(Expect::None));
    assert_eq!(Expect::parse(Some(&json!(2))), Ok(Expect::Exactly(2)));
    assert!(Expect::parse(Some(&json!("maybe"))).is_err());
    assert!(Expect::parse(Some(&json!(-1))).is_err());
}

#[test]
fn message_assertions_count_only_matching_violations() {
    let case = Case {
        test: 0,
        name: "t/c".into(),
        object: "o.yaml".into(),
        inventory: Vec::new(),
        assertions: vec![
            (Expect::Exactly(2), None),
            (Expect::Exactly(1), Some("initContainer".into())),
            (Expect::Exactly(1), Some("container".into())),
        ],
        skip_messages: false,
    };
    let observed = |messages: &[&str]| Observed {
        messages: messages.iter().map(|m| m.to_string()).collect(),
        errors: Vec::new(),
    };
    let good = observed(&["initContainer \"a\" is bad", "container \"b\" is bad"]);
    assert_eq!(judge(&case, &good), None);
    let wrong_list = observed(&["initContainer \"a\" is bad", "initContainer \"b\" is bad"]);
    let why = judge(&case, &wrong_list).expect("two init violations must fail");
    assert!(
        why.contains("containing \"initContainer\", found 2"),
        "{why}"
    );
    let errors = Observed {
        messages: Vec::new(),
        errors: vec!["policy trapped".into()],
    };
    assert!(judge(&case, &errors).is_some_and(|w| w.contains("policy trapped")));
    let skipping = Case {
        skip_messages: true,
        ..case
    };
    assert_eq!(judge(&skipping, &wrong_list), None);
}
