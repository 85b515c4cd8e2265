#!/usr/bin/env bash
# Writes into DIR what the benchmarks share: one.yaml (a small Deployment),
# gen199/ (199 generated Deployments, a third privileged, half from a registry
# outside ACR), nothing.yaml (a bundle whose one policy targets nothing in the
# corpus) and all.yaml (every built-in policy, in audit mode).
set -euo pipefail
dir=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$dir/gen199"
deployment() { # name namespace image privileged
    cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: $1, namespace: $2}
spec:
  replicas: 2
  selector: {matchLabels: {app: $1}}
  template:
    metadata: {labels: {app: $1}}
    spec:
      containers:
      - name: main
        image: $3
        securityContext: {privileged: $4}
YAML
}
deployment web shop nginx:1.27 true >"$dir/one.yaml"
for i in $(seq 1 199); do
    privileged=false; [ $((i % 3)) = 0 ] && privileged=true
    image=docker.io/library/nginx:1.$i; [ $((i % 2)) = 0 ] && image=acr$i.azurecr.io/app:1.$i
    deployment "app-$i" "team-$((i % 7))" "$image" "$privileged" >"$dir/gen199/d$i.yaml"
done
bundle() { printf 'apiVersion: gate.dev/v1alpha1\nkind: Bundle\nmetadata: {name: %s}\nspec:\n  policies:\n' "$1"; }
{ bundle nothing; printf '  - module: builtin:flux-source-through-gate\n    mode: audit\n'; } >"$dir/nothing.yaml"
{
    bundle all
    for crate in "$root"/policies-wasm/*/cases; do
        printf '  - module: builtin:%s\n    mode: audit\n' "$(basename "$(dirname "$crate")")"
    done
} >"$dir/all.yaml"
