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


# The delimiters a text file may use: a character, or "whitespace" (runs of spaces or tabs, as in
# published fixed-width-looking logs: read through a normalised copy, see split_whitespace)
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", "whitespace": "whitespace"}
WHITESPACE = "whitespace"
_WS_RUN = re.compile(rb"[ \t\r\x0b\x0c]+")


def split_whitespace(data: bytes, in_quote: bool = False) -> tuple[bytes, bool]:
    """Whole lines of a whitespace-separated text (UTF-8) as tab-separated lines: each run of spaces
    or tabs between fields becomes one tab, and the spaces at the start and end of each line go;
    inside double quotes nothing changes (a quoted value keeps its spaces and may run over lines:
    `in_quote` says whether `data` starts inside one; returned for the next chunk). Lines stay
    lines, so the reader's line numbers are the file's."""
    if not in_quote and b'"' not in data:  # the fast path: no quotes at all
        return b"\n".join([b"\t".join(line.split()) for line in data.split(b"\n")]), False
    out = []
    for line in data.split(b"\n"):
        if not in_quote and b'"' not in line:
            out.append(b"\t".join(line.split()))
            continue
        parts = line.split(b'"')
        last = len(parts) - 1
        for k, part in enumerate(parts):
            if in_quote != (k % 2 == 1):  # inside quotes: as it is
                continue
            part = _WS_RUN.sub(b"\t", part)
            if k == 0:
                part = part.lstrip(b"\t")
            if k == last:
                part = part.rstrip(b"\t")
            parts[k] = part
        out.append(b'"'.join(parts))
        in_quote = in_quote != (last % 2 == 1)
    return b"\n".join(out), in_quote


def split_whitespace_text(text: str) -> str:
    """split_whitespace for a decoded text (the sniffed head of a file)."""
    return split_whitespace(text.encode("utf-8", "surrogatepass"))[0].decode("utf-8", "replace")


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the most records into the same number (2 or more) of fields: comma,
    semicolon, tab, pipe, or runs of whitespace (only when strictly better than every character:
    a tab- or comma-separated file whose values hold no spaces stays what it is)."""
    best, best_score = ",", -1.0
    for delim in DELIMITERS:
        sample, reader_delim = (split_whitespace_text(text), "\t") if delim == WHITESPACE else (text, delim)
        try:
            rows = list(itertools.islice(csv.reader(io.StringIO(sample, newline=""), delimiter=reader_delim), 200))
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


def _whitespace_copy(path: Path, encoding: str, cr_only: bool) -> Path:
    """A UTF-8, tab-separated copy of a whitespace-separated file (split_whitespace, streamed in
    chunks of whole lines; CR-only line ends become LF)."""
    fd, out = tempfile.mkstemp(prefix="cx_import_", suffix=".tsv")
    plain = encoding in ("utf-8", "utf-8-sig")
    dec = None if plain else codecs.getincrementaldecoder(encoding)(errors="replace")
    with _open_bytes(path) as f, os.fdopen(fd, "wb") as o:
        carry, in_quote, first = b"", False, True
        while True:
            chunk = f.read(1 << 22)
            data = chunk if plain else dec.decode(chunk, final=not chunk).encode("utf-8")
            if first and data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8):]
            first = False
            if cr_only:
                data = data.replace(b"\r", b"\n")
            data = carry + data
            cut = data.rfind(b"\n") + 1 if chunk else len(data)
            data, carry = data[:cut], data[cut:]
            text, in_quote = split_whitespace(data, in_quote)
            o.write(text)
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
