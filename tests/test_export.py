"""Exports are safe to open in a spreadsheet: cells and column names (issue 19, finding 7)."""
import polars as pl

from cx.export import to_csv_bytes, write_csv


def test_csv_headers_are_formula_safe(tmp_path):
    df = pl.DataFrame({"=HYPERLINK(\"http://x\",\"y\")": [1], "+a": ["ok"], "-b": [2], "@c": [3], "\td": [4],
                       "plain": ["=1"], "'=e": [5], "=e": [6]})
    text = to_csv_bytes(df).decode()
    header = text.splitlines()[0]
    assert header == ('"\'=HYPERLINK(""http://x"",""y"")",\'+a,\'-b,\'@c,\'\td,plain,\'=e,\'=e (2)')
    out = pl.read_csv(to_csv_bytes(df))
    assert out["plain"].to_list() == ["'=1"] and out["'-b"].to_list() == [2]
    # the file writer too
    p = write_csv(df, tmp_path / "x.csv")
    assert p.read_text().splitlines()[0] == header


def test_safe_names_leave_ordinary_headers_alone():
    df = pl.DataFrame({"customer_id": ["a"], "predicted CLV": [1.5], "share %": [0.2]})
    assert to_csv_bytes(df).decode().splitlines()[0] == "customer_id,predicted CLV,share %"
