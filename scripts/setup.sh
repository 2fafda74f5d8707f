#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for Stratum: the Debian packages the tests, benchmarks and the
# demo use (installed only when missing), then the npm workspaces (which build the native addon
# and the TypeScript). Idempotent; run as root (apt) — as another user it only does the npm part.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian package → a file it provides (checked instead of dpkg so hand-built tools also count).
declare -A need=(
  [skopeo]=/usr/bin/skopeo
  [umoci]=/usr/bin/umoci
  [runc]=/usr/sbin/runc
  [crun]=/usr/bin/crun
  [busybox-static]=/bin/busybox
  [nftables]=/usr/sbin/nft
  [docker-registry]=/usr/bin/docker-registry
  [bubblewrap]=/usr/bin/bwrap
  [oci-image-tool]=/usr/bin/oci-image-tool
  [zstd]=/usr/bin/zstd
  [iproute2]=/usr/sbin/ip
  [apache2-utils]=/usr/bin/htpasswd
  [openssl]=/usr/bin/openssl
  [uidmap]=/usr/bin/newuidmap
  [fuse-overlayfs]=/usr/bin/fuse-overlayfs
  # Rootless containers' default network (user-mode networking), as rootless podman's.
  [slirp4netns]=/usr/bin/slirp4netns
  [util-linux]=/usr/bin/unshare
  [iptables]=/usr/sbin/iptables
  [time]=/usr/bin/time
  [passwd]=/usr/sbin/useradd
  # The container benchmark's podman row (podman run --init needs catatonit).
  [podman]=/usr/bin/podman
  [catatonit]=/usr/bin/catatonit
)
missing=()
for pkg in "${!need[@]}"; do
  [ -e "${need[$pkg]}" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: not root, cannot install: ${missing[*]} (tests needing them will skip)" >&2
  fi
fi

# The docker-registry package may start a system instance on :5000; tests start their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl stop docker-registry || true
fi

# npm workspaces: `npm ci` on a clean clone (builds the addon via its install script and the
# TypeScript via the root prepare script); `npm install` when node_modules is already there.
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
echo "setup: done"
