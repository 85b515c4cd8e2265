#!/usr/bin/env bash
# The same rule ("deny privileged containers") through gate and each peer found on
# PATH (regorus, conftest, kyverno, checkov, kwctl), once per file over the 199
# generated files, as a pre-commit hook or a per-file CI loop runs them; peers
# that are absent are skipped and said so. kwctl needs KWCTL_POLICY (a policy it
# has pulled, e.g. registry://ghcr.io/kubewarden/policies/pod-privileged:v1.0.0).
#   integration/bench/peers.sh [GATE_BINARY]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
gate=${1:-${CARGO_TARGET_DIR:-$root/target}/release/gate}
command -v hyperfine >/dev/null || { echo "peers.sh: hyperfine is needed" >&2; exit 2; }
[ -x "$gate" ] || { echo "peers.sh: no release binary at $gate" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GATE_CACHE_DIR=$work/cache GATE_CACHE_KEY=$work/cache.key
"$root/integration/bench/corpus.sh" "$work"
files="$work/gen199/*.yaml"

cat >"$work/privileged.rego" <<'REGO'
package main
import rego.v1
deny contains msg if {
    some c in input.spec.template.spec.containers
    c.securityContext.privileged == true
    msg := sprintf("container %v is privileged", [c.name])
}
REGO
cat >"$work/kyverno.yaml" <<'YAML'
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: disallow-privileged}
spec:
  validationFailureAction: Enforce
  rules:
  - name: privileged
    match: {any: [{resources: {kinds: [Deployment]}}]}
    validate:
      message: privileged containers are not allowed
      pattern:
        spec: {template: {spec: {containers: [{"=(securityContext)": {"=(privileged)": "false"}}]}}}
YAML
printf 'apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {name: privileged}\nspec:\n  policies:\n  - module: builtin:disallow-privileged\n' >"$work/gate.yaml"
"$gate" check --bundle "$work/gate.yaml" "$work/one.yaml" >/dev/null || true

commands=("for f in $files; do $gate check --bundle $work/gate.yaml \$f >/dev/null; done")
names=(gate)
add() { names+=("$1"); commands+=("for f in $files; do $2 >/dev/null 2>&1; done"); }
if command -v regorus >/dev/null; then add regorus "regorus eval -d $work/privileged.rego -i \$f data.main.deny"; else echo "skipped: regorus (not on PATH)"; fi
if command -v conftest >/dev/null; then add conftest "conftest test -p $work/privileged.rego \$f"; else echo "skipped: conftest (not on PATH)"; fi
if command -v kyverno >/dev/null; then add kyverno "kyverno apply $work/kyverno.yaml --resource \$f"; else echo "skipped: kyverno (not on PATH)"; fi
if command -v checkov >/dev/null; then add checkov "checkov --quiet --framework kubernetes --check CKV_K8S_16 -f \$f"; else echo "skipped: checkov (not on PATH)"; fi
if command -v kwctl >/dev/null && [ -n "${KWCTL_POLICY:-}" ]; then
    add kwctl "kwctl run $KWCTL_POLICY --request-path \$f"
else
    echo "skipped: kwctl (not on PATH, or KWCTL_POLICY unset)"
fi
hyperfine -i -w 1 -r 3 --export-json "$work/peers.json" "${commands[@]}" >/dev/null 2>&1
python3 - "$work/peers.json" "${names[@]}" <<'PY'
import json, statistics, sys
results = json.load(open(sys.argv[1]))["results"]
base = statistics.median(results[0]["times"])
print("| tool | 199 files, one process each (median of 3) | per file | ratio to gate |")
print("|---|---|---|---|")
for name, r in zip(sys.argv[2:], results):
    m = statistics.median(r["times"])
    print(f"| {name} | {m:.3f} s | {m / 199 * 1000:.2f} ms | {m / base:.2f} |")
PY
