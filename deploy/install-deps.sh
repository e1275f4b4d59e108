#!/usr/bin/env bash
# Installs every build and test dependency of Phaze from Debian 12 (bookworm) packages.
# Idempotent: packages already present are left alone. Run as root (or with sudo available).
#
#   deploy/install-deps.sh            # build + test dependencies
#   deploy/install-deps.sh --build    # only what compiling the binaries needs (image build stage)
#   deploy/install-deps.sh --runtime  # only the shared libraries the binaries need (container image)
set -euo pipefail

# What compiling the three binaries needs (the container image's build stage: --build).
COMPILE_PKGS=(
  cmake ninja-build g++ pkg-config git ca-certificates
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  coinor-libcbc-dev libabsl-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libsqlite3-dev sqlite3
)
# ... and what the tests use besides: the Python client, Prometheus rules, the browser, the
# fuzzers (clang) and the container test (podman, debootstrap).
BUILD_PKGS=(
  "${COMPILE_PKGS[@]}"
  python3 python3-grpcio python3-grpc-tools python3-venv python3-pip python3-setuptools
  prometheus curl yamllint openssl iproute2 chromium
  clang libclang-rt-14-dev
  podman debootstrap
)
RUNTIME_PKGS=(
  libgrpc++1.51 libprotobuf32 coinor-libcbc3 libabsl20220623 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0
  libyaml-cpp0.7 libsqlite3-0 ca-certificates coinor-libclp1 coinor-libcgl1 coinor-libosi1v5 coinor-libcoinutils3v5
)

pkgs=("${BUILD_PKGS[@]}")
case "${1:-}" in
  --runtime) pkgs=("${RUNTIME_PKGS[@]}") ;;
  --build) pkgs=("${COMPILE_PKGS[@]}") ;;
  "") ;;
  *) echo "install-deps: unknown option '$1' (use --build, --runtime or nothing)" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#pkgs[@]} packages already installed"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
