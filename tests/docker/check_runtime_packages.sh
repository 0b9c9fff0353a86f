#!/usr/bin/env bash
# Checks docker/Dockerfile without a Docker engine: every Debian package its
# runtime stages install exists in Debian 12, and every shared library the
# built binaries load comes from a package those stages install (or from the
# base image's own packages). Usage: check_runtime_packages.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: check_runtime_packages.sh BUILD_DIR}
root="$(cd "$(dirname "$0")/../.." && pwd)"
dockerfile="$root/docker/Dockerfile"

# Packages installed by the runtime stages (everything after the build stage).
runtime_packages=$(awk '/^FROM .* AS runtime/{on=1} on' "$dockerfile" |
  sed -n '/apt-get install/,/rm -rf/p' | tr ' \\' '\n\n' |
  grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vE '^(apt-get|install|rm|y|no|DEBIAN_FRONTEND)$' | sort -u)
# What debian:12-slim already has: its essential and required packages.
base_packages="libc6 libstdc++6 libgcc-s1 zlib1g libzstd1 liblzma5 libbz2-1.0 libsystemd0 libselinux1 libpcre2-8-0 libcap2 libgcrypt20 libgpg-error0 liblz4-1"

status=0
for pkg in $runtime_packages; do
  if ! apt-cache show "$pkg" >/dev/null 2>&1; then
    echo "FAIL: the Dockerfile installs '$pkg', which Debian 12 does not have"
    status=1
  fi
done

# A package the runtime stages install directly, or one they pull in.
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
  --no-breaks --no-replaces --no-enhances $runtime_packages 2>/dev/null |
  grep -E '^[a-z0-9]' | sort -u)
# Library -> owning package, one dpkg query for all of them.
declare -A loaded_by
for bin in master/fsched-master worker/fsched-worker worker/fsched-shim tools/fschedctl; do
  [ -x "$build/$bin" ] || { echo "FAIL: $build/$bin is not built"; status=1; continue; }
  for lib in $(ldd "$build/$bin" 2>/dev/null | awk '$3 ~ /^\// {print $3}'); do
    loaded_by[$lib]+="$bin "
  done
done
# dpkg records a library under /lib or /usr/lib (merged /usr): ask for the
# path ldd gave, the resolved file, and both spellings of each.
paths=()
for lib in "${!loaded_by[@]}"; do
  for p in "$lib" "$(readlink -f "$lib")"; do paths+=("$p" "${p#/usr}" "/usr${p#/usr}"); done
done
declare -A owner  # path without a leading /usr -> package
while IFS= read -r line; do
  path=${line#*: }
  owner[${path#/usr}]=${line%%:*}
done < <(dpkg -S "${paths[@]}" 2>/dev/null || true)
for lib in "${!loaded_by[@]}"; do
  real=$(readlink -f "$lib")
  pkg=${owner[${lib#/usr}]:-${owner[${real#/usr}]:-}}
  if [ -z "$pkg" ]; then
    echo "FAIL: ${loaded_by[$lib]}load $lib, which no Debian package owns"
    status=1
  elif ! grep -qx "$pkg" <<<"$closure" && ! grep -qw "$pkg" <<<"$base_packages"; then
    echo "FAIL: ${loaded_by[$lib]}load $lib from package $pkg, which the runtime image does not install"
    status=1
  fi
done
for tool in runc ctr; do
  owner=$(dpkg -S "$(command -v $tool)" 2>/dev/null | cut -d: -f1 || true)
  if [ -n "$owner" ] && ! grep -qx "$owner" <<<"$closure"; then
    echo "FAIL: the worker runs $tool (package $owner), which the worker image does not install"
    status=1
  fi
done
[ $status -eq 0 ] && echo "ok: the runtime images carry every library and tool the binaries use"
exit $status
