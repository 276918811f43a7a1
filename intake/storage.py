"""Attachment storage outside the web root, under random names; files are fsynced before the
database commit that refers to them, so an acknowledged report never points at a missing file."""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from intake.errors import AttachmentEmpty, AttachmentTooLarge, StorageUnavailable, UnsupportedFileType
from intake.filetypes import FileKind, sniff

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    kind: FileKind
    size: int
    sha256: str


class AttachmentStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, stored_name: str) -> Path:
        if not stored_name.isalnum():
            raise ValueError("invalid stored name")
        return self.root / stored_name[:2] / stored_name

    def save(self, stream: BinaryIO, max_bytes: int, kind: FileKind | None = None) -> StoredFile:
        """Check the content type (unless the caller vouches for it, as for an original .eml),
        copy with a size cap, fsync; raise a named error otherwise."""
        head = stream.read(8192)
        if not head:
            raise AttachmentEmpty()
        kind = kind or sniff(head)
        if kind is None:
            raise UnsupportedFileType()
        name = secrets.token_hex(16)
        target = self.path(name)
        tmp = target.with_suffix(".part")
        digest = hashlib.sha256()
        size = 0
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "xb") as out:
                chunk = head
                while chunk:
                    size += len(chunk)
                    if size > max_bytes:
                        raise AttachmentTooLarge(limit=max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
                    chunk = stream.read(CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
            _fsync_dir(target.parent)
        except AttachmentTooLarge:
            _discard(tmp)
            raise
        except OSError as exc:  # disk full, permissions, missing mount
            _discard(tmp)
            raise StorageUnavailable() from exc
        return StoredFile(stored_name=name, kind=kind, size=size, sha256=digest.hexdigest())

    def delete(self, stored_name: str) -> None:
        _discard(self.path(stored_name))

    def shred(self, stored_name: str) -> bool:
        """Overwrite the file with zeros (flushed to disk), then remove it. False if it was not there.
        (On copy-on-write or journalling storage an overwrite is best effort; the file is gone either way.)"""
        path = self.path(stored_name)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return False
        with open(path, "r+b") as fh:
            left, block = size, b"\0" * 65536
            while left > 0:
                fh.write(block[:min(left, len(block))])
                left -= min(left, len(block))
            fh.flush()
            os.fsync(fh.fileno())
        path.unlink()
        _fsync_dir(path.parent)
        return True

    def open(self, stored_name: str) -> BinaryIO:
        return open(self.path(stored_name), "rb")

    def writable(self) -> bool:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            return os.access(self.root, os.W_OK)
        except OSError:
            return False


def _discard(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
