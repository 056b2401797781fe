#!/usr/bin/env bash
# Make rootful podman usable for the CWL v1.2 conformance suite on Debian 12.
#
# Runs as root; idempotent (a second run skips everything that is already in
# place). Needs only Debian's package mirror (the one apt is configured for):
# container images cannot be pulled, so stand-ins are built with debootstrap
# and imported under the names the suite uses:
#   docker.io/library/debian:stable-slim  debootstrap --variant=minbase
#   docker.io/library/alpine:latest       tag of the debian image (stand-in)
#   docker.io/library/python:3-slim       debian + python3 + /usr/bin/python
#   docker.io/library/bash:4.4            debian (bash 5.2) + entrypoint that
#                                         prepends "bash" for "-c ..." args
# Why the config: the test machine lacks CAP_SYS_RESOURCE (podman's default
# ulimits are refused) and has hybrid cgroups (crun refuses; runc works).
# See shared/research/conformance.md section 4.
#
# No --userns=keep-id shim is installed: the runner handles that itself.
#
# Env: DEBIAN_MIRROR overrides the mirror used by debootstrap (default: the
# one apt uses for the current release, else http://deb.debian.org/debian).
set -euo pipefail

START=$(date +%s)
log() { printf 'setup-podman: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"

IMG_DEBIAN=docker.io/library/debian:stable-slim
IMG_ALPINE=docker.io/library/alpine:latest
IMG_PYTHON=docker.io/library/python:3-slim
IMG_BASH=docker.io/library/bash:4.4

# --- scratch dir + cleanup (runs on every exit path) -------------------------
SCRATCH=""
MOUNTS=()
EXPORT_CTR=""
cleanup() {
  local rc=$? m
  for m in "${MOUNTS[@]+"${MOUNTS[@]}"}"; do
    if mountpoint -q "$m" 2>/dev/null; then
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "WARNING: could not unmount $m"
    fi
  done
  if [ -n "$EXPORT_CTR" ]; then podman rm -f "$EXPORT_CTR" >/dev/null 2>&1 || true; fi
  if [ -n "$SCRATCH" ] && [ -d "$SCRATCH" ]; then
    # --one-file-system: never descend into anything still mounted
    rm -rf --one-file-system "$SCRATCH" 2>/dev/null || log "WARNING: could not remove $SCRATCH"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
scratch() {
  if [ -z "$SCRATCH" ]; then
    SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/setup-podman.XXXXXX")
  fi
}

# --- 1. packages -------------------------------------------------------------
PKGS=(podman runc debootstrap)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  scratch
  apt-get update -qq >"$SCRATCH/apt.log" 2>&1 \
    || { tail -n 30 "$SCRATCH/apt.log" >&2; die "apt-get update failed"; }
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$SCRATCH/apt.log" 2>&1; then
    log "install without recommends failed; retrying with recommends"
    apt-get install -y -qq "${missing[@]}" >>"$SCRATCH/apt.log" 2>&1 \
      || { tail -n 30 "$SCRATCH/apt.log" >&2; die "apt-get install failed"; }
  fi
else
  log "packages already installed: ${PKGS[*]}"
fi

# --- 2. containers.conf ------------------------------------------------------
CONF=/etc/containers/containers.conf
WANT='# Written by ci/setup-podman.sh.
# crun refuses hybrid cgroups here; runc works. Default ulimits must stay below
# the hard limits because CAP_SYS_RESOURCE is not available.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=30000:30000"]

[engine]
runtime = "runc"'
if [ -f "$CONF" ] && [ "$(cat "$CONF")" = "$WANT" ]; then
  log "$CONF already up to date"
else
  log "writing $CONF"
  mkdir -p /etc/containers
  [ -f "$CONF" ] && cp -p "$CONF" "$CONF.bak"
  printf '%s\n' "$WANT" > "$CONF.tmp"
  mv "$CONF.tmp" "$CONF"
fi

podman info >/dev/null 2>&1 || { podman info >&2 || true; die "podman info failed"; }

# --- 3. images ---------------------------------------------------------------
have() { podman image exists "$1"; }

debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local codename uri=""
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  local files=()
  [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  if [ "${#files[@]}" -gt 0 ]; then
    # one-line format: deb [opts] URI SUITE COMPONENTS...
    uri=$(awk -v s="$codename" '
      $1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                    if ($(i+1) == s) { print $i; exit } }' "${files[@]}" 2>/dev/null || true)
    if [ -z "$uri" ]; then
      # deb822 format: stanzas separated by blank lines
      uri=$(awk -v s="$codename" '
        function flush() { if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " s " ") && uris != "") { split(uris, u, " "); print u[1]; found = 1; exit } types = suites = uris = "" }
        /^[ \t]*$/ { flush(); next }
        /^[ \t]*#/ { next }
        tolower($1) == "types:"  { $1 = ""; types = $0 }
        tolower($1) == "suites:" { $1 = ""; suites = $0 }
        tolower($1) == "uris:"   { $1 = ""; uris = $0 }
        END { if (!found) flush() }' "${files[@]}" 2>/dev/null || true)
      uri=$(echo "$uri" | tr -d ' ')
    fi
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

# A rootfs of the debian stand-in in $SCRATCH/rootfs-debian, built once per run.
ROOTFS=""
debian_rootfs() {
  [ -n "$ROOTFS" ] && return
  scratch
  ROOTFS=$SCRATCH/rootfs-debian
  if have "$IMG_DEBIAN"; then
    log "exporting $IMG_DEBIAN as base rootfs"
    mkdir -p "$ROOTFS"
    EXPORT_CTR=$(podman create "$IMG_DEBIAN" true)
    podman export "$EXPORT_CTR" | tar -C "$ROOTFS" --numeric-owner -xf -
    podman rm -f "$EXPORT_CTR" >/dev/null
    EXPORT_CTR=""
  else
    local mirror codename
    mirror=$(debian_mirror)
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    log "debootstrap $codename from $mirror"
    debootstrap --variant=minbase "$codename" "$ROOTFS" "$mirror" >"$SCRATCH/debootstrap.log" 2>&1 \
      || { tail -n 30 "$SCRATCH/debootstrap.log" >&2; die "debootstrap failed"; }
    # keep image small: drop apt lists/caches fetched during bootstrap
    rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
  fi
}

# copy of the base rootfs for a derived image; sets $d (no $(...): keeps set -e)
derived_rootfs() {  # $1 = name
  d=$SCRATCH/rootfs-$1
  rm -rf --one-file-system "$d"
  cp -a "$ROOTFS" "$d"
}

import_rootfs() {  # $1 = dir, $2 = image, rest = podman import args
  local dir=$1 img=$2; shift 2
  log "importing $img"
  tar -C "$dir" --numeric-owner -cf - . | podman import -q "$@" - "$img" >/dev/null
}

if have "$IMG_DEBIAN"; then
  log "image $IMG_DEBIAN exists, skipping"
else
  debian_rootfs
  import_rootfs "$ROOTFS" "$IMG_DEBIAN" --change 'CMD ["bash"]'
fi

if have "$IMG_ALPINE"; then
  log "image $IMG_ALPINE exists, skipping"
else
  log "tagging $IMG_DEBIAN as $IMG_ALPINE (stand-in)"
  podman tag "$IMG_DEBIAN" "$IMG_ALPINE"
fi

if have "$IMG_PYTHON"; then
  log "image $IMG_PYTHON exists, skipping"
else
  debian_rootfs
  derived_rootfs python
  log "installing python3 in chroot"
  resolv_backup=""
  if [ -e "$d/etc/resolv.conf" ] || [ -L "$d/etc/resolv.conf" ]; then
    resolv_backup=$SCRATCH/resolv.conf.orig
    cp -a "$d/etc/resolv.conf" "$resolv_backup"
  fi
  rm -f "$d/etc/resolv.conf"
  cp /etc/resolv.conf "$d/etc/resolv.conf"
  [ -e "$d/dev/null" ] || mknod -m 666 "$d/dev/null" c 1 3
  MOUNTS+=("$d/proc")
  mount -t proc proc "$d/proc"
  set +e
  chroot "$d" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 \
           && ln -sf /usr/bin/python3 /usr/bin/python && apt-get clean \
           && rm -rf /var/lib/apt/lists/*' >"$SCRATCH/python.log" 2>&1
  rc=$?
  set -e
  umount "$d/proc"
  if [ "$rc" -ne 0 ]; then tail -n 30 "$SCRATCH/python.log" >&2; die "python3 install in chroot failed"; fi
  rm -f "$d/etc/resolv.conf"
  [ -n "$resolv_backup" ] && cp -a "$resolv_backup" "$d/etc/resolv.conf"
  import_rootfs "$d" "$IMG_PYTHON" --change 'CMD ["python3"]'
  rm -rf --one-file-system "$d"
fi

if have "$IMG_BASH"; then
  log "image $IMG_BASH exists, skipping"
else
  debian_rootfs
  derived_rootfs bash
  mkdir -p "$d/usr/local/bin"
  printf '#!/bin/sh\nset -e\ncase "$1" in -*) set -- bash "$@" ;; esac\nexec "$@"\n' \
    > "$d/usr/local/bin/docker-entrypoint.sh"
  chmod 755 "$d/usr/local/bin/docker-entrypoint.sh"
  import_rootfs "$d" "$IMG_BASH" \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["bash"]'
  rm -rf --one-file-system "$d"
fi

# scratch rootfs trees are large; drop them now so the timing below includes it
if [ -n "$SCRATCH" ]; then rm -rf --one-file-system "$SCRATCH"; SCRATCH=""; fi

# --- 4. smoke test -----------------------------------------------------------
log "smoke test"
out=$(podman run --rm --net=none "$IMG_DEBIAN" echo ok) || die "debian run failed"
log "  debian: $out";  [ "$out" = ok ] || die "debian: unexpected output"
out=$(podman run --rm "$IMG_PYTHON" python -c 'print(1)') || die "python run failed"
log "  python: $out";  [ "$out" = 1 ] || die "python: unexpected output"
# shellcheck disable=SC2016  # $BASH_VERSION is expanded inside the container
out=$(podman run --rm "$IMG_BASH" -c 'echo $BASH_VERSION') || die "bash run failed"
log "  bash:   $out";  [ -n "$out" ] || die "bash: empty BASH_VERSION"

log "done in $(( $(date +%s) - START ))s"
