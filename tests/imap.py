"""A real IMAP server for the intake tests and the bench: Debian's Dovecot with a throw-away config
and maildir, on a free loopback port, plain auth allowed (loopback only)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from imap_tools import MailBoxUnencrypted

PASSWORD = "secret"


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)), None
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DovecotServer:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sd-dovecot-"))
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    def _config(self) -> str:
        # Dovecot refuses root as the mail user; as root, mail is kept as "nobody".
        uid = os.getuid() or 65534
        gid = os.getgid() or 65534
        d = self.dir
        return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 0
mail_location = maildir:{d}/mail/%u
default_login_user = {"dovenull" if os.getuid() == 0 else os.environ.get("USER", "nobody")}
default_internal_user = {"dovecot" if os.getuid() == 0 else os.environ.get("USER", "nobody")}
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""

    def start(self) -> None:
        for sub in ("run", "state", "mail", "home"):
            (self.dir / sub).mkdir()
        os.chmod(self.dir, 0o755)
        if os.getuid() == 0:
            for sub in ("mail", "home"):
                os.chown(self.dir / sub, 65534, 65534)
        conf = self.dir / "dovecot.conf"
        conf.write_text(self._config())
        # -F: stay in the foreground, so the process is ours to stop.
        self.process = subprocess.Popen([dovecot_binary(), "-F", "-c", str(conf)])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        log = (self.dir / "dovecot.log").read_text() if (self.dir / "dovecot.log").exists() else ""
        self.stop()
        raise RuntimeError(f"dovecot did not start: {log[-2000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def mailbox(self) -> Mailbox:
        return Mailbox(self, f"u{uuid.uuid4().hex[:12]}")


class Mailbox:
    """One user's INBOX on the server: append raw messages, read their flags, get its URL."""

    def __init__(self, server: DovecotServer, user: str) -> None:
        self.server, self.user = server, user

    @property
    def url(self) -> str:
        return f"imap://{self.user}:{PASSWORD}@127.0.0.1:{self.server.port}/INBOX"

    def connect(self):
        return MailBoxUnencrypted("127.0.0.1", self.server.port).login(self.user, PASSWORD)

    def append(self, *raws: bytes) -> None:
        with self.connect() as box:
            for raw in raws:
                box.append(raw, "INBOX")

    def flags(self) -> list[tuple[str, ...]]:
        with self.connect() as box:
            return [m.flags for m in box.fetch(mark_seen=False, headers_only=True)]
