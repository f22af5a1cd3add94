"""Compiled one-pass kernels over the customer-ordered event arrays (:class:`cx.data.Events`): the
fast path of the order-dependent journey metrics on DuckDB.

The Ibis expressions of :mod:`.funnel`, :mod:`.flows`, :mod:`.loops` and
:mod:`cx.segments.behaviour` stay the reference definition (and the Spark path); each public
function asks :func:`events` first and, when the dataset version has an event store (and numba is
installed), walks its arrays here instead: rows are already in journey order (customer, then
timestamp, then file order), so every metric is one pass with no sort. The global filters arrive
as a row mask computed by DuckDB from the same predicates (:meth:`cx.data.Data.row_mask`). Where a
metric ends in an aggregate over a small per-customer frame, that frame goes back through the same
Ibis code as the reference (a memtable), so both paths share the last step exactly. A parity test
(tests/test_kernels.py, Hypothesis-generated journeys) holds every kernel to its Ibis twin.

Compiled code is cached on disk (NUMBA_CACHE_DIR, default under the user's data directory), so
a new process loads it instead of compiling (:func:`warm_up`).
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager

import numpy as np

_state = threading.local()
_compiled: dict = {}
_numba = None


def cache_dir() -> str:
    """Where numba keeps compiled kernels: $NUMBA_CACHE_DIR, else <user data dir>/numba when it
    can be written, else a per-user directory under the system's temporary directory."""
    import tempfile

    from platformdirs import user_data_dir

    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    for d in (os.path.join(user_data_dir("cxloop", appauthor=False), "numba"),
              os.path.join(tempfile.gettempdir(), f"cxloop-numba-{os.getuid() if hasattr(os, 'getuid') else 0}")):
        try:
            os.makedirs(d, exist_ok=True)
            if os.access(d, os.W_OK):
                return d
        except OSError:
            continue
    return tempfile.mkdtemp(prefix="cxloop-numba-")


def available() -> bool:
    """Whether numba can be imported (the kernels' only dependency beyond numpy)."""
    global _numba
    if _numba is None:
        os.environ.setdefault("NUMBA_CACHE_DIR", cache_dir())
        try:
            import numba

            _numba = numba
        except ImportError:  # pragma: no cover - numba is in requirements.txt
            _numba = False
    return bool(_numba)


@contextmanager
def off():
    """Within the block (this thread), every metric takes its Ibis path: the parity tests and the
    benchmark's Ibis column use it."""
    before = getattr(_state, "off", False)
    _state.off = True
    try:
        yield
    finally:
        _state.off = before


def events(d, *columns: str):
    """The data handle's event arrays when the kernels can run on it, else None (then the caller
    runs its Ibis expression): the handle has a current event store, numba is there, the kernels
    are not switched off (:func:`off`, or CX_KERNELS=0), and the interactions have `columns`."""
    if getattr(_state, "off", False) or os.environ.get("CX_KERNELS") == "0":
        return None
    if any(not d.has("interactions", c) for c in columns):
        return None
    ev = d.events()
    if ev is None or not available():
        return None
    return ev


def jit(fn):
    """fn compiled by numba (nopython, cached on disk), once per process."""
    got = _compiled.get(fn.__name__)
    if got is None and available():
        got = _compiled[fn.__name__] = _numba.njit(cache=True, nogil=True)(fn)
    return got


def warm_up() -> float:
    """Load every kernel (compiling it the first time on a machine: then cached); seconds taken."""
    import time

    t = time.perf_counter()
    if available():
        for fn, args in _warm_calls():
            jit(fn)(*args)
    return time.perf_counter() - t


KERNELS: list = []


def kernel(fn):
    """Register a kernel (plain Python over arrays, compiled by :func:`jit` on first use)."""
    KERNELS.append(fn)
    return fn


# -- shared helpers ---------------------------------------------------------------------------------
def pick(ev, mask):
    """numpy indices of the rows the mask keeps (all rows when it is empty)."""
    return np.arange(len(ev.col("_seq"))) if not len(mask) else np.flatnonzero(mask)


def mask_of(d, ev):
    """The filters' row mask as uint8 (empty when there is no filter: every row counts)."""
    m = d.row_mask()
    return np.empty(0, np.uint8) if m is None else m.view(np.uint8)


def node_codes(d, ev, mask, level: str, top: int | None):
    """Per row, its node's code at `level` (cx.journey.nodes), and the node names by code.
    Stage: the rank 0..4, "(no stage)" = 5. Touchpoint: the `top` touchpoints by volume over the
    filtered rows (ties by name), then "Other"; every touchpoint when top is None."""
    from ..schema import STAGES
    from .nodes import NO_STAGE, OTHER

    if level == "stage":
        lut = np.array([0, 1, 2, 3, 4, 5], np.int32)  # index -1 (no stage) reads the last entry
        return ev.col("stage"), lut, [*STAGES, NO_STAGE]
    tp = ev.col("touchpoint")
    names = ev.codes("touchpoint")
    if top is None:
        return tp, np.append(np.arange(len(names), dtype=np.int32), -1), list(names)
    n = np.bincount(tp if not len(mask) else tp[mask.view(bool)], minlength=len(names))
    order = sorted((i for i in range(len(names)) if n[i] > 0), key=lambda i: (-n[i], names[i]))[:int(top)]
    lut = np.full(len(names) + 1, len(order), np.int32)
    lut[order] = np.arange(len(order), dtype=np.int32)
    return tp, lut, [names[i] for i in order] + [OTHER]


def node_stage_ranks(d, ev, mask, level: str, top, names):
    """Per node code: its stage (None for none) and rank (-1 for none), as cx.journey.nodes says:
    a stage node is its stage; a touchpoint node has its most frequent stage over the filtered rows
    (ties: the earlier stage); "Other" and "(no stage)" have none."""
    from ..schema import STAGES

    if level == "stage":
        stage = [*STAGES, None]
        return stage, np.array([0, 1, 2, 3, 4, -1])
    tp, st = ev.col("touchpoint"), ev.col("stage")
    if len(mask):
        keep = mask.view(bool)
        tp, st = tp[keep], st[keep]
    t = len(ev.codes("touchpoint"))
    staged = st >= 0
    per = np.bincount(tp[staged].astype(np.int64) * 5 + st[staged], minlength=t * 5).reshape(t, 5)
    index = {v: i for i, v in enumerate(ev.codes("touchpoint"))}
    stage, rank = [], []
    for name in names:
        i = index.get(name) if (top is None or name in names[:-1]) else None
        r = int(np.argmax(per[i])) if i is not None and per[i].any() else -1
        stage.append(STAGES[r] if r >= 0 else None)
        rank.append(r)
    return stage, np.array(rank)


def customer_ids(ev, codes):
    """The customer_id strings of customer codes (an Arrow array)."""
    return ev.codes("customer_id").take(codes)


def purchase_lut(d, ev):
    """Per touchpoint code, whether it is one of the dataset's purchase touchpoints (cx.expr.is_purchase)."""
    names = ev.codes("touchpoint")
    buy = set(d.purchase_touchpoints)
    return np.array([n in buy for n in names] + [False], np.uint8)


def memtable(columns: dict):
    """An Ibis memtable from Arrow/numpy columns (in the order given)."""
    import ibis
    import pyarrow as pa

    return ibis.memtable(pa.table({k: v for k, v in columns.items()}))


def run(d, expr):
    """A polars frame of `expr` run on the handle's DuckDB backend (this thread's), which then also
    holds the kernels' memtables; on other stores (Spark) by the expression's own backend."""
    from ..store import Store

    return d.store.ibis.to_polars(expr) if isinstance(d.store, Store) else expr.to_polars()


def decode(ev, column: str, rows):
    """The text of a coded column (touchpoint, channel, stage) at event rows (an Arrow array)."""
    import pyarrow as pa

    from ..schema import STAGES

    names = list(STAGES) if column == "stage" else ev.codes(column)
    codes = ev.col(column)[rows].astype(np.int64)
    return pa.array(names + [None], pa.string()).take(np.where(codes < 0, len(names), codes))


def lookup(d, ev, rows, columns: list[str]) -> dict:
    """Columns of the interactions (as text) at event rows, read by their _seq: what the event
    store does not code (session_id, direction, department, employee_id, value_given)."""
    import ibis
    import pyarrow as pa

    if not columns or not len(rows):
        return {c: pa.array([None] * len(rows), pa.string()) for c in columns}
    seqs = ev.col("_seq")[rows]
    keys = ibis.memtable(pa.table({"_q": seqs}))
    t = d.table("interactions")
    got = run(d, t.inner_join(keys, t._seq == keys._q).select("_seq", *[t[c].cast("string").name(c) for c in columns]))
    pos = np.argsort(seqs)
    at = pos[np.searchsorted(seqs[pos], got["_seq"].to_numpy())]
    out = {}
    for c in columns:
        v = got[c].to_arrow()
        out[c] = v.take(pa.array(np.argsort(at)))
    return out


# -- the kernels (plain Python over numpy arrays: numba compiles them) ------------------------------
NULL_TIME = np.iinfo(np.int64).min  # a step not reached (null in the frames)


@kernel
def funnel_units(starts, ts, val, lut, mask, sess, n, win, count_only, out_c, out_s, out_level, out_t, out_row):
    """The ordered funnel per unit (cx.journey.funnel's definition). Rows of a customer are in
    journey order; a row is in step k when bit k of lut[val[row]] is set; units are customers, or
    (customer, session) when `sess` is given (rows without a session are left out). Per unit with
    an entry: its customer, session, level, the times of the winning entry's steps (NULL_TIME
    beyond the level) and the entry's row. Returns the number of units (count_only: only that)."""
    nc = len(starts) - 1
    use_mask = len(mask) > 0
    use_sess = len(sess) > 0
    maxlen = 0
    for c in range(nc):
        if starts[c + 1] - starts[c] > maxlen:
            maxlen = starts[c + 1] - starts[c]
    buf = np.empty(maxlen, np.int64)
    keys = np.empty(maxlen, np.int64)
    ptr = np.empty(n, np.int64)  # per step, where its search for the next row stands (moves forward only)
    pos = np.empty(n, np.int64)
    u = 0
    for c in range(nc):
        m = 0
        for r in range(starts[c], starts[c + 1]):
            if use_mask and mask[r] == 0:
                continue
            if lut[val[r]] == 0:
                continue
            if use_sess and sess[r] == -1:
                continue
            buf[m] = r
            m += 1
        if m == 0:
            continue
        if use_sess:  # each session's rows together, in journey order within it (a stable sort)
            for i in range(m):
                keys[i] = sess[buf[i]]
            order = np.argsort(keys[:m], kind="mergesort")
            buf[:m] = buf[:m][order]
        i0 = 0
        while i0 < m:
            i1 = m
            if use_sess:
                i1 = i0 + 1
                while i1 < m and sess[buf[i1]] == sess[buf[i0]]:
                    i1 += 1
            # Entries in journey order. Each step's next row after a later entry's chain is never
            # before the one after an earlier entry's, so one forward-only pointer per step finds
            # every chain: the unit costs at most (steps x rows), and usually one chain.
            for k in range(n):
                ptr[k] = i0
            best = 0
            for j in range(i0, i1):
                r = buf[j]
                if (lut[val[r]] & 1) == 0:
                    continue
                t0 = ts[r]
                lvl = 1
                p = j
                for k in range(1, n):
                    q = ptr[k]
                    if q <= p:
                        q = p + 1
                    while q < i1 and ((lut[val[buf[q]]] >> k) & 1) == 0:
                        q += 1
                    ptr[k] = q
                    if q >= i1 or (win >= 0 and ts[buf[q]] > t0 + win):
                        break
                    p = q
                    pos[k] = q
                    lvl += 1
                if lvl > best:  # the furthest wins; among equals the earliest (journey order)
                    best = lvl
                    if not count_only:
                        out_c[u] = c
                        out_s[u] = sess[r] if use_sess else 0
                        out_row[u] = r
                        out_t[u, 0] = t0
                        for k in range(1, n):
                            out_t[u, k] = ts[buf[pos[k]]] if k < lvl else NULL_TIME
                    if best == n:
                        break
            if best > 0:
                if not count_only:
                    out_level[u] = best
                u += 1
            i0 = i1
    return u


@kernel
def transitions_counts(starts, val, lut, mask, k, collapse, counts, customers, last):
    """Consecutive (source, target) node pairs of each customer's filtered rows: counts and
    distinct customers per pair (index source * k + target); collapse: only pairs that differ."""
    use_mask = len(mask) > 0
    for c in range(len(starts) - 1):
        prev = -1
        for r in range(starts[c], starts[c + 1]):
            if use_mask and mask[r] == 0:
                continue
            node = lut[val[r]]
            if prev >= 0 and (not collapse or prev != node):
                e = prev * k + node
                counts[e] += 1
                if last[e] != c:
                    last[e] = c
                    customers[e] += 1
            prev = node


@kernel
def sankey_counts(starts, val, lut, mask, k, collapse, steps, counts):
    """Step-indexed flows: counts[i - 1, source, target] for the i-th and (i+1)-th node of each
    customer's sequence (repeats collapsed when asked), i < steps; target k = "(end)"."""
    use_mask = len(mask) > 0
    for c in range(len(starts) - 1):
        prev = -1
        pos = 0
        for r in range(starts[c], starts[c + 1]):
            if use_mask and mask[r] == 0:
                continue
            node = lut[val[r]]
            if collapse and node == prev:
                continue
            if pos >= 1 and pos < steps:
                counts[pos - 1, prev, node] += 1
            prev = node
            pos += 1
        if pos >= 1 and pos < steps:
            counts[pos - 1, prev, k] += 1


@kernel
def loops_per_customer(starts, stage, mask, ts, amount, tp, buy, chan, n_chan, out_has, out_loops, out_reeval,
                       out_last, out_chan, gap_c, gap):
    """Per customer: any filtered row, loops (a stage rank below the previous row's), a use ->
    evaluate step, the last timestamp and (n_chan > 0) the most used channel (ties: lowest code);
    and the gaps in days between consecutive purchase days. Returns the number of gaps."""
    use_mask = len(mask) > 0
    day_us = 86_400_000_000
    g = 0
    counts = np.zeros(max(n_chan, 1), np.int64)
    touched = np.empty(max(n_chan, 1), np.int64)
    for c in range(len(starts) - 1):
        prev = -2  # no previous row yet (-1: a row without a stage)
        loops = 0
        reeval = False
        has = False
        last_ts = 0
        last_day = np.int64(-(2 ** 62))
        nt = 0
        for r in range(starts[c], starts[c + 1]):
            if use_mask and mask[r] == 0:
                continue
            has = True
            s = stage[r]
            if prev >= 0 and s >= 0:
                if s < prev:
                    loops += 1
                if prev == 4 and s == 2:
                    reeval = True
            prev = s
            last_ts = ts[r]
            if amount[r] > 0 or buy[tp[r]]:
                day = ts[r] // day_us
                if day != last_day:
                    if last_day != -(2 ** 62):
                        gap_c[g] = c
                        gap[g] = day - last_day
                        g += 1
                    last_day = day
            if n_chan > 0 and chan[r] >= 0:
                if counts[chan[r]] == 0:
                    touched[nt] = chan[r]
                    nt += 1
                counts[chan[r]] += 1
        out_has[c] = has
        out_loops[c] = loops
        out_reeval[c] = reeval
        out_last[c] = last_ts
        if n_chan > 0:
            best = -1
            for i in range(nt):
                ch = touched[i]
                if best < 0 or counts[ch] > counts[best] or (counts[ch] == counts[best] and ch < best):
                    best = ch
            out_chan[c] = best
            for i in range(nt):
                counts[touched[i]] = 0
    return g


@kernel
def paths_per_customer(starts, val, lut, mask, amount, tp, buy, max_len, out_nodes, out_len, out_bought, out_has):
    """Per customer: the first `max_len` nodes of the sequence with repeats collapsed, its full
    length, whether any filtered row is a purchase, and whether any row passed the filters."""
    use_mask = len(mask) > 0
    for c in range(len(starts) - 1):
        prev = -1
        n = 0
        bought = False
        has = False
        for r in range(starts[c], starts[c + 1]):
            if use_mask and mask[r] == 0:
                continue
            has = True
            if amount[r] > 0 or buy[tp[r]]:
                bought = True
            node = lut[val[r]]
            if node != prev:
                if n < max_len:
                    out_nodes[c, n] = node
                n += 1
            prev = node
        out_len[c] = n
        out_bought[c] = bought
        out_has[c] = has


@kernel
def switching_counts(starts, chan, mask, amount, tp, buy, k, counts, customers, last, seen, out_has, out_n,
                     out_bought):
    """Channel hand-offs between consecutive filtered rows that have a channel (counts, distinct
    customers per from * k + to) and per customer: any row, distinct channels, any purchase."""
    use_mask = len(mask) > 0
    for c in range(len(starts) - 1):
        prev = -1
        n = 0
        has = False
        bought = False
        for r in range(starts[c], starts[c + 1]):
            if use_mask and mask[r] == 0:
                continue
            has = True
            if amount[r] > 0 or buy[tp[r]]:
                bought = True
            ch = chan[r]
            if ch < 0:
                continue
            if seen[ch] != c:
                seen[ch] = c
                n += 1
            if prev >= 0 and prev != ch:
                e = prev * k + ch
                counts[e] += 1
                if last[e] != c:
                    last[e] = c
                    customers[e] += 1
            prev = ch
        out_has[c] = has
        out_n[c] = n
        out_bought[c] = bought


def _ro(a):
    """A read-only view, as the event store's columns are (numba compiles per writability)."""
    a = a.view()
    a.flags.writeable = False
    return a


def _warm_calls():
    """Each kernel called on tiny arrays of every argument type the metrics pass (the event
    store's columns are read-only; stage codes int8, touchpoint and channel codes int32)."""
    i64, i32, u8 = np.int64, np.int32, np.uint8
    starts = np.array([0, 2], i64)
    ts, amount = _ro(np.array([0, 1], i64)), _ro(np.array([np.nan, 1.0]))
    vals = (_ro(np.array([0, 1], np.int8)), _ro(np.array([0, 1], i32)))
    tp = vals[1]
    m, buy, lut = np.empty(0, u8), np.zeros(3, u8), np.array([1, 2, 0, 0, 0, 0], i32)  # step bits
    nodes = np.array([0, 1, 0, 0, 0, 0], i32)  # node codes (< k = 2)
    z = np.zeros(1, i64)
    for val in vals:
        for sess in (np.empty(0, i64), _ro(np.array([5, 5], i64))):
            yield funnel_units, (starts, ts, val, lut, m, sess, 2, -1, False, z.astype(i32), z.copy(), z.copy(),
                                 np.zeros((1, 2), i64), z.copy())
        yield transitions_counts, (starts, val, nodes, m, 2, True, np.zeros(4, i64), np.zeros(4, i64), np.full(4, -1, i64))
        yield sankey_counts, (starts, val, nodes, m, 2, True, 3, np.zeros((2, 2, 3), i64))
        yield paths_per_customer, (starts, val, nodes, m, amount, tp, buy, 2, np.full((1, 2), -1, i32), z.copy(),
                                   np.zeros(1, np.bool_), np.zeros(1, np.bool_))
    for chan in (np.empty(0, i32), tp):  # no channel column: n_chan = 0 (the kernel reads chan only when > 0)
        yield loops_per_customer, (starts, vals[0], m, ts, amount, tp, buy, chan, len(chan), np.zeros(1, np.bool_), z.copy(),
                                   np.zeros(1, np.bool_), z.copy(), np.full(1, -1, i32), np.zeros(2, i64),
                                   np.zeros(2, i64))
    yield switching_counts, (starts, tp, m, amount, tp, buy, 2, np.zeros(4, i64), np.zeros(4, i64),
                             np.full(4, -1, i64), np.full(2, -1, i64), np.zeros(1, np.bool_), z.copy(),
                             np.zeros(1, np.bool_))
