"""What every Loyalty & trust module reads: the scales, the minimum group size, the answers of one
metric, a customer's latest row, seconds between two timestamps."""
from __future__ import annotations

import ibis

from ..data import Data
from ..store import CXError

MIN_N = 30  # a group with fewer answers (customers, for per-customer metrics) is flagged low_n
SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7), "rating": (1, 5)}
METRIC_LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "rating": "Rating"}


def check_metric(metric: str) -> None:
    if metric not in SCALES:
        raise ValueError(f"metric is one of {', '.join(SCALES)}")


def answers(d: Data, metric: str) -> ibis.Table:
    """The filtered feedback rows of one metric with a score, or a CXError saying what is missing."""
    check_metric(metric)
    if not d.has("feedback"):
        raise CXError(f"{METRIC_LABELS[metric]} needs a feedback table (survey answers with a metric and a "
                      "score): import one on the Data page.")
    f = d.feedback
    return f.filter((f.metric == metric) & f.score.notnull())


def latest(t: ibis.Table, key: str = "customer_id") -> ibis.Table:
    """The last row of each `key` (latest timestamp, then the last in file order)."""
    t = t.mutate(_r=ibis.row_number().over(group_by=key, order_by=[ibis.desc("timestamp"), ibis.desc("_seq")]))
    return t.filter(t._r == 0).drop("_r")


def seconds(a, b):
    """a − b in seconds (float), for two timestamp columns."""
    return a.epoch_seconds().cast("float64") - b.epoch_seconds().cast("float64")
