#!/usr/bin/env bash
# Makes a private CA and certificates signed by it, for fsched's TLS (tls: in
# the config; the Helm chart's tls.existingSecret).
#   scripts/gen-certs.sh DIR                     the CA only (DIR/ca.crt, ca.key), if missing
#   scripts/gen-certs.sh DIR NAME [SAN ...]      also DIR/NAME.crt and NAME.key
# Each certificate is valid for 127.0.0.1, localhost, NAME and every SAN given
# (DNS names, or IP:a.b.c.d), for server and client use (mutual TLS). An
# existing CA is reused, so all certificates made into DIR trust each other.
set -euo pipefail
dir=${1:?usage: gen-certs.sh DIR [NAME [SAN...]]}
shift
mkdir -p "$dir"
days=${FSCHED_CERT_DAYS:-825}
if [ ! -f "$dir/ca.crt" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$days" \
    -subj "/CN=fsched-ca" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
fi
[ $# -eq 0 ] && exit 0
name=$1
shift
sans="IP:127.0.0.1,DNS:localhost,DNS:$name"
for san in "$@"; do
  case "$san" in
    IP:*|DNS:*) sans="$sans,$san" ;;
    *) sans="$sans,DNS:$san" ;;
  esac
done
ext=$(mktemp)
trap 'rm -f "$ext" "$dir/$name.csr"' EXIT
printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$sans" >"$ext"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$name" \
  -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
  -days "$days" -extfile "$ext" -out "$dir/$name.crt" 2>/dev/null
chmod 600 "$dir/$name.key" "$dir/ca.key"
echo "$dir/$name.crt"
