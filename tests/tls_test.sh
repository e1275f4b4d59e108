#!/usr/bin/env bash
# TLS and mutual TLS between real binaries on loopback, with a throw-away CA made by openssl:
# a worker and the client verbs reach a coordinator that requires client certificates; a client
# without a certificate, with one from another CA, or in plaintext is refused, and creates nothing.
#   tests/tls_test.sh SOURCE_DIR COORDINATOR_BIN WORKER_BIN PHAZE_BIN
set -euo pipefail
export PHAZE_TOKEN=tls-test-token
export PHAZE_WORKER_TOKEN=tls-test-token-worker
src=$1 coordinator=$2 worker=$3 phaze=$4
source "$(dirname "$0")/lib.sh"
cd "$work"

echo "== a CA, a server certificate for localhost/127.0.0.1, client certificates from two CAs"
ca() {  # ca NAME
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" -keyout "$1.key" -out "$1.pem" \
    2>/dev/null
}
leaf() {  # leaf NAME CA EXT
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}
ca ca
ca rogue-ca
leaf server ca "subjectAltName=DNS:localhost,IP:127.0.0.1"
leaf client ca "extendedKeyUsage=clientAuth"
leaf rogue rogue-ca "extendedKeyUsage=clientAuth"

echo "== flags that do not fit together are refused"
if "$coordinator" --tls-cert server.pem --listen 127.0.0.1:0 2> err.txt; then
  echo "FAIL: --tls-cert without --tls-key was accepted"; exit 1
fi
grep -q -- "--tls-cert and --tls-key must be given together" err.txt
if "$phaze" jobs --coordinator 127.0.0.1:1 --tls-ca missing.pem 2> err.txt; then
  echo "FAIL: a missing --tls-ca file was accepted"; exit 1
fi
grep -q -- "--tls-ca: cannot open missing.pem" err.txt

"$coordinator" --listen 127.0.0.1:0 --database "$work/phaze.db" --tls-cert server.pem \
  --tls-key server.key --tls-client-ca ca.pem > c.log 2>&1 &
pids+=($!)
addr=$(wait_for_line c.log "listening on ")
mtls=(--coordinator "$addr" --tls-ca ca.pem --tls-cert client.pem --tls-key client.key)

echo "== refused: plaintext, TLS without a client certificate, a certificate from another CA"
refused() {
  if "$phaze" submit "$src/tests/data/tiny-job.yaml" "$@" > out.txt 2>&1; then
    echo "FAIL: accepted: $*"; cat out.txt; exit 1
  fi
  grep -qi "unavailable" out.txt || {
    echo "FAIL: unexpected error for $*"; cat out.txt; exit 1; }
}
refused --coordinator "$addr"
refused --coordinator "$addr" --tls-ca ca.pem
refused --coordinator "$addr" --tls-ca ca.pem --tls-cert rogue.pem --tls-key rogue.key
"$phaze" jobs "${mtls[@]}" | grep -q "no jobs"

echo "== a worker and a watched job over mutual TLS"
"$worker" --coordinator "$addr" --threads 1 --tls-ca ca.pem --tls-cert client.pem \
  --tls-key client.key > w.log 2>&1 &
pids+=($!)
"$phaze" submit "$src/tests/data/tiny-job.yaml" "${mtls[@]}" --watch | tee watch.txt
grep -q "succeeded" watch.txt
"$phaze" jobs "${mtls[@]}" > jobs.txt
cat jobs.txt
[[ $(grep -c "^job-" jobs.txt) -eq 1 ]] || { echo "FAIL: expected exactly one job"; exit 1; }
/usr/bin/python3 - jobs.txt <<'PY'
import re, sys
line = open(sys.argv[1]).read()
done, total = map(int, re.search(r"(\d+)/(\d+) candidates", line).groups())
assert done == total > 0, line
print(f"ok: {done}/{total} candidates over mutual TLS")
PY
