"""The global filter model: what the sidebar sets and every page, the CLI and the tests honour.

Filters become Ibis predicates built from values (bound as literals by Ibis), never formatted SQL.
Customer attributes (persona, region, tier, stakeholder) filter through a semi-join on the
customers table, so a dataset without one simply ignores them (and says so).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import ibis

    from .store import Store

CUSTOMER_FILTERS = ("persona", "region", "tier", "stakeholder")


@dataclass(frozen=True)
class Filters:
    start: date | None = None  # inclusive
    end: date | None = None  # inclusive (the whole day)
    channels: tuple[str, ...] = ()
    persona: tuple[str, ...] = ()
    region: tuple[str, ...] = ()
    tier: tuple[str, ...] = ()
    stakeholder: tuple[str, ...] = ()
    segment: str | None = None  # a saved segment (cx.segments): its members only
    customers: tuple[str, ...] = ()  # only these customer ids (a drill-down's group; not in the URL)

    def is_empty(self) -> bool:
        return self == Filters()

    def with_(self, **kw) -> "Filters":
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}
        return replace(self, **kw)

    def key(self) -> tuple:
        """Hashable, for caches."""
        return tuple(sorted(asdict(self).items()))

    def describe(self) -> str:
        parts = []
        if self.start or self.end:
            parts.append(f"{self.start or '…'} to {self.end or '…'}")
        for name in ("channels", *CUSTOMER_FILTERS):
            v = getattr(self, name)
            if v:
                parts.append(f"{name}: {', '.join(v)}")
        if self.segment:
            parts.append(f"segment: {self.segment}")
        if self.customers:
            parts.append(f"{len(self.customers):,} selected customers")
        return "; ".join(parts) or "no filters"

    # -- URL query parameters (shareable links) ------------------------------------------
    def to_params(self) -> dict[str, str]:
        out = {}
        if self.start:
            out["from"] = self.start.isoformat()
        if self.end:
            out["to"] = self.end.isoformat()
        for name in ("channels", *CUSTOMER_FILTERS):
            v = getattr(self, name)
            if v:
                out["channel" if name == "channels" else name] = ",".join(v)
        if self.segment:
            out["segment"] = self.segment
        return out

    @classmethod
    def from_params(cls, params) -> "Filters":
        def d(v):
            try:
                return date.fromisoformat(v) if v else None
            except ValueError:
                return None

        def t(v):
            return tuple(x for x in (v or "").split(",") if x)

        return cls(start=d(params.get("from")), end=d(params.get("to")), channels=t(params.get("channel")),
                   **{n: t(params.get(n)) for n in CUSTOMER_FILTERS}, segment=params.get("segment") or None)


def _customer_filter(store: "Store", f: Filters, dataset: str | None):
    """Ibis table of customer_ids that pass the customer-attribute filters and the saved segment,
    or None."""
    seg = _segment_filter(store, f, dataset)
    wanted = {n: getattr(f, n) for n in CUSTOMER_FILTERS if getattr(f, n)}
    if not wanted or not store.has_table("customers", dataset):
        return seg
    c = store.table("customers", dataset)
    pred = [c[n].isin(list(v)) for n, v in wanted.items() if n in c.columns]
    if not pred:
        return seg
    c = c.filter(pred).select("customer_id")
    return c if seg is None else c.semi_join(seg, "customer_id")


def _segment_filter(store: "Store", f: Filters, dataset: str | None):
    """Ibis table of the customer_ids of the saved segment `f.segment` (empty when it does not
    exist: a stale link shows no one rather than everyone) and of `f.customers`, or None
    without either."""
    seg = None
    if f.segment:
        from .segments import members_table

        seg = members_table(store, f.segment, dataset)
    if f.customers:
        import ibis

        ids = ibis.memtable({"customer_id": list(f.customers)}, schema={"customer_id": "string"})
        seg = ids if seg is None else ids.semi_join(seg, "customer_id")
    return seg


def apply(store: "Store", t: "ibis.Table", f: Filters | None, dataset: str | None = None,
          time_col: str = "timestamp", channel_col: str | None = "channel") -> "ibis.Table":
    """Filter one table (interactions or feedback) by the global filters."""
    if f is None or f.is_empty():
        return t
    preds = []
    if f.start:
        preds.append(t[time_col] >= datetime.combine(f.start, time.min))
    if f.end:
        preds.append(t[time_col] < datetime.combine(f.end + timedelta(days=1), time.min))
    if f.channels and channel_col and channel_col in t.columns:
        preds.append(t[channel_col].isin(list(f.channels)))
    if preds:
        t = t.filter(preds)
    cust = _customer_filter(store, f, dataset)
    if cust is not None and "customer_id" in t.columns:
        t = t.semi_join(cust, "customer_id")
    return t


def interactions(store: "Store", f: Filters | None = None, dataset: str | None = None) -> "ibis.Table":
    """The dataset's interactions with the global filters applied: the start of every metric."""
    return apply(store, store.table("interactions", dataset), f, dataset)


def feedback(store: "Store", f: Filters | None = None, dataset: str | None = None) -> "ibis.Table":
    return apply(store, store.table("feedback", dataset), f, dataset)


def customers(store: "Store", f: Filters | None = None, dataset: str | None = None) -> "ibis.Table":
    c = store.table("customers", dataset)
    cust = _customer_filter(store, f or Filters(), dataset)
    return c if cust is None else c.semi_join(cust, "customer_id")


@dataclass(frozen=True)
class FilterOptions:
    """The values the sidebar offers, read from the dataset."""
    min_date: date | None = None
    max_date: date | None = None
    channels: tuple[str, ...] = ()
    values: dict = field(default_factory=dict)  # persona/region/tier/stakeholder -> values


def options(store: "Store", dataset: str | None = None) -> FilterOptions:
    if not store.has_table("interactions", dataset):
        return FilterOptions()
    t = store.table("interactions", dataset)
    span = t.aggregate(lo=t.timestamp.min(), hi=t.timestamp.max()).to_polars()
    chans = t.filter(t.channel.notnull()).select("channel").distinct().order_by("channel").to_polars()
    values = {}
    if store.has_table("customers", dataset):
        c = store.table("customers", dataset)
        for n in CUSTOMER_FILTERS:
            if n in c.columns:
                v = c.filter(c[n].notnull()).select(n).distinct().order_by(n).limit(200).to_polars()
                if v.height:
                    values[n] = tuple(v[n].to_list())
    lo, hi = span["lo"][0], span["hi"][0]
    return FilterOptions(lo.date() if lo else None, hi.date() if hi else None,
                         tuple(chans["channel"].to_list()), values)
