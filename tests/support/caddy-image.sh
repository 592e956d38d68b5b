#!/usr/bin/env bash
# Makes the edge proxy's image without a registry: Debian's caddy package (its binary
# and the libraries it links), FROM scratch, with a static busybox for `sh` and `wget`
# (the official caddy:2 image, Alpine's, has both: the generated static-site images run
# a shell step and a wget health check). Kept by its tag.
#
#   tests/support/caddy-image.sh TAG
set -euo pipefail
tag=$1
if docker image inspect "$tag" >/dev/null 2>&1; then
    exit 0
fi
work=$(mktemp -d /tmp/kyozo-caddy.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get download caddy >/dev/null 2>&1 || {
    apt-get update >/dev/null && apt-get download caddy >/dev/null
}
dpkg-deb -x caddy_*.deb pkg
mkdir -p ctx/usr/bin ctx/tmp
cp pkg/usr/bin/caddy ctx/usr/bin/caddy
# The libraries it links, where the loader looks for them.
for lib in $(ldd pkg/usr/bin/caddy | grep -o '/[^ ]*'); do
    mkdir -p "ctx$(dirname "$lib")"
    cp -L "$lib" "ctx$lib"
done
cp /bin/busybox ctx/usr/bin/busybox
for applet in sh wget printf mkdir; do
    ln -s busybox "ctx/usr/bin/$applet"
done
mkdir -p ctx/bin ctx/etc/caddy
ln -s /usr/bin/sh ctx/bin/sh
chmod 1777 ctx/tmp
cat >ctx/Dockerfile <<'DOCKERFILE'
FROM scratch
COPY . /
ENV PATH=/usr/bin
LABEL dev.kyozo.test-image=1
CMD ["caddy", "version"]
DOCKERFILE
docker build -q -t "$tag" ctx >/dev/null
