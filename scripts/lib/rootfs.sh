# Sourced by scripts: a minimal root filesystem for runc functions, from
# Debian's busybox-static (scripts/setup.sh installs it).
#   make_busybox_rootfs DIR
make_busybox_rootfs() {
  local dir=$1
  rm -rf "$dir"
  mkdir -p "$dir/bin" "$dir/proc" "$dir/dev" "$dir/sys" "$dir/tmp"
  chmod 1777 "$dir/tmp"  # runc gives the /tmp tmpfs this mode
  cp /bin/busybox "$dir/bin/busybox"
  local applet
  for applet in $("$dir/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$dir/bin/$applet"
  done
}
