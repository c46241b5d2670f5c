#!/usr/bin/env bash
# Makes sure what the tests need is installed: Debian's PostgreSQL server and client, and
# PgBouncer (the suite runs the pooled tests through a real one), installed when absent (this
# needs root, as on CI and the dev machines). Quiet when all is there.
set -euo pipefail

have_server() {
  local bindir
  bindir=$( (pg_config --bindir 2>/dev/null) || ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$bindir" ] && [ -x "$bindir/initdb" ] && [ -x "$bindir/pg_ctl" ]
}
have_client() { command -v psql >/dev/null && command -v pg_dump >/dev/null && command -v pg_restore >/dev/null && command -v openssl >/dev/null; }
have_pooler() { [ -x /usr/sbin/pgbouncer ]; }

if have_server && have_client && have_pooler; then exit 0; fi

echo "PostgreSQL or PgBouncer missing: installing Debian's postgresql and pgbouncer packages" >&2
if [ "$(id -u)" != 0 ]; then
  echo "error: not root; install them yourself (apt-get install postgresql postgresql-client pgbouncer)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Another install may hold the dpkg lock: wait for it rather than fail.
apt_get() { apt-get -o DPkg::Lock::Timeout=300 "$@"; }
apt_get update -qq
apt_get install -y -qq postgresql postgresql-client libpq-dev openssl pgbouncer >/dev/null
# Debian starts the packaged service where an init system runs; the tests start their own.
if command -v service >/dev/null; then service pgbouncer stop >/dev/null 2>&1 || true; fi
have_server && have_client && have_pooler
