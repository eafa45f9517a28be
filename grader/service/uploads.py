"""Checking an upload before it is stored: a JSON body of file names and base64 contents.

The API process only decodes and measures the bytes; it never parses them as Python or notebooks.
"""
from __future__ import annotations

import base64
import binascii
import json
from pathlib import PurePosixPath
from typing import Callable

MAX_NAME = 200
MAX_DEPTH = 8


class UploadRefused(Exception):
    """An upload that is not accepted; `status` is the HTTP status to answer (413 or 422)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def safe_relative_path(name: str) -> PurePosixPath:
    """`name` as a relative path inside the submission folder, or ValueError."""
    if (not isinstance(name, str) or not name or len(name) > MAX_NAME or not name.isprintable()
            or "\\" in name or name.startswith("/")):
        raise ValueError(f"file name {str(name)[:80]!r} is not allowed")
    path = PurePosixPath(name)
    if len(path.parts) > MAX_DEPTH or any(part in ("", ".", "..") or part.startswith(".") for part in path.parts):
        raise ValueError(f"file name {name[:80]!r} is not allowed (no '..', hidden or empty parts)")
    return path


def parse_upload(body: bytes, limits: Callable[[str], tuple[int, int]]) -> tuple[str, dict[str, bytes]]:
    """(assignment name, {file name: bytes}) from the request body, or UploadRefused. `limits(name)`
    gives the assignment's (max files, max bytes), or raises when there is no such assignment."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise UploadRefused(422, "the request body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("assignment"), str) or not isinstance(data.get("files"), dict):
        raise UploadRefused(422, 'expected {"assignment": NAME, "files": {FILE NAME: BASE64 CONTENTS}}')
    files = data["files"]
    max_files, max_bytes = limits(data["assignment"])
    if not files:
        raise UploadRefused(422, "the upload holds no files")
    if len(files) > max_files:
        raise UploadRefused(413, f"too many files: {len(files)} (at most {max_files} per submission)")
    decoded, total, seen = {}, 0, set()
    for name, encoded in files.items():
        try:
            path = safe_relative_path(name)
        except ValueError as exc:
            raise UploadRefused(422, str(exc)) from None
        if str(path) in seen:
            raise UploadRefused(422, f"file {name!r} is listed twice")
        seen.add(str(path))
        if not isinstance(encoded, str):
            raise UploadRefused(422, f"file {name!r}: contents must be a base64 string")
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise UploadRefused(422, f"file {name!r}: contents are not valid base64") from None
        total += len(content)
        if total > max_bytes:
            raise UploadRefused(413, f"the upload is larger than {max_bytes // 1024} KB")
        decoded[str(path)] = content
    return data["assignment"], decoded


def encode_files(files: dict[str, bytes]) -> bytes:
    """How an upload is stored: JSON of name -> base64."""
    return json.dumps({name: base64.b64encode(data).decode("ascii") for name, data in sorted(files.items())}).encode()
