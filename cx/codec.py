"""A small, explicit codec for the results the app keeps (cx.results): polars frames, the plain
values around them and cx's own dataclasses, as bytes, with nothing executed on the way back.

No pickle: a payload read from the database is data, never code. What it can hold:

- None, bool, int, float (NaN and infinities too), str; lists, tuples and dicts of these (any
  keys the codec can hold, e.g. a dict keyed by cluster number);
- polars DataFrames and Series (Arrow IPC, zstd), numpy arrays of numbers and numpy scalars;
- dates, datetimes, times, timedeltas and Decimals;
- dataclasses defined in the ``cx`` package (rebuilt field by field, without running their
  ``__init__``), and plotly figures (their JSON).

Anything else raises :class:`Unencodable` (the result is then kept in memory only). A payload that
does not decode (truncated, bit-flipped, written by another codec version, naming a class that is
gone or changed its fields) raises :class:`Corrupt`, and the caller computes the result again.

Layout: ``CXR1`` | crc32 of the rest (4 bytes) | header length (4) | header (JSON: the value's
tree, frames and arrays replaced by numbered references) | each blob: length (8) | bytes.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import io
import json
import struct
import zlib
from decimal import Decimal

import numpy as np
import polars as pl

MAGIC = b"CXR1"
FORMAT = "cxr1"


class Unencodable(TypeError):
    """The value holds something the codec does not store (it stays in memory only)."""


class Corrupt(ValueError):
    """The bytes are not a payload this codec can read back."""


def encode(value) -> bytes:
    blobs: list[bytes] = []
    tree = _enc(value, blobs)
    head = json.dumps({"v": tree, "n": len(blobs)}, separators=(",", ":")).encode()
    body = [struct.pack("<I", len(head)), head]
    for b in blobs:
        body += [struct.pack("<Q", len(b)), b]
    rest = b"".join(body)
    return MAGIC + struct.pack("<I", zlib.crc32(rest)) + rest


def decode(data: bytes):
    try:
        data = bytes(data)
        if data[:4] != MAGIC:
            raise Corrupt("not a result payload")
        (crc,) = struct.unpack_from("<I", data, 4)
        rest = memoryview(data)[8:]
        if zlib.crc32(rest) != crc:
            raise Corrupt("checksum mismatch")
        (n,) = struct.unpack_from("<I", rest, 0)
        head = json.loads(bytes(rest[4:4 + n]))
        pos, blobs = 4 + n, []
        for _ in range(head["n"]):
            (size,) = struct.unpack_from("<Q", rest, pos)
            pos += 8
            if pos + size > len(rest):
                raise Corrupt("truncated")
            blobs.append(rest[pos:pos + size])
            pos += size
        if pos != len(rest):
            raise Corrupt("trailing bytes")
        return _dec(head["v"], blobs)
    except Corrupt:
        raise
    except Exception as e:  # noqa: BLE001 - whatever went wrong, the payload cannot be read back
        raise Corrupt(f"{type(e).__name__}: {e}") from e


# -- the value's tree ------------------------------------------------------------------------
def _blob(blobs: list, b: bytes) -> int:
    blobs.append(b)
    return len(blobs) - 1


def _frame_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    try:
        df.write_ipc(buf, compression="zstd")
    except Exception as e:  # noqa: BLE001 - e.g. an Object column: not storable
        raise Unencodable(f"frame: {e}") from e
    return buf.getvalue()


def _enc(x, blobs: list):
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, int) and type(x) is int:
        return x
    if isinstance(x, float) and type(x) is float:
        return x
    if isinstance(x, list):
        return [_enc(v, blobs) for v in x]
    if isinstance(x, tuple) and type(x) is tuple:
        return {"$": "tuple", "v": [_enc(v, blobs) for v in x]}
    if isinstance(x, dict) and type(x) is dict:
        return {"$": "dict", "k": [_enc(k, blobs) for k in x], "v": [_enc(v, blobs) for v in x.values()]}
    if isinstance(x, pl.DataFrame):
        return {"$": "frame", "i": _blob(blobs, _frame_bytes(x))}
    if isinstance(x, pl.Series):
        return {"$": "series", "i": _blob(blobs, _frame_bytes(x.to_frame()))}
    if isinstance(x, dt.datetime):
        return {"$": "datetime", "v": x.isoformat()}
    if isinstance(x, dt.date):
        return {"$": "date", "v": x.isoformat()}
    if isinstance(x, dt.time):
        return {"$": "time", "v": x.isoformat()}
    if isinstance(x, dt.timedelta):
        return {"$": "timedelta", "v": [x.days, x.seconds, x.microseconds]}
    if isinstance(x, Decimal):
        return {"$": "decimal", "v": str(x)}
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "biufcmM":
            raise Unencodable(f"numpy array of {x.dtype}")
        return {"$": "ndarray", "t": x.dtype.str, "s": list(x.shape),
                "i": _blob(blobs, np.ascontiguousarray(x).tobytes())}
    if isinstance(x, np.generic):
        if x.dtype.kind not in "biufc":
            raise Unencodable(f"numpy scalar of {x.dtype}")
        return {"$": "np", "t": x.dtype.str, "v": _enc(x.item(), blobs)}
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        cls = type(x)
        if not cls.__module__.startswith("cx.") or "<locals>" in cls.__qualname__:
            raise Unencodable(f"dataclass {cls.__module__}.{cls.__qualname__} is not cx's own")
        return {"$": "dc", "c": f"{cls.__module__}:{cls.__qualname__}",
                "f": {f.name: _enc(getattr(x, f.name), blobs) for f in dataclasses.fields(x)}}
    if type(x).__module__.startswith("plotly.") and hasattr(x, "to_plotly_json"):
        import plotly.graph_objects as go

        if isinstance(x, go.Figure):
            return {"$": "plotly", "v": x.to_json()}
    raise Unencodable(type(x).__name__)


def _dec(t, blobs: list):
    if t is None or isinstance(t, (bool, int, float, str)):
        return t
    if isinstance(t, list):
        return [_dec(v, blobs) for v in t]
    tag = t["$"]
    if tag == "tuple":
        return tuple(_dec(v, blobs) for v in t["v"])
    if tag == "dict":
        return {_hashable(_dec(k, blobs)): _dec(v, blobs) for k, v in zip(t["k"], t["v"], strict=True)}
    if tag == "frame":
        return pl.read_ipc(io.BytesIO(blobs[t["i"]]))
    if tag == "series":
        return pl.read_ipc(io.BytesIO(blobs[t["i"]])).to_series()
    if tag == "datetime":
        return dt.datetime.fromisoformat(t["v"])
    if tag == "date":
        return dt.date.fromisoformat(t["v"])
    if tag == "time":
        return dt.time.fromisoformat(t["v"])
    if tag == "timedelta":
        return dt.timedelta(*t["v"])
    if tag == "decimal":
        return Decimal(t["v"])
    if tag == "ndarray":
        dtype = np.dtype(t["t"])
        if dtype.kind not in "biufcmM":
            raise Corrupt(f"numpy array of {dtype}")
        return np.frombuffer(bytes(blobs[t["i"]]), dtype=dtype).reshape(t["s"]).copy()
    if tag == "np":
        dtype = np.dtype(t["t"])
        if dtype.kind not in "biufc":
            raise Corrupt(f"numpy scalar of {dtype}")
        return dtype.type(_dec(t["v"], blobs))
    if tag == "dc":
        return _dataclass(t["c"], {k: _dec(v, blobs) for k, v in t["f"].items()})
    if tag == "plotly":
        import plotly.io as pio

        return pio.from_json(t["v"])
    raise Corrupt(f"unknown tag {tag!r}")


def _hashable(k):
    if isinstance(k, list):
        raise Corrupt("a list as a dict key")
    return k


def _dataclass(name: str, values: dict):
    """One of cx's dataclasses, rebuilt from its fields: only a class of the cx package, only when
    the stored fields are exactly the class's fields (a class that changed is a miss)."""
    mod, _, qual = name.partition(":")
    if not mod.startswith("cx.") or not qual or "<" in qual:
        raise Corrupt(f"class {name!r} is not cx's own")
    try:
        cls = importlib.import_module(mod)
        for part in qual.split("."):
            cls = getattr(cls, part)
    except (ImportError, AttributeError) as e:
        raise Corrupt(f"class {name!r} is gone") from e
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise Corrupt(f"{name!r} is not a dataclass")
    if {f.name for f in dataclasses.fields(cls)} != set(values):
        raise Corrupt(f"the fields of {name!r} changed")
    obj = object.__new__(cls)
    for k, v in values.items():
        object.__setattr__(obj, k, v)
    return obj
