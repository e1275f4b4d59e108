#!/usr/bin/env bash
# Checks deploy/ offline with promtool, and runs a real Prometheus (Debian's) on loopback against
# a coordinator and a worker running a small job: targets up, candidates counter risen.
#   tests/deploy_test.sh SOURCE_DIR COORDINATOR_BIN WORKER_BIN PHAZE_BIN
set -euo pipefail
export PHAZE_TOKEN=${PHAZE_TOKEN:-local-test-token}
export PHAZE_WORKER_TOKEN=${PHAZE_WORKER_TOKEN:-local-worker-token}
src=$1 coordinator=$2 worker=$3 phaze=$4
source "$(dirname "$0")/lib.sh"

echo "== promtool: config, rules, rule unit tests"
promtool check config "$src/deploy/prometheus/prometheus.yml"
promtool check rules "$src/deploy/prometheus/rules.yml"
(cd "$src/deploy/prometheus" && promtool test rules rules_test.yml)

echo "== dashboard: every panel query parses, every metric it names exists"
/usr/bin/python3 - "$src" "$work/dash_rules.yml" <<'PY'
import json, re, sys, pathlib
src, out = sys.argv[1], sys.argv[2]
dash = json.load(open(f"{src}/deploy/grafana/phaze-dashboard.json"))
exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
assert exprs, "no queries"
code = "".join(p.read_text() for d in ("coordinator", "worker") for p in pathlib.Path(src, d).glob("*.cc"))
for e in exprs:
    for name in re.findall(r"phaze_[a-z_]+", e):
        base = re.sub(r"_(bucket|count|sum)$", "", name)
        assert f'"{base}"' in code, f"dashboard uses {name}, which no code defines"
with open(out, "w") as f:
    f.write("groups:\n- name: dashboard\n  rules:\n")
    for i, e in enumerate(exprs):
        f.write(f"  - record: dashboard:expr{i}\n    expr: {json.dumps(e)}\n")
print(f"{len(exprs)} dashboard queries")
PY
promtool check rules "$work/dash_rules.yml"

echo "== a real Prometheus against a coordinator and a worker"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cport=$(free_port); wport=$(free_port); pport=$(free_port)
"$coordinator" --listen 127.0.0.1:0 --database :memory: --metrics-listen "127.0.0.1:$cport" > "$work/c.log" &
pids+=($!)
addr=$(wait_for_line "$work/c.log" "listening on ")
"$worker" --coordinator "$addr" --threads 1 --metrics-listen "127.0.0.1:$wport" > "$work/w.log" &
pids+=($!)
cat > "$work/prometheus.yml" <<YML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: phaze-coordinator
    static_configs: [{targets: ["127.0.0.1:$cport"]}]
  - job_name: phaze-worker
    static_configs: [{targets: ["127.0.0.1:$wport"]}]
YML
prometheus --config.file="$work/prometheus.yml" --web.listen-address="127.0.0.1:$pport" \
  --storage.tsdb.path="$work/tsdb" > "$work/prometheus.log" 2>&1 &
pids+=($!)
"$phaze" submit "$src/tests/data/tiny-job.yaml" --coordinator "$addr" --watch
echo "== promtool check metrics on both expositions"
curl -sf "http://127.0.0.1:$cport/metrics" | promtool check metrics
curl -sf "http://127.0.0.1:$wport/metrics" | promtool check metrics
ok=0
for _ in $(seq 60); do
  targets=$(curl -sf "http://127.0.0.1:$pport/api/v1/targets" || true)
  value=$(curl -sf "http://127.0.0.1:$pport/api/v1/query?query=sum(phaze_coordinator_candidates_total)" || true)
  if /usr/bin/python3 - "$targets" "$value" <<'PY'
import json, sys
t, v = json.loads(sys.argv[1] or "{}"), json.loads(sys.argv[2] or "{}")
active = t.get("data", {}).get("activeTargets", [])
up = len(active) == 2 and all(a["health"] == "up" for a in active)
res = v.get("data", {}).get("result", [])
rose = bool(res) and float(res[0]["value"][1]) > 0
print(f"targets up: {up} ({len(active)}), candidates counter: {res[0]['value'][1] if res else 'none'}")
sys.exit(0 if up and rose else 1)
PY
  then ok=1; break; fi
  sleep 1
done
[ "$ok" = 1 ] || { echo "Prometheus did not see both targets up with the counter risen"; cat "$work/prometheus.log" | tail -20; exit 1; }
echo "deploy test: OK"
