"""Safe exports: CSV that a spreadsheet opens without running anything."""
from __future__ import annotations

import io
from pathlib import Path

import polars as pl

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _csv_ready(df: pl.DataFrame) -> pl.DataFrame:
    """Columns CSV cannot hold as they are become text: categoricals/enums their labels, nested
    values (lists, structs, arrays) JSON, binary hex."""
    exprs = []
    for name, dtype in df.schema.items():
        c = pl.col(name)
        if isinstance(dtype, (pl.Categorical, pl.Enum)):
            exprs.append(c.cast(pl.Utf8))
        elif isinstance(dtype, (pl.List, pl.Array, pl.Struct)):
            # {"v":<json>} -> <json>
            exprs.append(pl.struct(c.alias("v")).struct.json_encode().str.slice(5).str.head(-1).alias(name))
        elif dtype == pl.Binary:
            exprs.append(c.bin.encode("hex"))
    return df.with_columns(exprs) if exprs else df


def safe_name(name: str) -> str:
    """A column name a spreadsheet will not run: a leading =, +, -, @, tab or carriage return
    gets a single quote in front (a query's alias `=HYPERLINK(...)` is a header too)."""
    return "'" + name if name.startswith(_DANGEROUS) else name


def neutralise(df: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells and column names that a spreadsheet would read as a formula (starting
    with =, +, -, @, tab or carriage return) with a single quote. Categorical and nested columns
    are made text first."""
    df = _csv_ready(df)
    names = [safe_name(c) for c in df.columns]
    if names != df.columns:
        taken: set[str] = set()
        unique = []
        for n in names:  # "=a" -> "'=a" may meet a column already called "'=a"
            new, i = n, 1
            while new in taken:
                i += 1
                new = f"{n} ({i})"
            taken.add(new)
            unique.append(new)
        df = df.rename(dict(zip(df.columns, unique)))
    exprs = []
    for name, dtype in df.schema.items():
        if dtype == pl.Utf8:
            c = pl.col(name)
            risky = pl.any_horizontal([c.str.starts_with(p) for p in _DANGEROUS])
            exprs.append(pl.when(risky).then(pl.lit("'") + c).otherwise(c).alias(name))
    return df.with_columns(exprs) if exprs else df


def to_csv_bytes(df: pl.DataFrame, readable: bool = False) -> bytes:
    """The frame as formula-safe CSV. readable=True (the app's downloads): the first header row
    holds the names a reader sees (cx.report.header: "predicted CLV", "P(alive)"), the second the
    machine names (predicted_clv, p_alive), so a spreadsheet reads well and a script can still map
    the columns; the default keeps the machine names alone (notebooks, the CLI)."""
    buf = io.BytesIO()
    out = neutralise(df)
    if readable:
        from .report import header

        names = [safe_name(header(c)) for c in df.columns]
        head = pl.DataFrame([names, [safe_name(c) for c in df.columns]], schema=out.columns, orient="row")
        buf.write(head.write_csv(include_header=False).encode())
        out.write_csv(buf, include_header=False)
        return buf.getvalue()
    out.write_csv(buf)
    return buf.getvalue()


def write_csv(df: pl.DataFrame, path) -> Path:
    path = Path(path)
    neutralise(df).write_csv(path)
    return path
