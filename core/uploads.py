"""Bounded request bodies: the messages for a body or file that is too big, and the upload handler
that stops a multipart file part growing past ``UPLOAD_MAX_FILE_SIZE``.

Django counts only the non-file part of a multipart body against ``DATA_UPLOAD_MAX_MEMORY_SIZE``;
a 20 MB file part would be read, spooled to disk and only then dropped by a view that ignores it.
``supportdesk.middleware.HostileInputMiddleware`` refuses a body whose Content-Length is above
``REQUEST_MAX_BODY_SIZE`` before anything is read; this handler covers what the header does not say
(a body sent without Content-Length, one file over its own limit).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadhandler import FileUploadHandler
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _


class FileTooBig(RequestDataTooBig):
    """One uploaded file, or all of them together, is over the limit; ``limit`` in bytes."""

    def __init__(self, limit: int):
        super().__init__(f"upload larger than {limit} bytes")
        self.limit = limit


def too_big_message(exc: Exception | None = None) -> str:
    """What the caller is told about a body or file over its limit (with the limit, readable)."""
    if isinstance(exc, FileTooBig):
        return _("A file is larger than %(limit)s.") % {"limit": filesizeformat(exc.limit)}
    limit = getattr(exc, "limit", None) or settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return _("The request body is larger than %(limit)s.") % {"limit": filesizeformat(limit)}


def too_many_parts_message(exc: Exception) -> str:
    if isinstance(exc, TooManyFilesSent):
        return _("Too many files in one request (at most %(count)d).") % {
            "count": settings.DATA_UPLOAD_MAX_NUMBER_FILES
        }
    return _("Too many form fields in one request (at most %(count)d).") % {
        "count": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    }


class BodyTooBig(RequestDataTooBig):
    """The whole body (by its Content-Length) is over ``REQUEST_MAX_BODY_SIZE``."""

    def __init__(self, limit: int):
        super().__init__(f"body larger than {limit} bytes")
        self.limit = limit


def body_limit_for(META) -> int:
    """The largest body this request may send: files make multipart bodies larger."""
    if str(META.get("CONTENT_TYPE", "")).lower().startswith("multipart/"):
        return settings.REQUEST_MAX_BODY_SIZE
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def oversize_error(exc: Exception) -> tuple[int, str] | None:
    """The status and message for a body-size or part-count refusal, or None for other errors."""
    if isinstance(exc, RequestDataTooBig):
        return 413, too_big_message(exc)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return 400, too_many_parts_message(exc)
    return None


class BoundedUploadHandler(FileUploadHandler):
    """First in ``FILE_UPLOAD_HANDLERS``: counts each file part's bytes, and all of them together, and
    stops the parse with ``FileTooBig`` (a 413) at the first chunk over the limit."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.total = 0
        return None

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.size = 0

    def receive_data_chunk(self, raw_data, start):
        self.size += len(raw_data)
        self.total = getattr(self, "total", 0) + len(raw_data)
        if self.size > settings.UPLOAD_MAX_FILE_SIZE:
            raise FileTooBig(settings.UPLOAD_MAX_FILE_SIZE)
        if self.total > settings.REQUEST_MAX_BODY_SIZE:
            raise BodyTooBig(settings.REQUEST_MAX_BODY_SIZE)
        return raw_data

    def file_complete(self, file_size):
        return None
