"""Stages derived from touchpoint names by a dataset's keyword rules, in SQL (DuckDB-native like
the import that uses it; the Python twin is :func:`cx.schema.derive_stage`)."""
from __future__ import annotations

import duckdb

from . import schema


def _norm_sql(expr: str) -> str:
    """SQL twin of schema.normalise_name."""
    return f"trim(lower(regexp_replace(trim({expr}), '[^0-9a-zA-Z]+', '_', 'g')), '_')"


def derive_stages_sql(con: duckdb.DuckDBPyConnection, ds_schema: str, rules: list[tuple[str, str]],
                      only_derived: bool = True) -> int:
    """Re-derive interactions.stage from keyword rules for rows whose stage came from the rules."""
    vocab = stage_vocab_sql(con, f"SELECT DISTINCT touchpoint FROM {ds_schema}.interactions", rules)
    con.sql(f"CREATE OR REPLACE TEMP TABLE cx_vocab AS {vocab}")
    n = con.sql(f"SELECT count(*) FROM {ds_schema}.interactions WHERE _stage_derived").fetchall()[0][0]
    con.sql(f"UPDATE {ds_schema}.interactions AS i SET stage = v.stage FROM cx_vocab v "
            f"WHERE i.touchpoint = v.touchpoint AND i._stage_derived")
    con.sql(f"UPDATE {ds_schema}.interactions SET stage = NULL WHERE _stage_derived AND touchpoint NOT IN "
            f"(SELECT touchpoint FROM cx_vocab WHERE stage IS NOT NULL)")
    con.sql("DROP TABLE cx_vocab")
    return n


def stage_vocab_sql(con, distinct_sql: str, rules: list[tuple[str, str]]) -> str:
    """SQL: touchpoint -> stage by the first matching rule (rules are data: a temp table)."""
    con.sql("CREATE OR REPLACE TEMP TABLE cx_rules (position INTEGER, pattern VARCHAR, stage VARCHAR)")
    if rules:
        con.sql("INSERT INTO cx_rules SELECT unnest($p), unnest($r), unnest($s)",
                params={"p": list(range(len(rules))), "r": [schema.keyword_regex(k) for k, _ in rules],
                        "s": [s for _, s in rules]})
    return (f"SELECT d.touchpoint, arg_min(r.stage, r.position) AS stage FROM ({distinct_sql}) d "
            f"LEFT JOIN cx_rules r ON regexp_matches({_norm_sql('d.touchpoint')}, r.pattern) GROUP BY d.touchpoint")
