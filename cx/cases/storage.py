"""The closed loop's own state in cx_meta (tables made by cx.store): settings (JSON documents,
versioned), cases with their history, and the revision counter pages key their caches on.

Every write is one transaction under the store's write lock; a write that expects a version
(a case or a setting as the user saw it) is refused with :class:`StaleVersion` when someone else
saved first, never silently overwritten. Every change of a case or a plan is a row of
``cx_meta.loop_history`` (who, when, field, old value, new value), written in the same transaction.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timedelta

import polars as pl

from ..store import CXError, _now

SYSTEM = "CX Loop (rules)"  # the actor of automatic changes (rules, escalation)
STATUSES = ("new", "in_progress", "resolved", "wont_fix")
OPEN = ("new", "in_progress")
STATUS_LABELS = {"new": "new", "in_progress": "in progress", "resolved": "resolved", "wont_fix": "won't fix"}
PRIORITIES = ("high", "medium", "low")
# status -> the statuses a person may move it to (a closed case can be reopened)
MOVES = {"new": ("in_progress", "resolved", "wont_fix"), "in_progress": ("resolved", "wont_fix", "new"),
         "resolved": ("in_progress",), "wont_fix": ("in_progress",)}
CASE_COLUMNS = ("id", "customer_id", "reason", "trigger_key", "event_at", "detail", "touchpoint", "department",
                "owner", "assignee", "priority", "status", "opened_at", "due_at", "first_action_at", "closed_at",
                "escalated_to", "escalated_at", "version", "updated_at", "updated_by")


class StaleVersion(CXError):
    """Someone else saved this item since it was read: the save was refused (nothing written)."""


def ds_id(store, dataset: str | None) -> int:
    return 0 if dataset == "" else store.dataset(dataset).id  # "" = the store-wide settings (channels)


@contextmanager
def registered(cur, name: str, df: pl.DataFrame):
    """A polars frame visible to SQL on `cur` as `name` for the block (unregistered after it, quietly
    when the transaction already failed: the block's own error is the one that matters)."""
    cur.register(name, df.to_arrow())
    try:
        yield name
    finally:
        try:
            cur.unregister(name)
        except Exception:  # noqa: BLE001 - an aborted transaction refuses even this
            pass


def bump(cur, dataset_id: int) -> None:
    """Advance the dataset's loop revision (pages cache loop results per revision)."""
    cur.sql("INSERT INTO cx_meta.loop_rev VALUES ($d, 1) ON CONFLICT (dataset_id) DO UPDATE SET rev = rev + 1",
            params={"d": dataset_id})


def revision(store, dataset: str | None) -> int:
    """The loop revision of a dataset: changes on every write to its cases, plans, settings or events."""
    r = store.con.sql("SELECT rev FROM cx_meta.loop_rev WHERE dataset_id = $d",
                      params={"d": ds_id(store, dataset)}).fetchall()
    return int(r[0][0]) if r else 0


def history_rows(cur, dataset_id: int, obj: str, ids, who: str, field: str, old, new, at: datetime) -> None:
    """One history row per id (ids: a list; old/new: a value or a list of the same length)."""
    ids = [int(i) for i in ids]
    if not ids:
        return
    def many(v):
        return [None if x is None else str(x) for x in v] if isinstance(v, list) else [None if v is None else str(v)] * len(ids)
    cur.sql("INSERT INTO cx_meta.loop_history SELECT $d, $o, unnest($i), $t, $w, $f, unnest($a), unnest($b)",
            params={"d": dataset_id, "o": obj, "i": ids, "t": at, "w": who, "f": field, "a": many(old), "b": many(new)})


# -- settings: JSON documents per dataset (rules, routing, owners, targets, alert rules) or store-wide -------
def setting(store, dataset: str | None, key: str, default=None) -> tuple[object, int]:
    """(value, version) of a setting; (default, 0) when never saved."""
    r = store.con.sql("SELECT value, version FROM cx_meta.loop_settings WHERE dataset_id = $d AND key = $k",
                      params={"d": ds_id(store, dataset), "k": key}).fetchall()
    if not r:
        return default, 0
    return json.loads(r[0][0]), int(r[0][1])


def save_setting(store, dataset: str | None, key: str, value, version: int, who: str) -> int:
    """Save a setting expected at `version` (0: never saved). Returns the new version; raises
    StaleVersion when someone saved it since."""
    d = ds_id(store, dataset)
    text = json.dumps(value, sort_keys=True, default=str)
    now = _now()
    with store.transaction() as cur:
        r = cur.sql("SELECT version, value, updated_by, updated_at FROM cx_meta.loop_settings "
                    "WHERE dataset_id = $d AND key = $k", params={"d": d, "k": key}).fetchall()
        have = int(r[0][0]) if r else 0
        if have != version:
            raise StaleVersion(f"The {key.replace('_', ' ')} were changed by {r[0][2]} at {r[0][3]:%Y-%m-%d %H:%M} "
                               "since you opened them: nothing was saved. Reload to see their change, then edit again.")
        cur.sql("INSERT OR REPLACE INTO cx_meta.loop_settings VALUES ($d, $k, $v, $n, $t, $w)",
                params={"d": d, "k": key, "v": text, "n": have + 1, "t": now, "w": who})
        history_rows(cur, d, "setting", [0], who, key, r[0][1] if r else None, text, now)
        bump(cur, d)
    return have + 1


# -- cases ------------------------------------------------------------------------------------------------
def cases(store, dataset: str | None, now: datetime | None = None, customer: str | None = None) -> pl.DataFrame:
    """Every case of the dataset (or of one customer), newest first, with age_days (since it opened),
    overdue (open and past its due time) and open."""
    now = now or _now()
    q = (f"SELECT {', '.join(CASE_COLUMNS)} FROM cx_meta.loop_cases WHERE dataset_id = $d"
         + (" AND customer_id = $c" if customer is not None else "") + " ORDER BY opened_at DESC, id DESC")
    params = {"d": ds_id(store, dataset)}
    if customer is not None:
        params["c"] = customer
    df = store.con.sql(q, params=params).pl()
    return with_state(df, now)


def with_state(df: pl.DataFrame, now: datetime) -> pl.DataFrame:
    is_open = pl.col("status").is_in(list(OPEN))
    return df.with_columns(
        open=is_open,
        overdue=is_open & (pl.col("due_at") < pl.lit(now)),
        age_days=((pl.lit(now) - pl.col("opened_at")).dt.total_seconds() / 86400.0).round(1))


def case(store, dataset: str | None, case_id: int) -> dict:
    df = store.con.sql(f"SELECT {', '.join(CASE_COLUMNS)} FROM cx_meta.loop_cases WHERE dataset_id = $d AND id = $i",
                       params={"d": ds_id(store, dataset), "i": int(case_id)}).pl()
    if not df.height:
        raise CXError(f"There is no case {case_id} in this dataset.")
    return with_state(df, _now()).row(0, named=True)


def history(store, dataset: str | None, obj: str = "case", object_id: int | None = None) -> pl.DataFrame:
    """The history of one case or plan (or of all of them), newest first: at, who, field, old, new."""
    q = "SELECT object_id, changed_at, who, field, old, new FROM cx_meta.loop_history WHERE dataset_id = $d AND object = $o"
    params = {"d": ds_id(store, dataset), "o": obj}
    if object_id is not None:
        q += " AND object_id = $i"
        params["i"] = int(object_id)
    return store.con.sql(q + " ORDER BY changed_at DESC, field", params=params).pl()


def _stale_message(what: str, row) -> str:
    who, at = row
    return (f"This {what} was changed by {who} at {at:%Y-%m-%d %H:%M} UTC since you opened it: your change was not "
            "saved (nothing was overwritten). Reload to see their change, then make yours again.")


def update_case(store, dataset: str | None, case_id: int, version: int, who: str, status: str | None = None,
                assignee: str | None = None, owner: str | None = None, priority: str | None = None,
                note: str | None = None, now: datetime | None = None) -> int:
    """Change one case as read at `version`: status (a move allowed by MOVES), assignee ("" clears it), owner,
    priority, and/or a note. Returns the new version; raises StaleVersion when it changed since."""
    who = _who(who)
    saved, stale = _update(store, dataset, {int(case_id): int(version)}, who, status, assignee, owner, priority,
                           note, now)
    if stale:
        raise StaleVersion(stale[0][1])
    return saved[0][1]


def bulk_update(store, dataset: str | None, versions: dict, who: str, assignee: str | None = None,
                owner: str | None = None, status: str | None = None, now: datetime | None = None):
    """Assign (or move) many cases at once, each as read at its version ({id: version}). Cases changed
    since are left as they are and reported. Returns (saved ids, [(id, why)] refused)."""
    saved, stale = _update(store, dataset, {int(k): int(v) for k, v in versions.items()}, _who(who), status,
                           assignee, owner, None, None, now)
    return [i for i, _ in saved], stale


def _who(who: str | None) -> str:
    who = (who or "").strip()
    if not who:
        raise CXError("Say who you are first (your name in the sidebar): every change records who made it.")
    return who[:120]


def _update(store, dataset, versions: dict, who, status, assignee, owner, priority, note, now):
    if status is not None and status not in STATUSES:
        raise CXError(f"'{status}' is not a case status ({', '.join(STATUSES)}).")
    if priority is not None and priority not in PRIORITIES:
        raise CXError(f"'{priority}' is not a priority ({', '.join(PRIORITIES)}).")
    if note is not None and not note.strip():
        note = None
    if note is not None and len(note) > 5000:
        raise CXError("A note can have at most 5,000 characters.")
    now = now or _now()
    d = ds_id(store, dataset)
    saved, stale = [], []
    with store.transaction() as cur:
        ids = list(versions)
        rows = cur.sql(f"SELECT {', '.join(CASE_COLUMNS)} FROM cx_meta.loop_cases WHERE dataset_id = $d "
                       "AND id IN (SELECT unnest($i))", params={"d": d, "i": ids}).pl()
        by_id = {r["id"]: r for r in rows.iter_rows(named=True)}
        for cid in ids:
            r = by_id.get(cid)
            if r is None:
                stale.append((cid, f"Case {cid} does not exist (any more)."))
                continue
            if r["version"] != versions[cid]:
                stale.append((cid, _stale_message("case", (r["updated_by"], r["updated_at"]))))
                continue
            changes = []
            if status is not None and status != r["status"]:
                if status not in MOVES[r["status"]]:
                    raise CXError(f"A {STATUS_LABELS[r['status']]} case cannot become {STATUS_LABELS[status]}.")
                changes.append(("status", r["status"], status))
            if assignee is not None and (assignee.strip() or None) != r["assignee"]:
                changes.append(("assignee", r["assignee"], assignee.strip()[:120] or None))
            if owner is not None and owner.strip() and owner.strip() != r["owner"]:
                changes.append(("owner", r["owner"], owner.strip()[:120]))
            if priority is not None and priority != r["priority"]:
                changes.append(("priority", r["priority"], priority))
            if note is not None:
                changes.append(("note", None, note.strip()))
            if not changes:
                saved.append((cid, r["version"]))
                continue
            sets = {f: new for f, _, new in changes if f != "note"}
            if "status" in sets:
                sets["closed_at"] = now if sets["status"] in ("resolved", "wont_fix") else None
            if r["first_action_at"] is None:
                sets["first_action_at"] = now
            cols = ", ".join(f"{k} = ${k}" for k in sets)
            got = cur.sql(f"UPDATE cx_meta.loop_cases SET {cols}{', ' if cols else ''}version = version + 1, "
                          "updated_at = $now, updated_by = $who WHERE id = $id AND version = $v RETURNING version",
                          params={**sets, "now": now, "who": who, "id": cid, "v": r["version"]}).fetchall()
            if not got:  # pragma: no cover - the write lock makes this unreachable in one process
                stale.append((cid, _stale_message("case", (r["updated_by"], r["updated_at"]))))
                continue
            for f, old, new in changes:
                history_rows(cur, d, "case", [cid], who, f, old, new, now)
            saved.append((cid, int(got[0][0])))
        if saved:
            bump(cur, d)
    return saved, stale


def open_counts(store, dataset: str | None, now: datetime | None = None) -> dict:
    """open, overdue and new-in-the-last-7-days case counts (the Overview's line)."""
    now = now or _now()
    r = store.con.sql(
        "SELECT count(*) FILTER (WHERE status IN ('new', 'in_progress')), "
        "count(*) FILTER (WHERE status IN ('new', 'in_progress') AND due_at < $now), "
        "count(*) FILTER (WHERE opened_at >= $week) FROM cx_meta.loop_cases WHERE dataset_id = $d",
        params={"d": ds_id(store, dataset), "now": now, "week": now - timedelta(days=7)}).fetchall()[0]
    return {"open": int(r[0]), "overdue": int(r[1]), "opened_7d": int(r[2])}


AGES = {"any": (0, 1e9), "under 2 days": (0, 2), "2–7 days": (2, 7), "over 7 days": (7, 1e9)}  # days, [lo, hi)


def inbox(all_cases: pl.DataFrame, owners=(), statuses=(), reasons=(), age: str = "any", assignee: str | None = None,
          team: str | None = None, overdue_only: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The Cases inbox: `all_cases` (as :func:`cases` returns them) narrowed by owner, status,
    reason, age band (AGES), assignee, owning team and overdue (an empty choice keeps all), overdue
    first then by due date; and per owner: cases, overdue, oldest_days (most cases first)."""
    v = all_cases
    for col, chosen in (("owner", owners), ("status", statuses), ("reason", reasons)):
        if chosen:
            v = v.filter(pl.col(col).is_in(list(chosen)))
    lo, hi = AGES[age]
    v = v.filter((pl.col("age_days") >= lo) & (pl.col("age_days") < hi))
    if assignee:
        v = v.filter(pl.col("assignee") == assignee)
    if team:
        v = v.filter(pl.col("owner") == team)
    if overdue_only:
        v = v.filter(pl.col("overdue"))
    v = v.sort(["overdue", "due_at"], descending=[True, False])
    by = v.group_by("owner").agg(cases=pl.len(), overdue=pl.col("overdue").sum(),
                                 oldest_days=pl.col("age_days").max()).sort("cases", descending=True)
    return v, by
