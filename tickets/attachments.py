"""Files that come with tickets: what they are (sniffed from the bytes, not taken from the sender's
label), whether we keep them (size, count and type limits from settings), a file name that is safe
to show and to offer in a download, and a safe preview of an image. Pure functions;
``tickets.services.attachments_add`` stores.

Every way a file arrives — the customer's form, the staff reply box, the API, e-mail — is judged by
``check``/``check_all``; uploaded files (forms and API alike) are read through ``read_uploads``.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, ImageOps

# Magic numbers of the types we may keep, and of the ones we must recognise to refuse.
_SIGNATURES: list[tuple[bytes, str]] = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),  # an empty zip
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/msword"),  # OLE2: .doc/.xls/.ppt/.msi
    (b"MZ", "application/x-msdownload"),  # Windows executables
    (b"\x7fELF", "application/x-executable"),
    (b"#!", "text/x-script"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"\x1f\x8b", "application/gzip"),
]
_MARKUP = re.compile(rb"^\s*<(?:!doctype|html|head|body|script|svg|\?xml|iframe|object|a\s)", re.I)
_UNSAFE_NAME = re.compile(r"[^\w.\- ()+,&@]+", re.UNICODE)
# Names that run code when opened, whatever their bytes are.
_BLOCKED_SUFFIXES = {
    "exe", "com", "bat", "cmd", "scr", "pif", "msi", "js", "jse", "vbs", "vbe", "wsf", "ps1",
    "hta", "html", "htm", "xhtml", "svg", "jar", "lnk", "reg", "sh", "app", "dmg", "iso",
}  # fmt: skip


def sniff(data: bytes) -> str:
    """The type the bytes are: a known signature, else HTML/XML markup, else plain text if it decodes
    as UTF-8 or Windows-1252 without control bytes, else ``application/octet-stream``."""
    for magic, ctype in _SIGNATURES:
        if data.startswith(magic):
            return ctype
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    head = data[:1024]
    if _MARKUP.match(head.lstrip(b"\xef\xbb\xbf")):
        return "text/html"
    sample = data[:8192]
    if b"\x00" in sample:
        return "application/octet-stream"
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # not just a character cut at the sample's end
            try:
                text = sample.decode("windows-1252")
            except UnicodeDecodeError:
                return "application/octet-stream"
        else:
            text = sample[: exc.start].decode("utf-8")
    if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text):
        return "application/octet-stream"
    return "text/plain"


def clean_filename(name: str, *, fallback: str = "attachment") -> str:
    """The sender's file name made harmless: no directories, no control or odd characters, no leading
    dots, at most 150 characters (the suffix kept). Nordic letters stay: "räkning.pdf" is fine."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = _UNSAFE_NAME.sub("_", name).strip(" ._")
    if not name:
        return fallback
    if len(name) > 150:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: 140 - len(suffix)] + dot + suffix) if dot and len(suffix) <= 10 else name[:150]
    return name


def suffix(name: str) -> str:
    return name.rpartition(".")[2].lower() if "." in name else ""


@dataclass
class Upload:
    """A file offered to a ticket: the name its sender gave and its bytes."""

    name: str
    data: bytes


@dataclass
class Verdict:
    filename: str
    content_type: str
    size: int
    refused: str = ""  # why it is not kept, in words for the timeline or the form; "" when kept


def too_large() -> str:
    return _("larger than %(limit)s") % {"limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES)}


def check(upload: Upload) -> Verdict:
    """Decide on one file by its bytes and its name, against the configured limits."""
    filename = clean_filename(upload.name)
    size = len(upload.data)
    verdict = Verdict(filename=filename, content_type=sniff(upload.data), size=size)
    if size > settings.ATTACHMENT_MAX_BYTES:
        verdict.refused = too_large()
    elif size == 0:
        verdict.refused = _("empty file")
    elif (
        verdict.content_type not in settings.ATTACHMENT_ALLOWED_TYPES or suffix(filename) in _BLOCKED_SUFFIXES
    ):
        verdict.refused = _("files of this type are not accepted (%(type)s)") % {"type": verdict.content_type}
    return verdict


def check_all(uploads: list[Upload]) -> list[Verdict]:
    """Every file's verdict; those past ``ATTACHMENT_MAX_COUNT`` are refused for that reason."""
    verdicts = [check(u) for u in uploads]
    kept = 0
    for v in verdicts:
        if v.refused:
            continue
        kept += 1
        if kept > settings.ATTACHMENT_MAX_COUNT:
            v.refused = _("more than %(count)d files in one message") % {
                "count": settings.ATTACHMENT_MAX_COUNT
            }
    return verdicts


def read_uploads(files) -> tuple[list[Upload], list[str]]:
    """Uploaded files (Django's ``UploadedFile``s, from a form or the API) as ``Upload``s, and what
    is wrong with them, one message per refused file ("name: reason"), or for too many files. A file
    over the size limit is refused by its declared size, before its bytes are read."""
    files = [f for f in files if f]
    if len(files) > settings.ATTACHMENT_MAX_COUNT:
        return [], [
            ngettext("At most %(count)d file.", "At most %(count)d files.", settings.ATTACHMENT_MAX_COUNT)
            % {"count": settings.ATTACHMENT_MAX_COUNT}
        ]
    uploads, errors = [], []
    for f in files:
        if f.size > settings.ATTACHMENT_MAX_BYTES:
            upload = Upload(name=f.name or "", data=b"")
            verdict = Verdict(clean_filename(upload.name), "", f.size, too_large())
        else:
            upload = Upload(name=f.name or "", data=f.read())
            verdict = check(upload)
        if verdict.refused:
            errors.append(_("%(name)s: %(reason)s") % {"name": verdict.filename, "reason": verdict.refused})
        uploads.append(upload)
    return uploads, errors


# --- previews ---------------------------------------------------------------------------------------

# Shown inline only when the bytes are one of these raster formats (never SVG: it is a document that
# can carry script). The preview is a new image drawn by Pillow from the decoded pixels, so nothing of
# the sender's file but its pixels reaches the browser: no metadata (a phone photo's GPS position), no
# trailing bytes (a polyglot), at most PREVIEW_MAX_SIDE pixels a side.
PREVIEW_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
PREVIEW_MAX_SIDE = 1280
# Larger images are not decoded at all (a decompression bomb: a small file of huge dimensions).
PREVIEW_MAX_PIXELS = 50_000_000


def previewable(content_type: str) -> bool:
    return content_type in PREVIEW_TYPES


def preview(data: bytes, content_type: str, *, max_side: int = PREVIEW_MAX_SIDE) -> tuple[bytes, str] | None:
    """A re-encoded copy of an image to show inline: ``(bytes, content type)``, a JPEG for a photo and
    a PNG for the rest (a GIF's first frame), turned the way the camera was held, at most ``max_side``
    pixels a side. None when the bytes are not an image of the type they were sniffed as, or are
    too large or broken to decode."""
    expected = PREVIEW_TYPES.get(content_type)
    if expected is None:
        return None
    try:
        with warnings.catch_warnings():
            # Pillow warns (and only warns) between its own limit and twice it: a bomb all the same.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[expected])
        with image:
            width, height = image.size
            if width * height > PREVIEW_MAX_PIXELS or not width or not height:
                return None
            if expected == "JPEG":
                image.draft("RGB", (max_side, max_side))  # decode at a fraction of the size: cheap
            turned = ImageOps.exif_transpose(image)
            turned.thumbnail((max_side, max_side))
            if expected == "JPEG":
                clean, fmt, ctype = turned.convert("RGB"), "JPEG", "image/jpeg"
            else:
                mode = "RGBA" if turned.mode in ("RGBA", "LA", "P", "PA") else "RGB"
                clean, fmt, ctype = turned.convert(mode), "PNG", "image/png"
            clean.info = {}  # nothing of the sender's metadata (EXIF, GPS, comments, profiles)
            out = io.BytesIO()
            clean.save(
                out, fmt, **({"quality": 85, "optimize": True} if fmt == "JPEG" else {"optimize": True})
            )
            return out.getvalue(), ctype
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None
