#!/usr/bin/env bash
# Makes the redis image the end-to-end tests run as a backing service, without a
# registry: the Debian runtimes image (tests/support/debian-image.sh, with
# redis-server), with redis-server as its command. Kept by its tag.
#
#   tests/support/redis-image.sh TAG BASE
set -euo pipefail
tag=$1
base=$2
if docker image inspect "$tag" >/dev/null 2>&1; then
    exit 0
fi
docker build -q -t "$tag" --label dev.kyozo.test-image=1 - >/dev/null <<DOCKERFILE
FROM $base
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no", "--dir", "/data", "--save", "60", "1"]
DOCKERFILE
