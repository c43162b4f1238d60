"""A real PostgreSQL streaming replica of the machine's primary, on a free loopback port.

Built from Debian's PostgreSQL 15 binaries (``/usr/lib/postgresql/15/bin``, or ``SUPPORTDESK_PG_BIN``):
``pg_basebackup -R`` copies the primary — the test database included — into a throw-away data
directory, which starts as a hot standby streaming from the primary. The tests stop it, pause its
replay and read it, as an operator's failures would.

The primary must allow replication connections from 127.0.0.1. Debian's pg_hba.conf has no such
line for TCP, so ``allow_replication`` appends ``host replication all 127.0.0.1/32 trust`` (the
same trust as its ``host all`` line) and reloads — once, idempotently. ``wal_level`` (``replica``)
and ``max_wal_senders`` (10) are Debian's defaults already; if a primary has them off it needs a
restart, which this harness refuses to do to a shared server: it says so and fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest

from tests.processes import free_port

PG_BIN = Path(os.environ.get("SUPPORTDESK_PG_BIN", "/usr/lib/postgresql/15/bin"))
START_TIMEOUT = 120  # seconds for the standby to accept connections
# The base backup copies the whole cluster, every database on it (bench databases of other runs
# included: 2 GB here in 2026-11), over loopback: about a minute at load 10.
BACKUP_TIMEOUT = 900
# A hot standby refuses to start with less of these than its primary has.
COPIED_SETTINGS = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


def missing() -> str:
    """Why a replica cannot be built here, or "" when it can."""
    for tool in ("pg_basebackup", "pg_ctl", "postgres"):
        if not os.access(PG_BIN / tool, os.X_OK):
            return f"no {PG_BIN / tool} (apt-get install postgresql-15)"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root without runuser to start PostgreSQL as postgres"
    return ""


def _as_server_user() -> list[str]:
    # postgres refuses to run as root; CI runs as root.
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def connect(*, host: str, port: int, user: str, dbname: str = "postgres"):
    conn = psycopg2.connect(host=host, port=port, user=user, dbname=dbname, connect_timeout=5)
    conn.autocommit = True
    return conn


def query(conn, sql: str, params=()) -> list[tuple]:
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def allow_replication(primary: dict) -> None:
    """Make the primary accept ``pg_basebackup`` and streaming from 127.0.0.1 (see the module
    docstring); fails the test, saying why, if it cannot."""
    conn = connect(host=primary["HOST"], port=int(primary["PORT"]), user=primary["USER"])
    try:
        ((wal_level,),), ((senders,),) = query(conn, "SHOW wal_level"), query(conn, "SHOW max_wal_senders")
        if wal_level not in ("replica", "logical") or int(senders) < 2:
            pytest.fail(
                f"the primary has wal_level={wal_level}, max_wal_senders={senders}: set wal_level=replica "
                "and max_wal_senders>=2 in its postgresql.conf and restart it"
            )
        rules = query(
            conn,
            "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NULL AND type = 'host'"
            " AND 'replication' = ANY(database) AND (address = '127.0.0.1' OR address = 'all')",
        )
        if rules[0][0]:
            return
        ((hba_file,),) = query(conn, "SHOW hba_file")
        try:
            with open(hba_file, "a") as f:
                f.write(
                    "\n# Added by Supportdesk's replica tests (tests/scale/pg.py): streaming replicas on loopback.\n"
                    "host    replication     all             127.0.0.1/32            trust\n"
                )
        except OSError as exc:
            pytest.fail(
                f"the primary refuses replication from 127.0.0.1 and {hba_file} is not writable: {exc}"
            )
        query(conn, "SELECT pg_reload_conf()")
    finally:
        conn.close()


class Replica:
    """A hot standby of ``primary`` (a Django settings dict) in its own directory and port."""

    def __init__(self, primary: dict):
        self.primary = primary
        self.host = "127.0.0.1"
        self.port = free_port()
        self.user = primary["USER"]
        self.root = Path(tempfile.mkdtemp(prefix="supportdesk-replica-"))
        self.datadir = self.root / "data"
        self.log = self.root / "postgres.log"

    def url(self, dbname: str) -> str:
        return f"postgres://{self.user}@{self.host}:{self.port}/{dbname}"

    def _run(self, *args: str, timeout: float = START_TIMEOUT) -> None:
        result = subprocess.run(
            [*_as_server_user(), *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode:
            pytest.fail(f"{Path(args[0]).name} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")

    def build(self) -> None:
        """Base backup of the primary, with the standby's own configuration (Debian keeps the primary's
        in /etc, so the copy has none)."""
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        os.chmod(self.root, 0o700)
        primary = connect(host=self.primary["HOST"], port=int(self.primary["PORT"]), user=self.user)
        try:
            copied = {name: query(primary, f"SHOW {name}")[0][0] for name in COPIED_SETTINGS}
        finally:
            primary.close()
        self._run(
            str(PG_BIN / "pg_basebackup"),
            f"--host={self.primary['HOST']}",
            f"--port={self.primary['PORT']}",
            f"--username={self.user}",
            f"--pgdata={self.datadir}",
            "--write-recovery-conf",  # standby.signal + primary_conninfo: a streaming standby
            "--wal-method=stream",
            "--checkpoint=fast",  # not wait for the primary's next spread checkpoint
            "--no-sync",  # a throw-away copy: no fsync of every file
            timeout=BACKUP_TIMEOUT,
        )
        settings = {
            "listen_addresses": f"'{self.host}'",
            "port": self.port,
            "unix_socket_directories": f"'{self.root}'",
            "hot_standby": "on",
            "shared_buffers": "'32MB'",
            "fsync": "off",
            "logging_collector": "off",
            **copied,
        }
        self._write("postgresql.conf", "".join(f"{k} = {v}\n" for k, v in settings.items()))
        self._write("pg_hba.conf", "local all all trust\nhost all all 127.0.0.1/32 trust\n")
        self._write("pg_ident.conf", "")

    def _write(self, name: str, text: str) -> None:
        path = self.datadir / name
        path.write_text(text)
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")

    def start(self) -> None:
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.log), "-w", "-t", "60", "start"
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                conn = self.connect()
            except psycopg2.OperationalError:
                time.sleep(0.2)
                continue
            try:
                if query(conn, "SELECT pg_is_in_recovery()")[0][0]:
                    return
            finally:
                conn.close()
        pytest.fail(f"the replica did not accept connections within {START_TIMEOUT} s; see {self.log}")

    def stop(self, mode: str = "fast") -> None:
        if (self.datadir / "postmaster.pid").exists():
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop", timeout=60)

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def connect(self, dbname: str = "postgres"):
        return connect(host=self.host, port=self.port, user=self.user, dbname=dbname)

    def sql(self, sql: str, dbname: str = "postgres") -> list[tuple]:
        conn = self.connect(dbname)
        try:
            return query(conn, sql)
        finally:
            conn.close()

    def pause_replay(self) -> None:
        """The standby keeps receiving WAL but applies none of it: it is behind, by as long as this lasts."""
        self.sql("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_resume()")

    def catch_up(self, timeout: float = 60) -> None:
        """Wait until the standby has replayed everything the primary had written when called."""
        primary = connect(host=self.primary["HOST"], port=int(self.primary["PORT"]), user=self.user)
        try:
            ((target,),) = query(primary, "SELECT pg_current_wal_lsn()::text")
        finally:
            primary.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ((done,),) = self.sql(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")
            if done:
                return
            time.sleep(0.1)
        pytest.fail(f"the replica did not replay up to {target} within {timeout} s")
