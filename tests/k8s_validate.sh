#!/usr/bin/env bash
# Offline checks of deploy/k8s: yamllint, kubectl kustomize of each overlay (when kubectl exists),
# and a schema check of every rendered object (kubernetes-models@4 + js-yaml on Node 20, installed
# from the npm registry into NODE_DIR). Also proves the check fails on a broken manifest.
#   tests/k8s_validate.sh SOURCE_DIR NODE_DIR
set -euo pipefail
src=$1 node_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== yamllint"
yamllint -d '{extends: relaxed, rules: {line-length: {max: 120}}}' "$src/deploy/k8s" "$src/deploy/prometheus"

if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  echo "node/npm not found: schema check skipped"
  exit 77
fi
if [ ! -d "$node_dir/node_modules/kubernetes-models" ]; then
  mkdir -p "$node_dir"
  for attempt in 1 2 3; do
    npm install --silent --no-audit --no-fund --prefix "$node_dir" kubernetes-models@4 js-yaml@4 && break
    sleep 5
  done
fi
export NODE_PATH="$node_dir/node_modules"

if ! command -v kubectl > /dev/null; then
  echo "kubectl not found: schema check of the base manifests only"
fi
# Render from a copy with a throwaway token (the real one is created by the operator, never
# committed).
cp -r "$src/deploy/k8s" "$work/k8s"
head -c 24 /dev/urandom | base64 > "$work/k8s/base/api-token.txt"
head -c 24 /dev/urandom | base64 > "$work/k8s/base/worker-token.txt"
for overlay in small large; do
  echo "== overlay $overlay"
  if command -v kubectl > /dev/null; then
    kubectl kustomize "$work/k8s/overlays/$overlay" > "$work/$overlay.yaml"
    grep -q "name: phaze-api-token-" "$work/$overlay.yaml"
  else
    cat "$src"/deploy/k8s/base/{coordinator,worker,network-policy,submit-job}.yaml > "$work/$overlay.yaml"
  fi
  node "$src/tests/k8s/validate.js" "$work/$overlay.yaml"
done

echo "== a broken manifest must fail"
sed 's/replicas: 1$/replicas: "one"/' "$work/small.yaml" > "$work/broken.yaml"
grep -q 'replicas: "one"' "$work/broken.yaml"
if node "$src/tests/k8s/validate.js" "$work/broken.yaml" > "$work/broken.log" 2>&1; then
  echo "the validator accepted replicas: \"one\""; exit 1
fi
grep FAIL "$work/broken.log"
echo "k8s validation: OK"
