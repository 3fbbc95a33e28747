#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and benchmarking pie-gateway needs.
# Idempotent: installs only what is missing, so it is cheap to run before every build.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkgconf git
  libboost-dev libmsgpack-cxx-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  prometheus-cpp-dev libyaml-cpp-dev libspdlog-dev libssl-dev libsystemd-dev nlohmann-json3-dev
  libcli11-dev libtomlplusplus-dev librust-blake3-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev openssh-client curl python3 python3-requests wrk nginx-light
  systemd  # systemd-analyze verify (deploy/pie-gateway.service)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
