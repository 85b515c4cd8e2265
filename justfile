# gate's recipes. CI (.ci/run) calls the same commands.

default:
    @just --list

# Build everything and run gate on the example repository with the built-in bundle.
demo:
    cargo run -p gate -- check integration/example-repo

# Run every test (unit, policy cases, conformance, hostile policies, registry, snapshots).
test:
    cargo test --workspace

# Format and lint like CI does.
lint:
    cargo fmt --all -- --check
    cd policies-wasm && cargo fmt --all -- --check
    cd integration/wasm && cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cd policies-wasm && cargo clippy --workspace --all-targets --target wasm32-wasip2 --target-dir ../target/wasm -- -D warnings
    cd integration/wasm && cargo clippy --workspace --target wasm32-wasip2 --target-dir ../../target/wasm -- -D warnings

# Build the policy components alone (into target/wasm).
policies:
    cd policies-wasm && cargo build --release --target wasm32-wasip2 --target-dir ../target/wasm

# Measure (a) parse, (b) warm check, (c) cold check, start-up and (d) per evaluation (rewrites BENCHMARKS.md), then issue 12's start-up, per-file, memory and pack figures.
bench:
    cargo bench -p gate --features bench-peer --bench engine -- --write
    cargo build --release -p gate
    integration/bench/perf.sh

# The same rule through gate and each peer on PATH (regorus, conftest, kyverno, checkov, kwctl), once per file over 199 files.
bench-peers:
    cargo build --release -p gate
    integration/bench/peers.sh

# Fuzz the manifest loader and the tape reader, SECONDS each (cargo-fuzz on stable, niced).
fuzz seconds="300":
    integration/fuzz/run.sh {{seconds}}

# Time `gate argocd generate` against `gate check` on the largest corpus folder (warm and cold cache); rewrite its BENCHMARKS.md section.
bench-argocd:
    cargo bench -p gate --bench argocd -- --write

# Load the admission webhook (release `gate serve`, aks-restricted, TLS, keep-alive) at 100, 500
# and 1,000 req/s and at saturation (wrk); rewrite its section of BENCHMARKS.md.
loadtest:
    cargo bench -p gate --bench webhook_load -- --write

# Time from a new source revision to a published artifact (the flux section of BENCHMARKS.md).
bench-flux:
    cargo bench -p gate --bench flux -- --write

# Accept changed output snapshots after reviewing them.
snapshots:
    INSTA_UPDATE=always cargo test -p gate --test outputs

# Everything CI runs.
ci:
    .ci/run

# Render the HTML report of the outputs fixture and screenshot it in headless Chromium (the README's picture).
html-screenshot:
    cargo run -q -p gate -- check --bundle integration/fixtures/outputs/bundle.yaml --now 2026-11-28T12:00:00Z -f html -o target/report.html integration/fixtures/outputs/manifests || true
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars --user-data-dir=target/chromium-profile --window-size=1280,1500 --screenshot=integration/fixtures/evidence/html-report.png "file://$PWD/target/report.html"
