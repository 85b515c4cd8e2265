#!/usr/bin/env bash
# Issue 12's figures, from the release binary, as same-run ratios and medians:
# start-up (one small object against `gate --version`), per-file mode over 199
# generated files, peak RSS on the real-world corpus, and the whole built-in pack
# against a run that evaluates nothing. Needs hyperfine and GNU time.
#   integration/bench/perf.sh [GATE_BINARY] [CORPUS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
gate=${1:-${CARGO_TARGET_DIR:-$root/target}/release/gate}
corpus=${2:-$root/../shared/corpus/realworld}
for tool in hyperfine /usr/bin/time python3; do
    command -v "$tool" >/dev/null || { echo "perf.sh: $tool is needed" >&2; exit 2; }
done
[ -x "$gate" ] || { echo "perf.sh: no release binary at $gate (cargo build --release -p gate)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GATE_CACHE_DIR=$work/cache GATE_CACHE_KEY=$work/cache.key
"$root/integration/bench/corpus.sh" "$work"

# Warm the cache for every bundle used below.
for bundle in builtin:default "$work/nothing.yaml" "$work/all.yaml"; do
    "$gate" check --bundle "$bundle" "$work/one.yaml" >/dev/null || true
done

median() { # hyperfine JSON -> "| command | median | ratio to the first |" rows
    python3 - "$1" "$gate" "$work" <<'PY'
import json, statistics, sys
results = json.load(open(sys.argv[1]))["results"]
base = statistics.median(results[0]["times"])
for r in results:
    m = statistics.median(r["times"])
    command = r["command"].replace(sys.argv[2], "gate").replace(sys.argv[3], "$work")
    print(f"| `{command}` | {m * 1000:.2f} ms | {m / base:.2f} |")
PY
}

echo "## start-up: one object, builtin:default, warm cache (hyperfine -N, median of 100, ratio to gate --version)"
hyperfine -N -i -w 10 -r 100 --export-json "$work/startup.json" \
    "$gate --version" "$gate check $work/one.yaml" >/dev/null 2>&1
median "$work/startup.json"

echo "## per-file: one gate check per file over 199 files (median of 5)"
hyperfine -i -w 1 -r 5 --export-json "$work/perfile.json" \
    "for f in $work/gen199/*.yaml; do $gate check \$f >/dev/null; done" >/dev/null 2>&1
median "$work/perfile.json"

echo "## the pack on $corpus (interleaved, median of 9, ratio to nothing evaluated)"
"$root/integration/bench/interleaved.py" 9 \
    "$gate check $corpus --bundle $work/nothing.yaml -f json -o /dev/null" \
    "$gate check $corpus -f json -o /dev/null" \
    "$gate check $corpus --bundle $work/all.yaml -f json -o /dev/null" \
    | sed -e "s|$gate|gate|g" -e "s|$work|\$work|g"

echo "## peak RSS on $corpus (/usr/bin/time -v)"
for bundle in "$work/nothing.yaml" builtin:default "$work/all.yaml"; do
    rss=$( { /usr/bin/time -v "$gate" check "$corpus" --bundle "$bundle" -f json -o /dev/null || true; } 2>&1 \
        | awk '/Maximum resident/ {print $6}')
    echo "| $(basename "$bundle") | $((rss / 1024)) MB |"
done
