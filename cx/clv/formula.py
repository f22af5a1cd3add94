"""Time units of the purchase summary and the discounted CLV formula (pure numpy on arrays)."""
from __future__ import annotations

import numpy as np

from .bgnbd import expected_purchases
from .gamma_gamma import expected_spend

UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 30.4375}
UNIT_NAMES = {"D": "day", "W": "week", "M": "month"}
MONTH_DAYS = 30.4375


def unit_days(time_unit: str) -> float:
    """Days in one time unit: D (day), W (week) or M (month, 30.4375 days); the names work too."""
    u = {"day": "D", "week": "W", "month": "M"}.get(time_unit, time_unit)
    if u not in UNIT_DAYS:
        raise ValueError("time_unit is 'D', 'W' or 'M' (day, week, month)")
    return UNIT_DAYS[u]


def clv(bgnbd: dict, gamma_gamma: dict, frequency, recency, T, monetary_value, horizon_months: int = 12,
        discount_rate: float = 0.10, time_unit: str = "W") -> np.ndarray:
    """Discounted predicted CLV = Σ_{k=1..H} (E[Y(k months)] − E[Y(k−1 months)]) × E[spend] /
    (1 + d)^(k/12), with E[Y] the conditional expected repeat purchases (in the model's time unit)
    and d the annual discount rate."""
    u = unit_days(time_unit)
    spend = expected_spend(gamma_gamma, frequency, monetary_value)
    prev = np.zeros(np.shape(frequency))
    total = np.zeros(np.shape(frequency))
    for k in range(1, int(horizon_months) + 1):  # a handful of periods, vectorised over customers
        cur = expected_purchases(bgnbd, k * MONTH_DAYS / u, frequency, recency, T)
        total += (cur - prev) / (1 + discount_rate) ** (k / 12)
        prev = cur
    return total * spend
