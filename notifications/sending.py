"""The wire-level half of outbox sending (``notifications.outbox.outbox_deliver``): SMTP PIPELINING
(RFC 2920) over the mail backend's open connection, and "sent" marks handed to PostgreSQL without
waiting for its answer.

Why: against a nearby server the time per message is round trips between processes that compete
for the same cores, not bytes (bench/README.md, "Outbox"). ``smtplib.sendmail`` waits for four
answers per message (MAIL, RCPT, DATA, the content) and marking the row sent in a transaction for
three more (BEGIN, UPDATE, COMMIT). Here a message waits for one: its content goes out in one write
together with the next message's MAIL/RCPT/DATA, and its mark is one write to a second PostgreSQL
connection whose answer is read only before the next mark.

The duplicate bound is unchanged — at most the message in flight on each connection at a kill:
- A message's content is written only after the previous message was accepted *and* its mark was
  written. Envelope commands sent ahead (MAIL/RCPT/DATA without content) are not a message: a
  server whose client vanishes mid-transaction delivers nothing.
- A mark is handed to the kernel (``SentMarks.mark`` flushes) before the next content is written.
  If the worker dies then, the kernel still delivers those bytes and closes the connection behind
  them, and PostgreSQL runs (and commits) a query it received in full before it sees the end of
  the connection. The only way the kernel drops queued bytes is a reset, sent when the dying
  process leaves *unread answers* behind; the answer to a mark is only there once the server ran
  the mark, and the answer to the previous mark was read before this one was written.
"""

from __future__ import annotations

import functools
import logging
import re
import select
import smtplib
from dataclasses import dataclass
from datetime import datetime

from django.core.mail.message import sanitize_address
from django.db import connection

log = logging.getLogger(__name__)


# --- SMTP ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Wire:
    """One message as it goes over SMTP: envelope and content (CRLF line ends, not yet dot-stuffed)."""

    sender: str
    recipients: tuple[str, ...]
    content: bytes

    @classmethod
    def of(cls, message, encoding: str | None = None) -> Wire:
        """As Django's SMTP backend would send ``message``. Raises ValueError for an address it
        refuses (a newline, no domain, a non-ASCII local part): retrying cannot help."""
        encoding = message.encoding or encoding or "utf-8"
        sender = _sanitized(message.from_email, encoding)
        recipients = tuple(
            a if _PLAIN_ADDRESS.fullmatch(a) else sanitize_address(a, encoding) for a in message.recipients()
        )
        if not recipients:
            raise ValueError("no recipients")
        return cls(sender, recipients, message.message().as_bytes(linesep="\r\n"))

    def envelope(self) -> bytes:
        lines = [f"MAIL FROM:{smtplib.quoteaddr(self.sender)}"]
        lines += [f"RCPT TO:{smtplib.quoteaddr(r)}" for r in self.recipients]
        lines.append("DATA")
        return ("\r\n".join(lines) + "\r\n").encode("ascii")  # UnicodeEncodeError is a ValueError

    def data(self) -> bytes:
        stuffed = _LEADING_DOT.sub(b"..", self.content)
        if not stuffed.endswith(b"\r\n"):
            stuffed += b"\r\n"
        return stuffed + b".\r\n"


_LEADING_DOT = re.compile(rb"(?m)^\.")

# An address Django's sanitize_address would return unchanged (ASCII, no display name, nothing to
# quote or encode): it parses every address with the email package's header parser, which cost more
# per message than the rest of the sending (bench/README.md, "Outbox").
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+"
)


@functools.lru_cache(maxsize=64)
def _sanitized(address: str, encoding: str) -> str:
    """The sender: one address for a whole mailing."""
    return sanitize_address(address, encoding)


def pipelining(smtp: smtplib.SMTP) -> bool:
    """Whether the server on this open connection takes pipelined commands (it says so in EHLO)."""
    smtp.ehlo_or_helo_if_needed()
    return smtp.has_extn("pipelining")


class Pipeline:
    """Sends messages one after another over one SMTP connection, one round trip each: the content
    of a message and the envelope of the next one (``following``) go out in one write.

    ``send`` returns once the server accepted the message, or raises what ``smtplib`` would:
    SMTPSenderRefused / SMTPRecipientsRefused / SMTPDataError about this message (the connection
    stays usable), or an OSError (SMTPServerDisconnected included) when the connection is gone.
    """

    def __init__(self, smtp: smtplib.SMTP) -> None:
        self.smtp = smtp
        self.ahead: Wire | None = None  # a message whose MAIL/RCPT/DATA went out with the last content

    def send(self, wire: Wire, following: Wire | None = None) -> None:
        smtp = self.smtp
        if self.ahead is not wire:
            smtp.send(wire.envelope())
        self.ahead = None
        mail = smtp.getreply()
        rcpts = [smtp.getreply() for _ in wire.recipients]
        data = smtp.getreply()
        refused = {
            r: reply for r, reply in zip(wire.recipients, rcpts, strict=True) if reply[0] not in (250, 251)
        }
        if data[0] != 354:
            if mail[0] == 250:  # the transaction is open on the server: close it
                smtp.send(b"RSET\r\n")
                smtp.getreply()
            if mail[0] != 250:
                raise smtplib.SMTPSenderRefused(mail[0], mail[1], wire.sender)
            if refused:
                raise smtplib.SMTPRecipientsRefused(refused)
            raise smtplib.SMTPDataError(*data)
        if len(refused) == len(wire.recipients):  # DATA accepted with nobody to deliver to: end it empty
            smtp.send(b".\r\n")
            smtp.getreply()
            raise smtplib.SMTPRecipientsRefused(refused)
        payload = wire.data()
        if following is not None:
            payload += following.envelope()
            self.ahead = following
        smtp.send(payload)
        code, message = smtp.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, message)


# --- marks ----------------------------------------------------------------------------------------

MARK_SENT_SQL = (
    "UPDATE notifications_notification SET state = 'sent', sent_at = %s, claimed_until = NULL, "
    "subject = %s, last_error = '' WHERE id = %s AND state = 'pending'"
)


class SentMarks:
    """Marks rows sent over a second, asynchronous PostgreSQL connection (autocommit, asynchronous
    commit): ``mark`` writes the UPDATE and returns without waiting; its answer is read before the
    next mark (by then it has long arrived). A mark that failed is redone on Django's connection."""

    def __init__(self) -> None:
        import psycopg2

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        self._conn = psycopg2.connect(**params, async_=1)
        self._wait()
        self._cursor = self._conn.cursor()
        self._cursor.execute("SET synchronous_commit TO off")
        self._wait()
        self._outstanding: tuple | None = None
        self._broken = False

    @classmethod
    def open(cls) -> SentMarks | None:
        """None where this cannot work: not PostgreSQL; inside a transaction (the rows' claim is not
        committed, so a second connection would not see them — eager tasks in tests); or the
        connection failed. Rows are then marked in-line."""
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return None
        try:
            return cls()
        except Exception as exc:
            log.warning("asynchronous sent marks unavailable, marking in-line: %r", exc)
            return None

    def _wait(self) -> None:
        import psycopg2.extensions as ext

        fd = self._conn.fileno()
        while True:
            state = self._conn.poll()
            if state == ext.POLL_OK:
                return
            if state == ext.POLL_READ:
                select.select([fd], [], [])
            else:
                select.select([], [fd], [])

    def _flush(self) -> None:
        import psycopg2.extensions as ext

        while self._conn.poll() == ext.POLL_WRITE:
            select.select([], [self._conn.fileno()], [])

    def mark(self, row_id: int, subject: str, at: datetime) -> None:
        self.settle()
        params = (at, subject[:250], row_id)
        if self._broken:
            _mark_in_line(params)
            return
        try:
            self._cursor.execute(MARK_SENT_SQL, params)
            self._outstanding = params
            self._flush()  # in the kernel before the next message's content is written
        except Exception as exc:
            log.warning("asynchronous sent marks failed, marking in-line from now on: %r", exc)
            self._broken, self._outstanding = True, None
            _mark_in_line(params)

    def settle(self) -> None:
        """Wait for the last mark's answer; redo it on Django's connection if it failed."""
        if self._outstanding is None:
            return
        params, self._outstanding = self._outstanding, None
        try:
            self._wait()
        except Exception as exc:
            log.warning("asynchronous sent marks failed, marking in-line from now on: %r", exc)
            self._broken = True
            _mark_in_line(params)

    def close(self) -> None:
        try:
            self.settle()
        finally:
            self._conn.close()


def _mark_in_line(params: tuple) -> None:
    with connection.cursor() as cursor:
        cursor.execute(MARK_SENT_SQL, list(params))
