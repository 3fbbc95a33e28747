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
  libgtest-dev libgmock-dev libbenchmark-dev openssh-client openssl curl python3 python3-requests wrk nginx-light
  systemd  # systemd-analyze verify (deploy/pie-gateway.service)
  python3-grpcio python3-grpc-tools  # the gRPC API's Python test (stubs generated at test time)
  chromium nodejs  # the /ui browser test (headless Chromium driven by playwright-core from npm), the npm Pie client test
  clang-14 libclang-rt-14-dev  # the libFuzzer targets (fuzz/, PG_FUZZ): -fsanitize=fuzzer,address,undefined
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The browser test's npm packages (tests/browser/package-lock.json), installed once per lock file.
# Debian's npm only when the installed Node.js does not bring its own (NodeSource's conflicts with it).
if ! command -v npm >/dev/null; then
  $SUDO apt-get install -y -qq --no-install-recommends npm
fi
browser_dir="$(dirname "$0")/../tests/browser"
if ! cmp -s "$browser_dir/package-lock.json" "$browser_dir/node_modules/.pg-installed-lock"; then
  echo "install-deps: npm ci in tests/browser (playwright-core; no browser download)"
  (cd "$browser_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  cp "$browser_dir/package-lock.json" "$browser_dir/node_modules/.pg-installed-lock"
fi

# The official Pie npm client against pie-sim's 0.5 mode (tests/pie-client-js/package-lock.json:
# @pie-project/client 0.5.2 and ws), installed once per lock file.
client_js_dir="$(dirname "$0")/../tests/pie-client-js"
if ! cmp -s "$client_js_dir/package-lock.json" "$client_js_dir/node_modules/.pg-installed-lock"; then
  echo "install-deps: npm ci in tests/pie-client-js (@pie-project/client, ws)"
  (cd "$client_js_dir" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$client_js_dir/package-lock.json" "$client_js_dir/node_modules/.pg-installed-lock"
fi
