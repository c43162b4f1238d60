#!/bin/sh
# Run once by the postgres image on a fresh data volume (docker-entrypoint-initdb.d): a role that may
# stream WAL to the `scale` profile's postgres-replica, and the pg_hba.conf line that lets it in.
# An existing volume needs the same done by hand (psql as supportdesk; append the line; reload).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '${REPLICATION_PASSWORD:-replicator}';
-- The replica keeps a physical slot (WAL it has not received is kept for it); a replica gone for good
-- must not fill the primary's disk: past this the slot is invalidated and the replica re-cloned.
ALTER SYSTEM SET max_slot_wal_keep_size = '8GB';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
