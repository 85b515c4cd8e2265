//! The webhook's Prometheus metrics, served at `/metrics` in the OpenMetrics
//! text format (which Prometheus scrapes natively).
//!
//! Every series about a judged request carries a `dry_run` label, and nothing
//! else about a dry run differs: the same evaluations, the same counts.

use gate_core::report::ErrorKind;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::Duration;

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Request latency buckets, in seconds: 250 µs to ~16 s, doubling.
const LATENCY_BUCKETS: [f64; 17] = [
    0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024,
    2.048, 4.096, 8.192, 16.384,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EvaluationLabels {
    policy: String,
    mode: &'static str,
    decision: &'static str,
    dry_run: bool,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: &'static str,
    decision: &'static str,
    dry_run: bool,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    kind: &'static str,
    policy: String,
    dry_run: bool,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    policy: String,
    limit: &'static str,
    dry_run: bool,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectedLabels {
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SkippedLabels {
    reason: &'static str,
    dry_run: bool,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BundleLabels {
    bundle: String,
    digest: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    target: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    target: &'static str,
}

/// What a reload was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadTarget {
    /// The bundle (and its lock file).
    Bundle,
    /// The serving certificate and key.
    Tls,
}

/// Every metric of the webhook, registered once.
pub struct Metrics {
    registry: Registry,
    evaluations: Family<EvaluationLabels, Counter>,
    requests: Family<RequestLabels, Histogram>,
    errors: Family<ErrorLabels, Counter>,
    limit_hits: Family<LimitLabels, Counter>,
    rejected: Family<RejectedLabels, Counter>,
    skipped: Family<SkippedLabels, Counter>,
    bundle_info: Family<BundleLabels, Gauge>,
    ready: Gauge,
    reloads: Family<ReloadLabels, Counter>,
    reload_failing: Family<TargetLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("gate");
        let evaluations = Family::default();
        registry.register(
            "evaluations",
            "Objects judged by each policy, by mode and decision (allow, deny, warn, except, error)",
            evaluations.clone(),
        );
        let requests = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(LATENCY_BUCKETS)
        });
        registry.register_with_unit(
            "admission_request_duration",
            "Time from a request's arrival to its answer, by operation and decision",
            prometheus_client::registry::Unit::Seconds,
            requests.clone(),
        );
        let errors = Family::default();
        registry.register(
            "errors",
            "Errors while judging, by kind and policy; each denies unless its policy fails open",
            errors.clone(),
        );
        let limit_hits = Family::default();
        registry.register(
            "policy_limit_hits",
            "Policy calls stopped by a hard limit or by the request deadline",
            limit_hits.clone(),
        );
        let rejected = Family::default();
        registry.register(
            "admission_rejected_requests",
            "Requests answered with an HTTP error (400, 413, 415) instead of a review",
            rejected.clone(),
        );
        let skipped = Family::default();
        registry.register(
            "admission_skipped_requests",
            "Requests allowed without evaluation, by reason (excluded-namespace)",
            skipped.clone(),
        );
        let bundle_info = Family::default();
        registry.register(
            "bundle_info",
            "The bundle being served (1), labelled with its name and digest",
            bundle_info.clone(),
        );
        let ready = Gauge::default();
        registry.register(
            "ready",
            "1 when a bundle is loaded and every policy of it is ready",
            ready.clone(),
        );
        let reloads = Family::default();
        registry.register(
            "reloads",
            "Reloads of the bundle or of the TLS certificate, by outcome",
            reloads.clone(),
        );
        let reload_failing = Family::default();
        registry.register(
            "reload_failing",
            "1 while the last reload failed and the previous bundle or certificate is still served",
            reload_failing.clone(),
        );
        Metrics {
            registry,
            evaluations,
            requests,
            errors,
            limit_hits,
            rejected,
            skipped,
            bundle_info,
            ready,
            reloads,
            reload_failing,
        }
    }

    /// Counts one object judged by one policy.
    pub fn evaluation(
        &self,
        policy: &str,
        mode: &'static str,
        decision: &'static str,
        dry_run: bool,
    ) {
        self.evaluations
            .get_or_create(&EvaluationLabels {
                policy: policy.to_owned(),
                mode,
                decision,
                dry_run,
            })
            .inc();
    }

    /// Records one answered review.
    pub fn request(
        &self,
        operation: &'static str,
        decision: &'static str,
        dry_run: bool,
        elapsed: Duration,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                operation,
                decision,
                dry_run,
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts an error, and a limit hit when it is one.
    pub fn error(&self, kind: ErrorKind, policy: Option<&str>, dry_run: bool) {
        let policy = policy.unwrap_or_default().to_owned();
        if kind.is_limit() {
            self.limit_hits
                .get_or_create(&LimitLabels {
                    policy: policy.clone(),
                    limit: kind.as_str(),
                    dry_run,
                })
                .inc();
        }
        self.errors
            .get_or_create(&ErrorLabels {
                kind: kind.as_str(),
                policy,
                dry_run,
            })
            .inc();
    }

    /// Counts a request refused at the HTTP level.
    pub fn rejected(&self, status: u16) {
        self.rejected
            .get_or_create(&RejectedLabels { status })
            .inc();
    }

    /// Counts a request allowed without evaluation.
    pub fn skipped(&self, reason: &'static str, dry_run: bool) {
        self.skipped
            .get_or_create(&SkippedLabels { reason, dry_run })
            .inc();
    }

    /// Records the bundle now served.
    pub fn serving(&self, bundle: &str, digest: &str) {
        self.bundle_info.clear();
        self.bundle_info
            .get_or_create(&BundleLabels {
                bundle: bundle.to_owned(),
                digest: digest.to_owned(),
            })
            .set(1);
        self.ready.set(1);
    }

    /// Records that no bundle is served.
    pub fn not_ready(&self) {
        self.ready.set(0);
    }

    /// Counts a reload attempt and raises or clears the failing flag.
    pub fn reload(&self, target: ReloadTarget, succeeded: bool) {
        let target = match target {
            ReloadTarget::Bundle => "bundle",
            ReloadTarget::Tls => "tls",
        };
        let outcome = if succeeded { "success" } else { "failure" };
        self.reloads
            .get_or_create(&ReloadLabels { target, outcome })
            .inc();
        self.reload_failing
            .get_or_create(&TargetLabels { target })
            .set(i64::from(!succeeded));
    }

    /// The metrics in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_counters_with_their_labels() {
        let metrics = Metrics::new();
        metrics.evaluation("disallow-privileged", "enforce", "deny", true);
        metrics.error(ErrorKind::TimeLimit, Some("slow"), false);
        metrics.serving("aks-restricted", "sha256:abc");
        metrics.reload(ReloadTarget::Bundle, false);
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"gate_evaluations_total{policy="disallow-privileged",mode="enforce",decision="deny",dry_run="true"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"gate_policy_limit_hits_total{policy="slow",limit="time-limit",dry_run="false"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"gate_bundle_info{bundle="aks-restricted",digest="sha256:abc"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"gate_reload_failing{target="bundle"} 1"#),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn a_new_bundle_replaces_the_info_series() {
        let metrics = Metrics::new();
        metrics.serving("b", "sha256:1");
        metrics.serving("b", "sha256:2");
        let text = metrics.encode();
        assert!(!text.contains("sha256:1"), "{text}");
        assert!(text.contains("sha256:2"), "{text}");
    }
}
