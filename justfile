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

# Measure (a) parse, (b) warm check, (c) cold check, start-up and (d) per evaluation; rewrite BENCHMARKS.md.
bench:
    cargo bench -p gate --features bench-peer --bench engine -- --write

# Time from a new source revision to a published artifact (the flux section of BENCHMARKS.md).
bench-flux:
    cargo bench -p gate --bench flux -- --write

# Accept changed output snapshots after reviewing them.
snapshots:
    INSTA_UPDATE=always cargo test -p gate --test outputs

# Everything CI runs.
ci:
    .ci/run
