#!/usr/bin/env bash
# Makes a Debian base image without a registry: a bookworm root filesystem made with
# debootstrap (with PACKAGES preinstalled), the host's CA bundle copied in (HTTPS to the
# package registries passes a proxy that only the host's bundle trusts), loaded with
# `docker import` as TAG. Kept by its tag: a second call with the same TAG does nothing.
#
#   tests/support/debian-image.sh TAG PACKAGE[,PACKAGE...]
set -euo pipefail
tag=$1
packages=$2
if docker image inspect "$tag" >/dev/null 2>&1; then
    exit 0
fi
command -v debootstrap >/dev/null || {
    echo "debootstrap is missing: apt-get install debootstrap" >&2
    exit 1
}
mirror=${KYOZO_DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$(mktemp -d /tmp/kyozo-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include="ca-certificates,$packages" bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
    tail -n 30 "$root.log" >&2
    exit 1
}
rm -f "$root.log"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
    --change 'LABEL dev.kyozo.test-image=1' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - "$tag" >/dev/null
