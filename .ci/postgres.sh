#!/usr/bin/env bash
# Install (once) and start a PostgreSQL server on loopback for the instance-storage tests, then print its
# URL on stdout (everything else goes to stderr). Idempotent: re-running finds the package installed and
# the cluster running. Needs root (apt-get, pg_ctlcluster), as CI and this machine run.
set -euo pipefail

PORT="${ALATAU_TEST_PG_PORT:-54329}"
CLUSTER=alatau_test
ROLE=alatau
PASSWORD="${ALATAU_TEST_PG_PASSWORD:-alatau-test}"   # a throwaway test server on loopback only

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v pg_ctlcluster >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"

# A cluster of its own on its own port, so a system PostgreSQL (or another test run's) is never touched.
if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "$VERSION/$CLUSTER"; then
  pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" -- --auth-local=peer --auth-host=scram-sha-256 >&2
fi
# Loopback only: the server must not be reachable from the network.
echo "listen_addresses = '127.0.0.1'" > "/etc/postgresql/$VERSION/$CLUSTER/conf.d/alatau_loopback.conf"
if ! pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}' | grep -qx online; then
  pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

# The test role may create and drop its own databases (one per test run).
su postgres -c "psql -q -p $PORT -v ON_ERROR_STOP=1" >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
  ELSE
    ALTER ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
  END IF;
END \$\$;
SQL

echo "postgresql://$ROLE:$PASSWORD@127.0.0.1:$PORT/postgres"
