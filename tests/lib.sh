# Shared by the shell tests (source it after `set -euo pipefail`): a scratch folder $work removed
# on exit, background processes listed in $pids killed on exit, and an optional extra_cleanup
# function the sourcing script may define (run before $work is removed).
work=$(mktemp -d)
pids=()
phaze_test_cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  if declare -F extra_cleanup > /dev/null; then extra_cleanup; fi
  rm -rf "$work"
}
trap phaze_test_cleanup EXIT

# wait_for_line FILE PREFIX: waits up to 5 s for a line of FILE starting with PREFIX and prints the
# rest of it ("listening on " -> HOST:PORT). Fails, showing FILE, if none comes.
wait_for_line() {
  for _ in $(seq 100); do
    if grep -q "^$2" "$1" 2>/dev/null; then
      sed -n "s/^$2//p" "$1" | head -1
      return 0
    fi
    sleep 0.05
  done
  echo "no line starting with '$2' in $1:" >&2
  cat "$1" >&2 || true
  return 1
}
