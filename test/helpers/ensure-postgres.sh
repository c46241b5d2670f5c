#!/usr/bin/env bash
# Makes sure the PostgreSQL server and client the tests need are installed: Debian's packages,
# installed when absent (this needs root, as on CI and the dev machines). Quiet when all is there.
set -euo pipefail

have_server() {
  local bindir
  bindir=$( (pg_config --bindir 2>/dev/null) || ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$bindir" ] && [ -x "$bindir/initdb" ] && [ -x "$bindir/pg_ctl" ]
}
have_client() { command -v psql >/dev/null && command -v pg_dump >/dev/null && command -v pg_restore >/dev/null && command -v openssl >/dev/null; }

if have_server && have_client; then exit 0; fi

echo "PostgreSQL server or client missing: installing Debian's postgresql packages" >&2
if [ "$(id -u)" != 0 ]; then
  echo "error: not root; install PostgreSQL yourself (apt-get install postgresql postgresql-client)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql postgresql-client libpq-dev openssl >/dev/null
have_server && have_client
