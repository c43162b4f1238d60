#!/bin/sh
# The `scale` profile's postgres-replica: a hot standby of `postgres`. The first start clones the
# primary with pg_basebackup -R (standby.signal + primary_conninfo) into an empty volume, using the
# physical slot "replica" so the primary keeps the WAL it has not streamed yet; later starts resume.
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_basebackup --host=postgres --username=replicator --pgdata="$PGDATA" \
      --write-recovery-conf --wal-method=stream --checkpoint=fast --slot=replica --create-slot; do
    echo "postgres-replica: primary not ready for a base backup, retrying" >&2
    rm -rf "${PGDATA:?}"/*
    # The slot may exist from an attempt that failed after creating it: then reuse it.
    if pg_basebackup --host=postgres --username=replicator --pgdata="$PGDATA" \
        --write-recovery-conf --wal-method=stream --checkpoint=fast --slot=replica; then
      break
    fi
    rm -rf "${PGDATA:?}"/*
    sleep 2
  done
  chmod 0700 "$PGDATA"
fi
# hot_standby_feedback: the primary's vacuum waits for the replica's running reads instead of
# cancelling them (a long dashboard query would otherwise fail with a recovery conflict; the router
# would answer it from the primary, but better not). Its max_connections must be >= the primary's.
exec postgres -c hot_standby=on -c hot_standby_feedback=on
