"""Reading customers' e-mail: parse raw bytes into what a ticket needs, tell automatic mail apart,
and find the ticket a reply belongs to. Pure functions over bytes; the state changes are in
``tickets.services`` (``inbound_import``) and the IMAP polling in ``tickets.mailboxes``.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

import nh3
from django.conf import settings

from tickets.attachments import Upload
from tickets.models import REFERENCE_PREFIX


class UnparseableMail(Exception):
    """The message cannot be read well enough to import; it goes to quarantine with this reason."""


@dataclass
class ParsedMail:
    message_key: str
    from_address: str
    from_name: str
    subject: str
    text: str  # what the timeline shows: quoted history trimmed
    full_text: str  # the whole decoded body, history included
    in_reply_to: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    attachments: list[dict] = field(default_factory=list)  # what came: name, claimed type, size
    files: list[Upload] = field(default_factory=list)  # the attachments' bytes, to be stored
    automatic: str = ""  # why it is automatic mail (auto-reply, bulk, bounce...), "" for a person
    bounce_of: list[str] = field(default_factory=list)  # Message-IDs of the desk's mail that bounced
    bounce_reason: str = ""


# --- keys ----------------------------------------------------------------------------------------


def message_key(raw: bytes, message_id: str | None) -> str:
    """The Message-ID (angle brackets kept), else a hash of the raw bytes: the same bytes twice are
    the same message."""
    mid = (message_id or "").strip()
    if mid and len(mid) <= 450:
        return mid
    return "sha256:" + hashlib.sha256(raw).hexdigest()


# --- text ----------------------------------------------------------------------------------------

# Mojibake of UTF-8 read as Latin-1/1252 for the Nordic letters: "Ã¥" is å, "Ã¤" ä, "Ã¶" ö...
_MOJIBAKE = re.compile("Ã[\u0080-\u00bf¤¥¶–—Å„…]")


def decode_bytes(payload: bytes, declared: str | None) -> str:
    """Decode a body whose label may lie. UTF-8 is tried first: Latin-1 text with å ä ö is almost
    never valid UTF-8, so a strict success means it is UTF-8 whatever the label says. Otherwise the
    label (ISO-8859-1 read as Windows-1252, as browsers do: it is a superset for printable text),
    and Windows-1252 as the last resort, which never fails."""
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    charset = (declared or "").strip().lower().strip('"')
    if charset in ("iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii", "iso8859-1", "utf-8", "utf8", ""):
        charset = "windows-1252"
    try:
        return payload.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return payload.decode("windows-1252", errors="replace")


def fix_mojibake(text: str) -> str:
    """UTF-8 that was decoded as Latin-1 somewhere upstream (a header mislabelled as ISO-8859-1)."""
    if not _MOJIBAKE.search(text):
        return text
    try:
        return text.encode("windows-1252").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


_BLOCK_END = re.compile(r"(?i)<br\s*/?>|</(p|div|tr|li|h[1-6]|blockquote|table)>")


def html_to_text(markup: str) -> str:
    """HTML mail as plain text for the timeline: sanitised by nh3 down to no tags at all (scripts and
    styles dropped with their content), line breaks kept where blocks ended."""
    markup = _BLOCK_END.sub(lambda m: m.group(0) + "\n", markup)
    cleaned = nh3.clean(markup, tags=set(), clean_content_tags={"script", "style", "head", "title"})
    text = html.unescape(cleaned)
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# Where quoted history starts: Outlook's header block, "On ... wrote:" in several languages, a
# separator line, or the first run of ">" lines.
_HISTORY = re.compile(
    r"(?im)^(?:"
    r"-{2,}\s*(?:original message|ursprungligt meddelande|alkuperäinen viesti|forwarded message)\s*-{2,}"
    r"|_{10,}"
    r"|(?:from|från|lähettäjä|fra)\s*:\s.+\n(?:(?:sent|skickat|lähetetty|date|datum|to|till|vastaanottaja)\s*:)"
    r"|(?:on|den|am|le)\s.{0,200}(?:wrote|skrev|kirjoitti|schrieb|a écrit).{0,200}:\s*$"
    r"|.{0,100}\s(?:kirjoitti|skrev|wrote)\s*:\s*$"
    r"|>"
    r")"
)


def trim_history(text: str) -> str:
    """The new words of a reply, without the quoted conversation below them (kept elsewhere)."""
    match = _HISTORY.search(text)
    if match is None or match.start() == 0:
        return text.strip()
    trimmed = text[: match.start()].strip()
    return trimmed or text.strip()


# --- automatic mail ------------------------------------------------------------------------------

_DAEMON = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|noreply-dmarc)@", re.I)


def automatic_reason(msg: EmailMessage, from_address: str) -> str:
    """Why the message is no person's mail ("" if it is). Such mail opens no ticket and gets no
    answer, or two desks' auto-replies would write to each other for ever (RFC 3834)."""
    ctype = msg.get_content_type()
    if ctype == "multipart/report" and "delivery-status" in str(msg.get_param("report-type", "")).lower():
        return "bounce"
    if _DAEMON.match(from_address):
        return "bounce"
    return_path = str(msg.get("Return-Path", "") or "").strip()
    if return_path == "<>":
        return "bounce"
    auto = str(msg.get("Auto-Submitted", "") or "").strip().lower()
    if auto and auto != "no":
        return "auto-submitted"
    if (
        msg.get("X-Autoreply")
        or msg.get("X-Autorespond")
        or msg.get("X-Auto-Response-Suppress", "").lower()
        in (
            "all",
            "oof",
        )
    ):
        return "auto-reply"
    precedence = str(msg.get("Precedence", "") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return "bulk"
    if msg.get("List-Id") or msg.get("List-Unsubscribe"):
        return "bulk"
    return ""


def _bounce_details(msg: EmailMessage) -> tuple[list[str], str]:
    """The Message-IDs of the mail that bounced and the failure text (RFC 3464)."""
    ids: list[str] = []
    reason = ""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            payload = part.get_payload()
            blocks = payload if isinstance(payload, list) else []
            for block in blocks:
                status = block.get("Diagnostic-Code") or block.get("Status")
                if status and not reason:
                    reason = " ".join(str(status).split())
        elif ctype in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                inner = payload[0]
            else:
                inner = email.message_from_string(str(payload), policy=email.policy.default)
            for name in ("Message-ID", "In-Reply-To", "References"):
                ids += _ids(str(inner.get(name, "") or ""))
    return ids, reason


# --- parsing -------------------------------------------------------------------------------------

_ID = re.compile(r"<[^<>\s]+>")


def _ids(value: str) -> list[str]:
    return _ID.findall(value or "")


def _header(msg: EmailMessage, name: str) -> str:
    value = msg.get(name)
    if value is None:
        return ""
    return fix_mojibake(" ".join(str(value).split()))


def _part_text(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True)  # undoes quoted-printable and base64
    if payload is None:
        return ""
    return decode_bytes(payload, part.get_content_charset()).replace("\r\n", "\n").replace("\r", "\n")


def _body(msg: EmailMessage) -> tuple[str, list[dict], list[Upload]]:
    plain: list[str] = []
    markup: list[str] = []
    attachments: list[dict] = []
    files: list[Upload] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        ctype = part.get_content_type()
        if disposition == "attachment" or (part.get_filename() and ctype not in ("text/plain", "text/html")):
            data = part.get_payload(decode=True) or b""
            name = fix_mojibake(part.get_filename() or "")
            attachments.append({"filename": name, "content_type": ctype, "size": len(data)})
            files.append(Upload(name=name, data=data))
        elif ctype == "text/plain":
            plain.append(_part_text(part))
        elif ctype == "text/html":
            markup.append(_part_text(part))
    if plain:
        return "\n\n".join(p.strip() for p in plain).strip(), attachments, files
    return "\n\n".join(html_to_text(m) for m in markup).strip(), attachments, files


# The headers kept with the timeline entry, for staff to expand (decoded, escaped when shown).
HEADERS_SHOWN = (
    "From",
    "Reply-To",
    "Sender",
    "To",
    "Cc",
    "Date",
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Return-Path",
    "Auto-Submitted",
    "X-Mailer",
    "User-Agent",
)


def parse(raw: bytes) -> ParsedMail:
    """Read a raw message. Raises ``UnparseableMail`` when it has no sender or its MIME structure is
    broken (a truncated multipart): better quarantined whole than imported half."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    defects = [d for part in msg.walk() for d in part.defects]
    fatal = [
        d
        for d in defects
        if type(d).__name__
        in ("StartBoundaryNotFoundDefect", "CloseBoundaryNotFoundDefect", "MultipartInvariantViolationDefect")
    ]
    if fatal:
        raise UnparseableMail(f"broken MIME structure: {type(fatal[0]).__name__}")
    try:
        from_name, from_address = parseaddr(_header(msg, "From"))
    except Exception as exc:  # the header parser's errors are many and undocumented
        raise UnparseableMail(f"unreadable From header: {exc}") from exc
    if not from_address or "@" not in from_address:
        raise UnparseableMail("no sender address")
    try:
        text, attachments, files = _body(msg)
    except Exception as exc:
        raise UnparseableMail(f"unreadable body: {exc}") from exc
    if msg.is_multipart() and not text and not attachments:
        raise UnparseableMail("multipart message with no readable part")
    automatic = automatic_reason(msg, from_address)
    bounce_of, bounce_reason = _bounce_details(msg) if automatic == "bounce" else ([], "")
    in_reply_to = _ids(str(msg.get("In-Reply-To", "") or "")) + _ids(str(msg.get("References", "") or ""))
    headers = {name: _header(msg, name)[:2000] for name in HEADERS_SHOWN if msg.get(name) is not None}
    return ParsedMail(
        message_key=message_key(raw, str(msg.get("Message-ID", "") or "").strip() or None),
        from_address=from_address.strip().lower(),
        from_name=from_name,
        subject=_header(msg, "Subject"),
        text=trim_history(text),
        full_text=text,
        in_reply_to=in_reply_to,
        headers=headers,
        attachments=attachments,
        files=files,
        automatic=automatic,
        bounce_of=bounce_of,
        bounce_reason=bounce_reason,
    )


def peek_headers(raw: bytes) -> tuple[str, str]:
    """Sender and subject of a message that would not parse, best effort, for the quarantine list."""
    try:
        msg = email.message_from_bytes(raw.split(b"\r\n\r\n", 1)[0], policy=email.policy.default)
        return parseaddr(_header(msg, "From"))[1].lower(), _header(msg, "Subject")
    except Exception:  # it is already known to be broken; the list shows dashes
        return "", ""


def best_effort_text(raw: bytes) -> str:
    """Whatever text can be read from a message that would not parse (for a ticket an agent opens
    from quarantine by hand): its text parts if the MIME walk gets that far, else the raw body."""
    texts: list[str] = []
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        for part in msg.walk():
            if part.get_content_type() in ("text/plain", "text/html") and not part.is_multipart():
                payload = part.get_payload(decode=True)
                if payload:
                    text = decode_bytes(payload, part.get_content_charset())
                    texts.append(html_to_text(text) if part.get_content_type() == "text/html" else text)
    except Exception:  # it is already known to be broken: fall back to the bytes themselves
        texts = []
    if texts:
        return "\n\n".join(t.strip() for t in texts).strip()
    body = raw.split(b"\r\n\r\n", 1)[-1] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[-1]
    return decode_bytes(body, None).replace("\r\n", "\n").strip()


# --- threading -----------------------------------------------------------------------------------

_REFERENCE = re.compile(rf"\[?\b{REFERENCE_PREFIX}(\d{{1,12}})\b\]?", re.I)


def desk_domain() -> str:
    return settings.NOTIFICATION_MESSAGE_ID_DOMAIN


def ticket_ids_from_message_ids(ids: list[str]) -> list[int]:
    """Ticket ids named by the desk's own Message-IDs: every mail the desk sends about a ticket
    refers to ``<ticket.t{id}@domain>`` (tickets owns this format; notifications writes it), and
    its own id carries ``.t{id}.``, so the customer's client quotes one of them back."""
    domain = re.escape(desk_domain())
    pattern = re.compile(rf"^<(?:ticket\.t(\d+)|[\w-]+\.t(\d+)\.c\d+)@{domain}>$", re.I)
    found = []
    for mid in ids:
        m = pattern.match(mid.strip())
        if m:
            found.append(int(m.group(1) or m.group(2)))
    return found


def ticket_id_from_subject(subject: str) -> int | None:
    m = _REFERENCE.search(subject or "")
    return int(m.group(1)) if m else None


def desk_addresses() -> set[str]:
    """The desk's own sender addresses: mail from them is never imported (our own mail bounced
    back through a forward would otherwise become a ticket, and answer itself)."""
    addresses = {parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower()}
    extra = getattr(settings, "INTAKE_OWN_ADDRESSES", []) or []
    addresses.update(a.lower() for _, a in getaddresses(extra) if a)
    return {a for a in addresses if a}
