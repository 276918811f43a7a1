"""Which evidence files we accept, decided by their content (magic numbers), never by their name."""
from __future__ import annotations

from dataclasses import dataclass

import filetype


@dataclass(frozen=True)
class FileKind:
    extension: str
    mime: str


# What a reporter typically has: documents, photos (HEIC from iPhones), voice memos, video.
ALLOWED = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "png": "image/png",
    "heic": "image/heic",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "mp3": "audio/mpeg",
    "m4a": "audio/mp4",
    "amr": "audio/amr",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
}
# The original of a mailed report, kept as evidence (never accepted from the public upload forms).
EML = FileKind(extension="eml", mime="message/rfc822")
ACCEPT_ATTR = ",".join("." + ext for ext in ALLOWED)


def sniff(head: bytes) -> FileKind | None:
    """The accepted kind of a file from its first bytes, or None."""
    guess = filetype.guess(head)
    if guess is None:
        return None
    ext = guess.extension
    if ext not in ALLOWED:
        return None
    return FileKind(extension=ext, mime=ALLOWED[ext])
