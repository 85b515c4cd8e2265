#!/usr/bin/env bash
# Runs both fuzz targets for SECONDS each (default 300), niced: `just fuzz [SECONDS]`.
# Seeds the corpora from the fixtures; prints libFuzzer's final stats per target.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-300}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-../../target}/fuzz"

mkdir -p corpus/manifest corpus/tape artifacts
find ../fixtures/yaml-adversarial ../conformance ../example-repo -type f \
  \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) -size -64k \
  -exec cp -n {} corpus/manifest/ \; 2>/dev/null || true
python3 - <<'PY'
import json, struct
def node(v):
    if v is None: return b"\0"
    if v is True: return b"\2"
    if v is False: return b"\1"
    if isinstance(v, int): return b"\3" + struct.pack("<q", v)
    if isinstance(v, float): return b"\4" + struct.pack("<d", v)
    if isinstance(v, str):
        b = v.encode(); return b"\5" + struct.pack("<I", len(b)) + b
    if isinstance(v, list):
        body = b"".join(node(x) for x in v)
        return b"\6" + struct.pack("<II", len(v), len(body)) + body
    body = b"".join(struct.pack("<I", len(k.encode())) + k.encode() + node(x) for k, x in v.items())
    return b"\7" + struct.pack("<II", len(v), len(body)) + body
seeds = [
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}},
     "spec": {"hostPID": True, "containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}],
              "resources": {"limits": {"cpu": 0.5}}, "securityContext": {"privileged": None}}]}},
    [1, -2, 2.5, "x", [], {}],
    "just a string",
]
for i, s in enumerate(seeds):
    open(f"corpus/tape/seed{i}", "wb").write(b"GT\x01\x00" + node(s))
PY

for target in manifest tape; do
  echo "== fuzz $target for ${seconds}s"
  nice -n 19 cargo fuzz run --fuzz-dir "$PWD" --sanitizer none "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
    -artifact_prefix="artifacts/$target-" -print_final_stats=1 2>&1 | tail -n 25
done
