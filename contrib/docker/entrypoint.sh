#!/bin/sh
# The container's ovsdb-server: creates $OVSDB_DB from $OVSDB_SCHEMA when missing, then serves it on
# tcp:$OVSDB_PORT (all addresses) and unix:/run/ovsdb-ts/db.sock. Arguments are added to ovsdb-server's
# (e.g. --sync-from=tcp:ACTIVE:6641, -vjsonrpc:dbg, --remote=db:OVN_Northbound,NB_Global,connections).
set -e
if [ ! -e "$OVSDB_DB" ]; then
  ovsdb-ts tool create "$OVSDB_DB" "$OVSDB_SCHEMA"
fi
exec ovsdb-server "$OVSDB_DB" \
  --remote="ptcp:$OVSDB_PORT" \
  --remote=punix:/run/ovsdb-ts/db.sock \
  --unixctl=/run/ovsdb-ts/ovsdb-server.ctl \
  --pidfile=/run/ovsdb-ts/ovsdb-server.pid \
  "$@"
