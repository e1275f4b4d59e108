#!/usr/bin/env bash
# Installs the Python client (proto/python) the way the README says, into a fresh virtual
# environment that uses Debian's system packages (grpcio, protobuf, grpc-tools; no package
# index), then runs client_test.py (or the script named fourth, e.g. hostile_test.py) with it
# against real binaries.
#   tests/python/client_test.sh SOURCE_DIR COORDINATOR_BIN WORKER_BIN [SCRIPT]
set -euo pipefail
src=$1 coordinator=$2 worker=$3 script=${4:-client_test.py}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 -m venv --system-site-packages "$work/venv"
# pip builds in the package folder itself (in-tree), so setup.py finds the protos in ../phaze/v1.
# It builds in a private copy: the client and hostile tests run at once, and two in-tree builds
# of one folder race (seen: the client test failing after 5 s under `ctest -j2`).
cp -r "$src/proto" "$work/proto"
rm -rf "$work/proto/python/build" "$work/proto/python/phaze_client.egg-info"
"$work/venv/bin/pip" install --quiet --no-build-isolation --no-deps --no-index "$work/proto/python"
"$work/venv/bin/python" -c 'import phaze_client, phaze.v1.service_pb2; print("installed", phaze_client.__file__)'
cd "$work"  # not the source tree: import the installed package
"$work/venv/bin/python" "$src/tests/python/$script" "$coordinator" "$worker"
