#!/usr/bin/env bash
# The include graph keeps the layers: fails (naming the file and the include) if
#  - a common/ folder includes a folder of a higher layer (the order below; tests may use the
#    layers above them for their fixtures, so *_test.cc files are exempt from this rule only),
#  - a core file (common/ outside common/rpc/) includes coordinator/, worker/, common/rpc/, gRPC
#    or Prometheus headers,
#  - worker/ includes coordinator/,
#  - coordinator/ outside coordinator/cli/ includes worker/.
#
#   tests/check_layers.sh [SOURCE_DIR]
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
layers=(base workload arch net cost sched place eval search job report experiments)
declare -A rank
for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done

bad=0
fail() { echo "check_layers: $1"; bad=1; }

while IFS= read -r file; do
  folder=${file#common/}; folder=${folder%%/*}
  while IFS= read -r inc; do
    target=${inc#\"}; target=${target%\"}
    case "$target" in
      coordinator/*|worker/*|common/rpc/*|grpcpp/*|grpc/*|prometheus/*|*.grpc.pb.h|phaze/v1/*)
        [[ $folder == rpc ]] || fail "$file includes $target: the core may not use the shells"
        continue ;;
    esac
    [[ $folder == rpc ]] && continue
    if [[ $target == common/* ]]; then
      to=${target#common/}; to=${to%%/*}
      [[ -n ${rank[$to]+x} ]] || { fail "$file includes $target: not a layer"; continue; }
      if (( ${rank[$to]} > ${rank[$folder]} )) && [[ $file != *_test.cc ]]; then
        fail "$file includes $target: $folder may not use the higher layer $to"
      fi
    fi
  done < <(grep -ho '^#include "[^"]*"' "$file" | sed 's/^#include //')
done < <(find common -name '*.h' -o -name '*.cc')

while IFS= read -r file; do
  if grep -q '^#include "coordinator/' "$file"; then
    fail "$file includes coordinator/: the worker never uses the coordinator"
  fi
done < <(find worker -name '*.h' -o -name '*.cc')

while IFS= read -r file; do
  if grep -q '^#include "worker/' "$file"; then
    fail "$file includes worker/: only coordinator/cli/ uses both services"
  fi
done < <(find coordinator -name '*.h' -o -name '*.cc' | grep -v '^coordinator/cli/')

if [[ $bad == 0 ]]; then echo "check_layers: ok ($(find common worker coordinator -name '*.h' -o -name '*.cc' | wc -l) files)"; fi
exit $bad
