#!/usr/bin/env bash
# `kyozo up` of a real-world-shaped app against the hand-written, best-practice
# Dockerfile of the same app on the same base image, same run, same builder (the
# engine's classic builder):
#
#   1. first deploy: `kyozo up` of a fresh copy ÷ (`docker build` + `docker run` until
#      the app answers), both as on a machine that never built the app: a comment unique
#      to the run is added to requirements.txt in both copies (Kyozo's steps start with
#      the manifests' digest, so none of its steps comes from the cache), and the
#      hand-written Dockerfile is built with --no-cache;
#   2. a one-line code edit: `docker build` of the generated Dockerfile ÷ `docker build`
#      of the hand-written one (each after its own first build), and `kyozo up` after
#      the edit;
#   3. an unchanged `kyozo up`;
#   4. the image size: Kyozo's ÷ the hand-written one's.
#
# Each figure is the median of RUNS runs (default 3). Needs the kyozo binary
# (`cargo build -p kyozo-cli`), the Debian runtimes image (the tests make it:
# tests/support/debian-image.sh) and the network to PyPI.
#
#   bash benches/real_app.sh [RUNS]
set -euo pipefail
runs=${1:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
kyozo=${KYOZO:-$root/target/debug/kyozo}
base=kyozo-test/debian-runtimes:2
app=$root/examples/cli/tests/apps/flask-pip
bash "$root/tests/support/debian-image.sh" "$base" python3,python3-venv,nodejs,redis-server
work=$(mktemp -d /tmp/kyozo-bench.XXXXXX)
export KYOZO_EDGE_IMAGE=${KYOZO_EDGE_IMAGE:-kyozo-test/caddy:2}
export KYOZO_EDGE_NAME=kyozo-edge-bench
bash "$root/tests/support/caddy-image.sh" "$KYOZO_EDGE_IMAGE"
cleanup() {
    "$kyozo" -C "$work/kyozo" down >/dev/null 2>&1 || true
    docker rm -f kyozo-bench-hand >/dev/null 2>&1 || true
    docker rm -f "$KYOZO_EDGE_NAME" >/dev/null 2>&1 || true
    docker rmi -f kyozo-bench/hand:1 >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("",0)); print(s.getsockname()[1])'; }
wait_http() {
    until curl -fsS -o /dev/null "http://127.0.0.1:$1/"; do sleep 0.05; done
}

cat >"$work/Dockerfile.hand" <<DOCKERFILE
FROM $base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/venv/bin:\$PATH
RUN python3 -m venv /venv
WORKDIR /app
COPY requirements.txt .
RUN if [ -f /etc/ssl/certs/ca-certificates.crt ]; then export PIP_CERT=/etc/ssl/certs/ca-certificates.crt; fi \\
 && pip install --no-cache-dir -r requirements.txt
COPY . .
USER 10001
EXPOSE 8000
CMD ["gunicorn", "app:app", "--bind", "0.0.0.0:8000"]
DOCKERFILE

first_kyozo=() first_hand=() edit_gen=() edit_hand=() edit_up=() unchanged=()
for i in $(seq "$runs"); do
    rm -rf "$work/kyozo" "$work/hand"
    cp -r "$app" "$work/kyozo"
    cp -r "$app" "$work/hand"
    cp "$work/Dockerfile.hand" "$work/hand/Dockerfile"
    # No dependency install of an earlier run (or of the tests) stands in for this one.
    token="# bench run $i $(now)"
    echo "$token" >>"$work/kyozo/requirements.txt"
    echo "$token" >>"$work/hand/requirements.txt"

    # 1. First deploy.
    port=$(free_port)
    t=$(now)
    "$kyozo" -C "$work/kyozo" up --image "python=$base" --build-network host --port "kyozo=$port" >/dev/null 2>&1
    wait_http "$port"
    first_kyozo+=("$(since "$t")")
    hport=$(free_port)
    t=$(now)
    docker build -q --no-cache --network host -t kyozo-bench/hand:1 "$work/hand" >/dev/null 2>&1
    docker run -d --name kyozo-bench-hand -p "127.0.0.1:$hport:8000" kyozo-bench/hand:1 >/dev/null
    wait_http "$hport"
    first_hand+=("$(since "$t")")
    docker rm -f kyozo-bench-hand >/dev/null

    # 3. Unchanged.
    t=$(now)
    "$kyozo" -C "$work/kyozo" up >/dev/null 2>&1
    unchanged+=("$(since "$t")")

    # 4. Sizes (once is enough: the same each run).
    image=$("$kyozo" -C "$work/kyozo" ps --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["services"][0]["image"])')
    size_kyozo=$(docker image inspect --format '{{.Size}}' "$image")
    size_hand=$(docker image inspect --format '{{.Size}}' kyozo-bench/hand:1)

    # 2. A one-line code edit.
    "$kyozo" -C "$work/kyozo" plan --out "$work/generated" >/dev/null 2>&1
    for d in kyozo hand; do
        sed -i "s/hello from flask/hello from flask, run $i/" "$work/$d/app.py"
    done
    t=$(now)
    docker build -q --network host -f "$work/generated/Dockerfile" -t kyozo-bench/generated:1 "$work/kyozo" >/dev/null 2>&1 || true
    # (the first build of the generated file, from the layers `up` built: the edit's)
    edit_gen_first=$(since "$t")
    sed -i "s/, run $i/, run $i again/" "$work/kyozo/app.py" "$work/hand/app.py"
    t=$(now)
    docker build -q --network host -f "$work/generated/Dockerfile" -t kyozo-bench/generated:1 "$work/kyozo" >/dev/null 2>&1
    edit_gen+=("$(since "$t")")
    t=$(now)
    docker build -q --network host -t kyozo-bench/hand:1 "$work/hand" >/dev/null 2>&1
    edit_hand+=("$(since "$t")")
    t=$(now)
    "$kyozo" -C "$work/kyozo" up >/dev/null 2>&1
    edit_up+=("$(since "$t")")
    "$kyozo" -C "$work/kyozo" down >/dev/null 2>&1
    docker rmi -f kyozo-bench/generated:1 >/dev/null 2>&1 || true
    : "$edit_gen_first"
done

m() { printf '%s\n' "$@" | median; }
fk=$(m "${first_kyozo[@]}") fh=$(m "${first_hand[@]}")
eg=$(m "${edit_gen[@]}") eh=$(m "${edit_hand[@]}") eu=$(m "${edit_up[@]}")
un=$(m "${unchanged[@]}")
printf 'runs: %s (medians)\n' "$runs"
printf 'first deploy: kyozo up %.1f s, docker build + run %.1f s: %.2fx\n' "$fk" "$fh" "$(echo "$fk / $fh" | bc -l)"
printf 'code edit: docker build of the generated Dockerfile %.1f s, of the hand-written one %.1f s: %.2fx; kyozo up after the edit %.1f s\n' "$eg" "$eh" "$(echo "$eg / $eh" | bc -l)" "$eu"
printf 'unchanged kyozo up: %.2f s\n' "$un"
printf 'image size: kyozo %s bytes, hand-written %s bytes: %.2fx\n' "$size_kyozo" "$size_hand" "$(echo "$size_kyozo / $size_hand" | bc -l)"
