"""Safe exports: CSV that a spreadsheet opens without running anything."""
from __future__ import annotations

import io
from pathlib import Path

import polars as pl

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(df: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that a spreadsheet would read as a formula with a single quote."""
    exprs = []
    for name, dtype in df.schema.items():
        if dtype == pl.Utf8:
            c = pl.col(name)
            risky = pl.any_horizontal([c.str.starts_with(p) for p in _DANGEROUS])
            exprs.append(pl.when(risky).then(pl.lit("'") + c).otherwise(c).alias(name))
    return df.with_columns(exprs) if exprs else df


def to_csv_bytes(df: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    neutralise(df).write_csv(buf)
    return buf.getvalue()


def write_csv(df: pl.DataFrame, path) -> Path:
    path = Path(path)
    neutralise(df).write_csv(path)
    return path
