"""Small vectorised helpers of the generator: categorical draws per row, owner/position expansion,
opening hours, the interaction-row collector, employee draws and per-customer group parameters.
"""
from __future__ import annotations

import numpy as np

from .constants import CH, DAY, EMP_FIRST, EMP_N, FIRST_WEEKDAY, GROUP_NAMES, GROUPS, HOUR


class Choice:
    """Categorical draws where each row has its own probability row (combo index into a table)."""

    def __init__(self, probs):
        p = np.asarray(probs, dtype=float)
        p = p / p.sum(axis=1, keepdims=True)
        self.C, self.K = p.shape
        cdf = np.cumsum(p, axis=1)
        cdf[:, -1] = 1.0 + 1e-9
        self.flat = (cdf + np.arange(self.C)[:, None]).ravel()

    def __call__(self, rng, combo):
        combo = np.asarray(combo, dtype=np.int64)
        pos = np.searchsorted(self.flat, combo + rng.random(combo.size), side="right")
        return np.minimum(pos - combo * self.K, self.K - 1)


def mix_table(key: str, names: tuple[str, ...]) -> Choice:
    """Draws of ``names`` by each customer's group mix ``GROUPS[g][key]`` (call with group codes)."""
    return Choice([[GROUPS[g][key].get(c, 0.0) for c in names] for g in GROUP_NAMES])


def expand(counts):
    """(owner index per item, position of the item within its owner) for counts per owner."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(counts.size), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(owner.size) - starts[owner]
    return owner, pos


def within_cumsum(gaps, counts):
    """Cumulative sum of gaps restarted for each owner (gaps of the first item are ignored)."""
    owner, pos = expand(counts)
    g = np.where(pos == 0, 0.0, gaps)
    cs = np.cumsum(g)
    first = np.cumsum(counts) - counts
    base = cs[first][owner] if cs.size else cs
    return cs - base


_HOURS = {  # kind: (open hour, close hour, open weekdays Monday=0)
    "browse": (7.0, 23.5, (0, 1, 2, 3, 4, 5, 6)),
    "store": (7.0, 23.0, (0, 1, 2, 3, 4, 5, 6)),
    "phone": (8.0, 18.0, (0, 1, 2, 3, 4)),
    "chat": (8.0, 22.0, (0, 1, 2, 3, 4, 5, 6)),
    "office": (8.0, 18.0, (0, 1, 2, 3, 4)),
    "send": (8.0, 10.0, (0, 1, 2, 3, 4, 5, 6)),
    "delivery": (8.0, 20.0, (0, 1, 2, 3, 4, 5)),
}
_CH_HOURS = {CH["web"]: "browse", CH["mobile_app"]: "browse", CH["social"]: "browse", CH["partner"]: "browse",
             CH["store"]: "store", CH["phone"]: "phone", CH["chat"]: "chat", CH["email"]: "browse"}


def into_hours(rng, t, kind):
    """Move times forward into opening hours (kind or per-row channel codes); times already inside
    stay untouched, moved ones land shortly after opening."""
    t = np.asarray(t, dtype=float)
    if isinstance(kind, str):
        kinds = {kind: np.ones(t.size, bool)}
    else:
        kinds = {}
        for ch, k in _CH_HOURS.items():
            kinds.setdefault(k, np.zeros(t.size, bool))
            kinds[k] |= kind == ch
    out = t.copy()
    jitter = rng.exponential(1.2, t.size)
    for k, m in kinds.items():
        if not m.any():
            continue
        lo, hi, days = _HOURS[k]
        tt = t[m]
        day = np.floor(tt / DAY)
        h = (tt - day * DAY) / HOUR
        moved = (h < lo) | (h >= hi)
        day = day + (h >= hi)
        ok = np.zeros(7, bool)
        ok[list(days)] = True
        add = np.array([next(d for d in range(7) if ok[(w + d) % 7]) for w in range(7)])
        wd = ((day + FIRST_WEEKDAY) % 7).astype(np.int64)
        extra = add[wd]
        moved |= extra > 0
        day = day + extra
        nh = np.where(moved, lo + np.minimum(jitter[m], (hi - lo) * 0.98), h)
        out[m] = day * DAY + nh * HOUR
    return out


def sigmoid(x):
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


class Rows:
    """Collects interaction rows as blocks of arrays."""

    F = ("cust", "t", "tp", "ch", "dep", "emp", "amount", "vg", "sess", "inc", "kind", "follow", "anchor", "tmax")

    def __init__(self):
        self.blocks = []
        self.n_sess = 0

    def sessions(self, n):
        s = np.arange(self.n_sess, self.n_sess + n, dtype=np.int64)
        self.n_sess += n
        return s

    def add(self, cust, t, tp, ch=-1, dep=-1, emp=-1, amount=np.nan, vg=-1, sess=-1, inc=False, kind=0,
            follow=0, anchor=None, tmax=None):
        cust = np.asarray(cust, dtype=np.int64)
        n = cust.size
        if n == 0:
            return
        t = np.asarray(t, dtype=float)

        def full(x, dtype):
            return np.broadcast_to(np.asarray(x, dtype=dtype), (n,))

        self.blocks.append(dict(
            cust=cust, t=t, tp=full(tp, np.int16), ch=full(ch, np.int8), dep=full(dep, np.int8),
            emp=full(emp, np.int32), amount=full(amount, float), vg=full(vg, np.int8), sess=full(sess, np.int64),
            inc=full(inc, bool), kind=full(kind, np.int8), follow=full(follow, np.int8),
            anchor=t if anchor is None else full(anchor, float), tmax=t if tmax is None else full(tmax, float)))

    def concat(self):
        return {k: np.concatenate([b[k] for b in self.blocks]) for k in self.F}


def contact(cust, t, tp, ch, inc=False, kind=0, follow=0):
    """One block of inbound contacts (customer, time, touchpoint, channel, incident flag, incident
    kind, follow-up level); the blocks are answered together in :func:`cx.sample.life.answer`."""
    n = np.asarray(cust).size
    return (cust, t, np.broadcast_to(tp, (n,)), np.broadcast_to(ch, (n,)), np.broadcast_to(inc, (n,)),
            np.broadcast_to(kind, (n,)), np.broadcast_to(follow, (n,)))


def employee(rng, dep):
    """A random employee of each row's department (one draw per row)."""
    dep = np.asarray(dep, dtype=np.int64)
    return (EMP_FIRST[dep] + np.floor(rng.random(dep.size) * EMP_N[dep])).astype(np.int32)


def gp(key, grp):
    """Per-customer array of a scalar group parameter."""
    return np.array([GROUPS[g][key] for g in GROUP_NAMES], dtype=float)[grp]


def gp2(key, sub, grp):
    """Per-customer array of a group parameter nested one level (``gp2("bgnbd", "r", grp)``)."""
    return np.array([GROUPS[g][key][sub] for g in GROUP_NAMES], dtype=float)[grp]

