#!/usr/bin/env bash
# Makes a postgres image without a registry: a Debian root filesystem with Debian's
# postgresql (tests/support/debian-image.sh), and an entrypoint that does what the
# official image's does with POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB (a new
# data folder is initialised with that user, password and database), listening on every
# address, data in /var/lib/postgresql/data. Kept by its tag.
#
#   tests/support/postgres-image.sh TAG
set -euo pipefail
tag=$1
if docker image inspect "$tag" >/dev/null 2>&1; then
    exit 0
fi
here=$(cd "$(dirname "$0")" && pwd)
base="$tag-base"
bash "$here/debian-image.sh" "$base" postgresql
work=$(mktemp -d /tmp/kyozo-postgres.XXXXXX)
trap 'rm -rf "$work"; docker rmi "$base" >/dev/null 2>&1 || true' EXIT
cat >"$work/entrypoint.sh" <<'SCRIPT'
#!/bin/sh
set -e
bin=$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)
data=${PGDATA:-/var/lib/postgresql/data}
user=${POSTGRES_USER:-postgres}
mkdir -p "$data" /run/postgresql
chown -R postgres:postgres "$data" /run/postgresql
chmod 700 "$data"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
if [ ! -s "$data/PG_VERSION" ]; then
    printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" >/tmp/pw
    chown postgres /tmp/pw
    as_postgres "$bin/initdb" -D "$data" -U "$user" --pwfile=/tmp/pw \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f /tmp/pw
    echo "host all all all scram-sha-256" >>"$data/pg_hba.conf"
    if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != "$user" ]; then
        as_postgres "$bin/postgres" --single -D "$data" postgres >/dev/null <<SQL
CREATE DATABASE "$POSTGRES_DB" OWNER "$user";
SQL
    elif [ "$user" != postgres ]; then
        as_postgres "$bin/postgres" --single -D "$data" postgres >/dev/null <<SQL
CREATE DATABASE "$user" OWNER "$user";
SQL
    fi
    echo "postgres: initialised $data for $user"
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups \
    "$bin/postgres" -D "$data" -c listen_addresses='*' -c unix_socket_directories=/run/postgresql
SCRIPT
chmod 755 "$work/entrypoint.sh"
cat >"$work/Dockerfile" <<DOCKERFILE
FROM $base
COPY entrypoint.sh /usr/local/bin/postgres-entrypoint
ENV PGDATA=/var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
CMD ["postgres-entrypoint"]
DOCKERFILE
docker build -q -t "$tag" --label dev.kyozo.test-image=1 "$work" >/dev/null
