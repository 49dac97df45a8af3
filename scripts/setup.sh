#!/usr/bin/env bash
# One idempotent setup for a fresh Debian 12 machine (and a fast no-op on a ready one):
# the Debian packages Berth and its tests use, the npm dependencies, and the build.
set -euo pipefail
cd "$(dirname "$0")/.."

# binary -> Debian package. Berth itself needs runc, conmon, catatonit, attr (setfattr marks
# opaque directories of image layers), iproute2 and iptables (with ebtables-nft, for each
# task's bridge port guard); gVisor's runsc is the sandboxed runtime; the rest are what the
# tests and benchmarks drive (skopeo, podman, the AWS CLI v2, busybox for test images, the Go
# registry as a peer, the CNI bridge plugin, with which a test attaches a task as agents before
# iproute2 did, PostgreSQL 15 for the second store's tests, which start their own throw-away
# server; chromium, the browser the console's tests drive through playwright-core).
declare -A WANT=(
  [/usr/sbin/runc]=runc
  [/usr/bin/conmon]=conmon
  [/usr/bin/catatonit]=catatonit
  [/usr/bin/setfattr]=attr
  [/usr/lib/cni/bridge]=containernetworking-plugins
  [/usr/bin/ip]=iproute2
  [/usr/sbin/iptables]=iptables
  [/usr/sbin/ebtables-nft]=iptables
  [/usr/bin/runsc]=runsc
  [/usr/bin/skopeo]=skopeo
  [/usr/bin/podman]=podman
  [/usr/bin/aws]=awscli
  [/usr/bin/busybox]=busybox-static
  [/usr/bin/docker-registry]=docker-registry
  [/usr/sbin/nginx]=nginx
  [/usr/bin/wrk]=wrk
  [/usr/bin/iperf3]=iperf3
  [/usr/bin/curl]=curl
  [/sbin/mkfs.ext4]=e2fsprogs
  [/sbin/losetup]=mount
  [/usr/lib/postgresql/15/bin/initdb]=postgresql-15
  [/usr/bin/chromium]=chromium
)
missing=()
for bin in "${!WANT[@]}"; do
  [ -e "$bin" ] || missing+=("${WANT[$bin]}")
done
# busybox (the dynamic one) also provides /usr/bin/busybox; the tests need the static build.
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" || missing+=(busybox-static)

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  if [ "$(id -u)" != 0 ]; then
    echo "setup: these packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm dependencies: reinstall only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

# Build only when a source changed since the last successful build (a quick no-op otherwise).
bash scripts/build-if-stale.sh

# `berth` on PATH, as the README's tour and `berth up`'s banner call it.
bash scripts/link-berth.sh
