"""Sniffing a file: encoding, delimiter, header names, content hash, UTF-8 copies, and the CSV
reader's reasons for the rows it rejects."""
from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import itertools
import mmap
import os
import re
import tempfile
import threading
from pathlib import Path

builtins_open = open
SNIFF_BYTES = 1 << 20
# Python's csv module refuses fields over 128 KiB: the sniffed head (at most SNIFF_BYTES) may hold a
# longer one (a long comment), which must not be a raw csv.Error
csv.field_size_limit(max(csv.field_size_limit(), 2 * SNIFF_BYTES))


def _open_bytes(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def _sniff_delimiter(text: str) -> str:
    best, best_score = ",", -1.0
    for delim in (",", ";", "\t", "|"):
        try:
            rows = list(itertools.islice(csv.reader(io.StringIO(text, newline=""), delimiter=delim), 200))
        except csv.Error:
            continue
        if len(rows) > 1 and not text.endswith("\n"):
            rows = rows[:-1]  # the sample may cut the last record
        counts = [len(r) for r in rows if r]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        score = counts.count(mode) / len(counts) + (0.001 if mode == len(rows[0]) else 0)
        if score > best_score + 1e-9:
            best, best_score = delim, score
    return best


def _header_names(raw: list[str]) -> tuple[list[str], list[str]]:
    """Clean header names: blanks get 'column_N', duplicates get ' (2)', ' (3)' ..."""
    names, warnings, seen = [], [], {}
    for i, h in enumerate(raw):
        h = (h or "").strip().lstrip("\ufeff")
        if not h:
            h = f"column_{i + 1}"
            warnings.append(f"Column {i + 1} has no name in the header; it is called '{h}'.")
        if h in seen:
            seen[h] += 1
            new = f"{h} ({seen[h]})"
            warnings.append(f"The header names '{h}' more than once; column {i + 1} is read as '{new}'.")
            h = new
        else:
            seen[h] = 1
        names.append(h)
    return names, warnings


def _sha256(path: Path) -> str:
    """The sha256 of the file's bytes (hashlib releases the GIL: a helper thread hashes while the
    file is read and checked)."""
    with builtins_open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _has_nul(path: Path) -> bool:
    """Whether any byte of the file is NUL (memchr over the mapped file: no copy, ~10 ms per 100 MB
    in the page cache)."""
    with builtins_open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return False
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            return m.find(b"\x00") >= 0


class _Hash(threading.Thread):
    """_sha256 in a helper thread, started when the file is opened; get() waits for it."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path, self.result, self.error = path, None, None
        self.start()

    def run(self) -> None:
        try:
            self.result = _sha256(self.path)
        except BaseException as e:  # noqa: BLE001 - handed to the caller on get()
            self.error = e

    def get(self) -> str:
        self.join()
        if self.error is not None:
            raise self.error
        return self.result


def _transcode(path: Path, encoding: str, normalise_newlines: bool) -> Path:
    """Write a UTF-8 copy of the file (for other encodings or mixed line endings)."""
    fd, out = tempfile.mkstemp(prefix="cx_import_", suffix=".csv")
    dec = codecs.getincrementaldecoder(encoding)(errors="replace")
    with _open_bytes(path) as f, os.fdopen(fd, "wb") as o:
        carry = ""
        while True:
            chunk = f.read(1 << 22)
            text = dec.decode(chunk, final=not chunk)
            text = carry + text
            carry = ""
            if normalise_newlines:
                if text.endswith("\r") and chunk:
                    carry, text = "\r", text[:-1]
                text = text.replace("\r\n", "\n")
            o.write(text.encode("utf-8"))
            if not chunk:
                break
    return Path(out)


def _reader_problem(kind: str, msg: str | None, line: str | None) -> str:
    m = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", msg or "")
    if kind == "MISSING COLUMNS" and m:
        return f"too few fields: expected {m.group(1)}, found {m.group(2)}"
    if kind == "TOO MANY COLUMNS" and m:
        return f"too many fields: expected {m.group(1)}, found {m.group(2)}"
    if kind == "UNQUOTED VALUE":
        extra = (line or "").rstrip("\r\n").count("\n")
        return ("unterminated quote: the field runs on to the end of the file"
                + (f", taking {extra} more line(s) with it" if extra else ""))
    if kind == "INVALID ENCODING":
        return "invalid UTF-8 bytes in this row"
    if kind == "LINE SIZE OVER MAXIMUM":
        return "the row is longer than 128 MB"
    return f"{kind.lower()}: {(msg or '').splitlines()[0] if msg else ''}".strip()
