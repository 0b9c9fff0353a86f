# Sourced by scripts: a containerd daemon of the script's own (socket, root
# and state under DIR; stopped when the script exits), and an OCI image made
# from a local root filesystem, so no registry is needed.
#   start_containerd DIR            sets CONTAINERD_ADDRESS
#   import_rootfs_image ROOTFS NAME imports into namespace "fsched"
CONTAINERD_PID=
stop_containerd() {
  [ -n "$CONTAINERD_PID" ] || return 0
  kill "$CONTAINERD_PID" 2>/dev/null || true
  wait "$CONTAINERD_PID" 2>/dev/null || true
  CONTAINERD_PID=
}

# After the cluster (whose workers remove their containers), if there is one.
trap 'declare -F stop_cluster >/dev/null && stop_cluster; stop_containerd' EXIT

start_containerd() {
  local dir
  dir=$(realpath -m "$1")
  rm -rf "$dir"
  mkdir -p "$dir"
  cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
TOML
  containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
  CONTAINERD_PID=$!
  CONTAINERD_ADDRESS=$dir/containerd.sock
  CONTAINERD_DIR=$dir
  for _ in $(seq 1 200); do
    ctr --address "$CONTAINERD_ADDRESS" version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "containerd: did not come up; see $dir/containerd.log" >&2
  return 1
}

_blob() {  # layout file -> prints "sha256:<hex> <size>", moving the file into blobs/
  local hex size
  hex=$(sha256sum "$2" | cut -d' ' -f1)
  size=$(stat -c %s "$2")
  mv "$2" "$1/blobs/sha256/$hex"
  echo "sha256:$hex $size"
}

import_rootfs_image() {
  local rootfs=$1 name=$2 layout=$CONTAINERD_DIR/image arch
  case "$(uname -m)" in aarch64) arch=arm64 ;; *) arch=amd64 ;; esac
  rm -rf "$layout"
  mkdir -p "$layout/blobs/sha256"
  tar -C "$rootfs" -cf "$layout/layer.tar" .
  local layer layer_size config config_size manifest manifest_size
  read -r layer layer_size < <(_blob "$layout" "$layout/layer.tar")
  printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
    "$arch" "$layer" >"$layout/config.json"
  read -r config config_size < <(_blob "$layout" "$layout/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" >"$layout/manifest.json"
  read -r manifest manifest_size < <(_blob "$layout" "$layout/manifest.json")
  printf '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"io.containerd.image.name":"%s"}}]}' \
    "$manifest" "$manifest_size" "$name" >"$layout/index.json"
  tar -C "$layout" -cf "$CONTAINERD_DIR/image.tar" .
  ctr --address "$CONTAINERD_ADDRESS" --namespace fsched images import "$CONTAINERD_DIR/image.tar" >/dev/null
}
