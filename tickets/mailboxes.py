"""Polling the intake IMAP mailboxes (``INTAKE_IMAP_URL``).

Exactly once: each message is imported in its own transaction, keyed by its Message-ID (or a hash),
and only after that commit is it flagged on the server. A worker that dies in between leaves it
unflagged; the next poll imports it again, finds the key taken and just flags it. Two polls that
overlap race on the same unique key, and one of them stops there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.conf import settings
from imap_tools import AND, MailBox, MailBoxUnencrypted

from tickets import services

# Set on a message once its import has committed; the poll asks only for messages without it.
IMPORTED_KEYWORD = "SupportdeskImported"
_UID = re.compile(rb"UID (\d+)")


@dataclass(frozen=True)
class MailboxConfig:
    tls: bool
    host: str
    port: int
    user: str
    password: str
    folder: str

    @property
    def label(self) -> str:
        """Names the mailbox on the rows it fills, without the password."""
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"


def parse_urls(value: str) -> list[MailboxConfig]:
    """``imap://user:pw@host:port/MAILBOX`` or ``imaps://…``, comma-separated; the user and password
    may be percent-encoded. A malformed entry is an error at once, not a silent skip."""
    configs = []
    for item in (part.strip() for part in (value or "").split(",")):
        if not item:
            continue
        url = urlsplit(item)
        if url.scheme not in ("imap", "imaps") or not url.hostname or not url.username:
            raise ValueError(
                f"INTAKE_IMAP_URL: not an imap://user:password@host/MAILBOX URL: {url.scheme}://…"
            )
        configs.append(
            MailboxConfig(
                tls=url.scheme == "imaps",
                host=url.hostname,
                port=url.port or (993 if url.scheme == "imaps" else 143),
                user=unquote(url.username),
                password=unquote(url.password or ""),
                folder=unquote(url.path.lstrip("/")) or "INBOX",
            )
        )
    return configs


def _connect(config: MailboxConfig):
    box = (MailBox if config.tls else MailBoxUnencrypted)(config.host, config.port, timeout=30)
    return box.login(config.user, config.password, initial_folder=config.folder)


def _fetch_raw(box, uids: list[str]) -> dict[str, bytes]:
    """The messages' exact bytes (BODY.PEEK: fetching does not mark them seen)."""
    typ, data = box.client.uid("FETCH", ",".join(uids), "(UID BODY.PEEK[])")
    if typ != "OK":
        raise RuntimeError(f"IMAP FETCH failed: {data!r}")
    found = {}
    for item in data:
        if isinstance(item, tuple) and (m := _UID.search(item[0])):
            found[m.group(1).decode()] = item[1]
    return found


@dataclass
class PollResult:
    seen: int = 0
    imported: int = 0
    duplicates: int = 0


def poll_mailbox(config: MailboxConfig, *, batch: int | None = None) -> PollResult:
    """Import every message in the mailbox not yet flagged as imported."""
    batch = batch or settings.INTAKE_BATCH
    result = PollResult()
    with _connect(config) as box:
        uids = box.uids(AND(no_keyword=IMPORTED_KEYWORD))
        for start in range(0, len(uids), batch):
            chunk = uids[start : start + batch]
            raws = _fetch_raw(box, chunk)
            done = []
            for uid in chunk:
                raw = raws.get(uid)
                if raw is None:  # expunged meanwhile
                    continue
                result.seen += 1
                row = services.inbound_import(raw=raw, mailbox=config.label)  # commits
                result.imported += row is not None
                result.duplicates += row is None
                done.append(uid)
            if done:  # only now: every one of these has committed
                box.flag(done, (IMPORTED_KEYWORD, "\\Seen"), True)
    return result


def poll_all() -> PollResult:
    total = PollResult()
    for config in parse_urls(settings.INTAKE_IMAP_URL):
        r = poll_mailbox(config)
        total.seen += r.seen
        total.imported += r.imported
        total.duplicates += r.duplicates
    return total
