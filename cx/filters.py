"""The global filter model: what the sidebar sets and every page, the CLI and the tests honour.
A :class:`Filters` value is applied by the data handle (:mod:`cx.data`), which turns it into Ibis
predicates built from values, never formatted SQL."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date

CUSTOMER_FILTERS = ("persona", "region", "tier", "stakeholder")
ATTRIBUTE_PARAM = "a."  # URL parameter of an attribute filter: ?a.acquisition_channel=ads,organic


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
    # other customer attributes (Data.customer_attributes: a customers-table column, or an event
    # log's one-value-per-customer column): ((name, (value, ...)), ...), sorted by name
    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    customers: tuple[str, ...] = ()  # only these customer ids (a drill-down's group; not in the URL)

    def is_empty(self) -> bool:
        return self == Filters()

    def with_(self, **kw) -> "Filters":
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}
        if "attributes" in kw:
            kw["attributes"] = attributes_of(dict(kw["attributes"]))
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
        for name, values in self.attributes:
            parts.append(f"{name}: {', '.join(values)}")
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
        for name, values in self.attributes:
            out[ATTRIBUTE_PARAM + name] = ",".join(values)
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

        attrs = {k[len(ATTRIBUTE_PARAM):]: t(params.get(k)) for k in list(params.keys())
                 if k.startswith(ATTRIBUTE_PARAM) and len(k) > len(ATTRIBUTE_PARAM)}
        return cls(start=d(params.get("from")), end=d(params.get("to")), channels=t(params.get("channel")),
                   **{n: t(params.get(n)) for n in CUSTOMER_FILTERS}, segment=params.get("segment") or None,
                   attributes=attributes_of(attrs))


def attributes_of(chosen: dict) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The attribute filters as Filters holds them: name -> values, empty choices dropped, by name."""
    return tuple((n, tuple(v)) for n, v in sorted(chosen.items()) if v and n not in CUSTOMER_FILTERS)


@dataclass(frozen=True)
class FilterOptions:
    """The values the sidebar offers, read from the dataset."""
    min_date: date | None = None
    max_date: date | None = None
    channels: tuple[str, ...] = ()
    values: dict = field(default_factory=dict)  # persona/region/tier/stakeholder -> values
