"""The data contract (docs/data.md): table kinds, columns, types, synonyms, stages and purchases.

Everything that knows a column name lives here. Identifiers that reach SQL (column names from a
user's mapping) are only ever taken from this whitelist.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

STAGES: tuple[str, ...] = ("discover", "consider", "evaluate", "purchase", "use")
STAGE_RANK = {s: i for i, s in enumerate(STAGES)}
DIRECTIONS: tuple[str, ...] = ("inbound", "outbound")

# logical types -> DuckDB storage types
SQL_TYPES = {
    "text": "VARCHAR",
    "timestamp": "TIMESTAMP",  # stored as naive UTC
    "decimal": "DOUBLE",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "stage": "VARCHAR",
    "direction": "VARCHAR",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    description: str = ""
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableKind:
    name: str
    description: str
    columns: tuple[Column, ...]
    # extra (unmapped) columns are kept as attributes: typed (number, date/time, true/false or text,
    # decided by their values) or, for customers, as text
    typed_attributes: bool = True
    key_columns: tuple[str, ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


_CUSTOMER_SYN = ("customer_id", "customer", "customerid", "user_id", "userid", "user", "client", "client_id",
                 "cust_id", "custid", "account_id", "contact_id", "member_id", "visitor_id", "person_id")
_TS_SYN = ("timestamp", "date", "time", "datetime", "created_at", "created", "event_time", "event_date",
           "ts", "occurred_at", "date_time", "event_timestamp", "submitted_at", "answered_at", "when",
           "visit_date", "visited_at", "sent_at", "received_at")
_CHANNEL_SYN = ("channel", "medium", "source_channel", "platform", "via")
# money: the names of an order's total first, then a unit price last (a file with both a total and a
# price maps the total); each source column goes to one contract column at most (suggest_mapping)
_AMOUNT_SYN = ("amount", "revenue", "order_value", "order_total", "total_amount", "order_amount", "sales_amount",
               "sale_amount", "purchase_amount", "transaction_amount", "payment_amount", "net_amount",
               "gross_amount", "dollar_value", "dollars", "dollar_amount", "amount_usd", "value_usd", "revenue_usd",
               "usd", "total_value", "total", "total_price", "sales", "sale", "spend", "spent", "gmv", "value",
               "price")

INTERACTIONS = TableKind(
    "interactions",
    "One row per touchpoint: a page view, an email, a call, an order, a visit.",
    (
        Column("customer_id", "text", True, "who", _CUSTOMER_SYN),
        Column("timestamp", "timestamp", True, "when (normalised to UTC)", _TS_SYN),
        Column("touchpoint", "text", True, "what happened (pricing_page, support_call, order_placed)",
               ("touchpoint", "event", "event_name", "event_type", "action", "activity", "interaction",
                "step", "page", "touch_point")),
        Column("stage", "stage", False, "discover, consider, evaluate, purchase or use",
               ("stage", "journey_stage", "funnel_stage", "phase", "lifecycle_stage")),
        Column("channel", "text", False, "web, mobile_app, store, email, phone, chat, social, partner ...",
               _CHANNEL_SYN),
        Column("direction", "direction", False, "inbound (customer-initiated) or outbound (company-initiated)",
               ("direction", "initiated_by", "inbound_outbound", "in_out")),
        Column("department", "text", False, "sales, support, billing, marketing ...",
               ("department", "dept", "team", "business_unit")),
        Column("employee_id", "text", False, "who served the customer",
               ("employee_id", "employee", "agent", "agent_id", "staff", "staff_id", "rep", "rep_id")),
        Column("amount", "decimal", False, "money: revenue on purchases, negative for refunds",
               _AMOUNT_SYN),
        Column("value_given", "text", False, "what the company gave: discount, content, thank_you, gift",
               ("value_given", "give", "gift", "incentive", "offer", "benefit")),
        Column("sentiment", "float", False, "-1..1 if the source already scored it",
               ("sentiment", "sentiment_score", "polarity")),
        Column("session_id", "text", False, "groups touchpoints into visits",
               ("session_id", "session", "visit_id", "visit")),
        Column("incident", "bool", False, "a service failure happened here",
               ("incident", "failure", "service_failure", "is_incident", "error")),
    ),
    key_columns=("customer_id", "timestamp"),
)

CUSTOMERS = TableKind(
    "customers",
    "One row per customer, with any extra attribute columns kept as breakdowns.",
    (
        Column("customer_id", "text", True, "who", _CUSTOMER_SYN),
        Column("persona", "text", False, "declared persona", ("persona", "segment_name", "profile", "archetype")),
        Column("first_seen", "timestamp", False, "first contact", ("first_seen", "signup_date", "signup",
                                                                      "registered_at", "joined", "join_date",
                                                                      "since", "customer_since")),
        Column("region", "text", False, "region", ("region", "area", "territory", "country", "market")),
        Column("tier", "text", False, "tier", ("tier", "level", "plan", "membership", "loyalty_tier")),
        Column("stakeholder", "text", False, "customer, partner, employee, investor ...",
               ("stakeholder", "stakeholder_type", "relationship_type", "contact_type")),
        Column("acquisition_channel", "text", False, "how they came", ("acquisition_channel", "source",
                                                                       "acquired_via", "utm_source", "origin")),
    ),
    typed_attributes=False,
    key_columns=("customer_id",),
)

FEEDBACK = TableKind(
    "feedback",
    "One row per survey answer, review or complaint: the voice of the customer.",
    (
        Column("customer_id", "text", False, "who (optional: anonymous allowed)", _CUSTOMER_SYN),
        Column("timestamp", "timestamp", True, "when", _TS_SYN),
        Column("metric", "text", True, "nps, csat, ces, trust, or a custom name",
               ("metric", "survey", "question", "measure", "kpi", "survey_type")),
        Column("score", "decimal", False, "the answer on the metric's scale",
               ("score", "rating", "answer", "stars", "nps_score", "value_score")),
        Column("comment", "text", False, "free text", ("comment", "comments", "text", "feedback", "review",
                                                       "verbatim", "message", "body", "remark")),
        Column("touchpoint", "text", False, "what it is about", ("touchpoint", "event", "about", "topic")),
        Column("channel", "text", False, "where it was given", _CHANNEL_SYN),
        Column("solicited", "bool", False, "true for surveys, false for reviews, posts and complaints",
               ("solicited", "is_survey", "survey_flag", "prompted")),
    ),
    key_columns=("customer_id", "timestamp"),
)

KINDS: dict[str, TableKind] = {k.name: k for k in (INTERACTIONS, CUSTOMERS, FEEDBACK)}

# Columns a table gets besides its contract columns and its attributes: internal ones start with "_"
# (the import's _seq, _stage_derived), and feedback's sentiment is scored from the comments.
DERIVED_COLUMNS: dict[str, tuple[str, ...]] = {"interactions": (), "customers": (), "feedback": ("sentiment",)}


def attribute_columns(kind: str, columns) -> list[str]:
    """The attributes among a table's columns (in their order): the extra columns its files brought,
    kept by the import, i.e. neither a contract column of the kind nor an internal or derived one.
    They are usable by name as filters and breakdowns."""
    reserved = set(KINDS[kind].column_names) | set(DERIVED_COLUMNS[kind])
    return [c for c in columns if c not in reserved and not c.startswith("_")]


def attribute_names(kind: str, columns, mapped=()) -> dict[str, str]:
    """Source column -> attribute name, for the columns of a file (its header, in order) that are not
    `mapped` to the contract: lower_snake_case ('Loyalty Points' -> loyalty_points), starting with
    a letter ('2nd' -> attr_2nd), never a contract, internal or derived column name nor another
    attribute's (an extra 'Channel' beside a mapped channel, column 5 -> channel_5). Safe SQL
    identifiers: [a-z][a-z0-9_]*."""
    taken = set(KINDS[kind].column_names) | set(DERIVED_COLUMNS[kind])
    out: dict[str, str] = {}
    for i, name in enumerate(columns):
        if name in mapped:
            continue
        norm = normalise_name(name) or f"column_{i + 1}"
        if not re.match(r"^[a-z]", norm):
            norm = "attr_" + norm
        base, k = norm, 1
        while norm in taken:
            norm = f"{base}_{i + 1}" + (f"_{k}" if k > 1 else "")
            k += 1
        taken.add(norm)
        out[name] = norm
    return out

# Scales of the known feedback metrics: (min, max, higher_is_better)
METRIC_SCALES = {
    "nps": (0, 10, True),
    "csat": (1, 5, True),
    "ces": (1, 7, True),  # 7 = very easy
    "trust": (1, 5, True),
    "rating": (1, 5, True),
}

# Default touchpoint -> stage rules: the first rule whose keyword is a token of the touchpoint name
# wins, in this order (specific words before generic ones). Editable per dataset in the store.
DEFAULT_STAGE_KEYWORDS: tuple[tuple[str, str], ...] = (
    # use: after-purchase life, service and support
    ("support", "use"), ("delivery", "use"), ("onboarding", "use"), ("login", "use"), ("usage", "use"),
    ("billing", "use"), ("invoice", "use"), ("return", "use"), ("refund", "use"), ("reward", "use"),
    ("thank", "use"), ("survey", "use"), ("reply", "use"), ("complaint", "use"), ("renewal", "use"),
    ("newsletter", "use"), ("tutorial", "use"), ("feature", "use"), ("account", "use"), ("install", "use"),
    # purchase
    ("cart", "purchase"), ("checkout", "purchase"), ("order", "purchase"), ("purchase", "purchase"),
    ("payment", "purchase"), ("buy", "purchase"), ("subscribe", "purchase"), ("contract", "purchase"),
    # evaluate
    ("pricing", "evaluate"), ("price", "evaluate"), ("compare", "evaluate"), ("comparison", "evaluate"),
    ("review", "evaluate"), ("demo", "evaluate"), ("trial", "evaluate"), ("quote", "evaluate"),
    ("sales", "evaluate"), ("spec", "evaluate"), ("configurator", "evaluate"), ("evaluate", "evaluate"),
    ("evaluation", "evaluate"),
    # consider
    ("home", "consider"), ("homepage", "consider"), ("product", "consider"), ("category", "consider"), ("browse", "consider"),
    ("brochure", "consider"), ("wishlist", "consider"), ("promo", "consider"), ("catalog", "consider"),
    ("store_visit", "consider"), ("consider", "consider"), ("blog", "consider"), ("landing", "consider"),
    # discover
    ("ad", "discover"), ("social", "discover"), ("search", "discover"), ("referral", "discover"),
    ("impression", "discover"), ("banner", "discover"), ("window", "discover"), ("discover", "discover"),
    ("awareness", "discover"), ("influencer", "discover"), ("word_of_mouth", "discover"),
)


# Purchase touchpoints: a row is a purchase (a transaction) when its amount is > 0, or when its
# touchpoint is a purchase touchpoint, whatever its amount (a $0 order is an order). A touchpoint is
# one when a purchase keyword is a whole word (or phrase) of its name and no "not a purchase"
# keyword is. Editable per dataset beside the stage rules (cx_meta.purchase_rules).
DEFAULT_PURCHASE_KEYWORDS: tuple[str, ...] = (
    "purchase", "purchased", "order", "ordered", "order_placed", "checkout_complete", "checkout_completed",
    "payment_done", "payment_completed", "payment_success", "subscription_renewed", "subscription_started",
    "transaction", "bought")  # not "sale" (sales_call) nor "buy" (buy_button_click): too often not a purchase
NOT_PURCHASE_KEYWORDS: tuple[str, ...] = (
    "cancel", "cancelled", "canceled", "cancellation", "return", "refund", "failed", "failure", "abandon",
    "abandoned", "page", "view", "status", "tracking", "track", "history", "question", "help", "inquiry",
    "request", "reminder", "email", "cart")
DEFAULT_PURCHASE_RULES: tuple[tuple[str, bool], ...] = (
    tuple((k, True) for k in DEFAULT_PURCHASE_KEYWORDS) + tuple((k, False) for k in NOT_PURCHASE_KEYWORDS))


def purchase_touchpoints(touchpoints, rules=DEFAULT_PURCHASE_RULES) -> list[str]:
    """The touchpoints (names as given) that the rules (keyword, is_purchase) make purchase
    touchpoints: one purchase keyword matches a whole word or phrase of the name, and no
    "not a purchase" keyword does. Sorted."""
    yes = [re.compile(keyword_regex(k)) for k, p in rules if p and normalise_name(k)]
    no = [re.compile(keyword_regex(k)) for k, p in rules if not p and normalise_name(k)]
    out = set()
    for tp in touchpoints:
        if tp is None:
            continue
        n = normalise_name(tp)
        if any(r.search(n) for r in yes) and not any(r.search(n) for r in no):
            out.add(tp)
    return sorted(out)


def normalise_name(name: str) -> str:
    """'Customer ID ' -> 'customer_id'; used to match headers against synonyms."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", str(name).strip()).strip("_").lower()
    return s


def derive_stage(touchpoint: str | None, rules=DEFAULT_STAGE_KEYWORDS) -> str | None:
    """Stage of one touchpoint name by the keyword rules (None when no rule matches).

    Used for previews and tests; the import applies the same rules in SQL (cx.ingest)."""
    if touchpoint is None:
        return None
    t = normalise_name(touchpoint)
    for kw, stage in rules:
        if re.search(keyword_regex(kw), t):
            return stage
    return None


def keyword_regex(keyword: str) -> str:
    """A keyword matches whole underscore-separated tokens of the normalised touchpoint name,
    with an optional plural: 'review' matches 'reviews_read' but 'ad' does not match 'address'."""
    return r"(^|_)" + re.escape(keyword) + r"(s|es)?(_|$)"


def suggest_mapping(columns: list[str], kind: str) -> dict[str, str]:
    """Source column -> contract column, from synonyms. Exact normalised matches first, then
    synonyms; each contract column is used at most once; unmatched source columns are left out."""
    spec = KINDS[kind]
    out: dict[str, str] = {}
    used: set[str] = set()
    norm = {c: normalise_name(c) for c in columns}
    # pass 1: exact contract names; pass 2: synonyms in priority order
    for c in columns:
        if norm[c] in spec.column_names and norm[c] not in used:
            out[c] = norm[c]
            used.add(norm[c])
    for col in spec.columns:
        if col.name in used:
            continue
        for syn in col.synonyms:
            hit = next((c for c in columns if c not in out and norm[c] == syn), None)
            if hit is not None:
                out[hit] = col.name
                used.add(col.name)
                break
    return out


def detect_kind(columns: list[str]) -> str:
    """The table kind the columns most likely hold: feedback when they have a score, metric or
    comment and a time; customers when they have customer attributes and no event time or
    touchpoint; interactions (the main kind) otherwise."""
    fb = set(suggest_mapping(columns, "feedback").values())
    it = set(suggest_mapping(columns, "interactions").values())
    cu = set(suggest_mapping(columns, "customers").values())
    if "timestamp" in fb and fb & {"metric", "score", "comment"}:
        return "feedback"
    if it & {"timestamp", "touchpoint"}:
        return "interactions"
    if cu & {"persona", "region", "tier", "first_seen", "stakeholder", "acquisition_channel"}:
        return "customers"
    return "interactions"


def template_csv(kind: str) -> str:
    """A blank template: the header of a kind's contract and one example row."""
    examples = {
        "interactions": ["C000123", "2025-03-04T10:22:31Z", "pricing_page", "evaluate", "web", "inbound", "sales",
                         "", "", "", "", "S0001", "false"],
        "customers": ["C000123", "Researcher", "2024-11-02", "North", "silver", "customer", "search"],
        "feedback": ["C000123", "2025-03-05T09:00:00Z", "nps", "9", "Quick delivery, friendly staff", "delivery",
                     "email", "true"],
    }
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(KINDS[kind].column_names)
    w.writerow(examples[kind])
    return buf.getvalue()


# the result store's table (cx.results; cx.store creates it with its other cx_meta tables): results of
# cx functions per dataset version, code fingerprint and call key, payloads written by cx.codec
RESULTS_DDL = """CREATE TABLE IF NOT EXISTS cx_meta.results (
    dataset_id INTEGER, version INTEGER, code VARCHAR, fn VARCHAR, key VARCHAR, payload BLOB,
    bytes BIGINT, seconds DOUBLE, created_at TIMESTAMP, pinned BOOLEAN)"""
