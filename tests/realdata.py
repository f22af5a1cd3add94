"""Small datasets shaped like real exports (tests/test_real_data.py): an event log with a purchase
event and no revenue, a published purchase log (orders only, some $0), interactions with a
customers table, a survey export without customer ids, and everything together."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

import polars as pl

T0 = datetime(2025, 1, 1)


def event_log(n: int = 120, seed: int = 1) -> pl.DataFrame:
    """page views, cart, payment_details and a purchase event; platform, acquisition_channel and
    user_cohort columns; no revenue, no stage, no direction."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        t = T0 + timedelta(days=rng.randrange(0, 120), hours=rng.randrange(0, 20))
        plat = rng.choice(["desktop", "mobile"])
        acq, cohort = rng.choice(["ads", "organic", "referral"]), f"2025-{1 + i % 4:02d}"
        for k in range(rng.randrange(2, 9)):
            ev = ["page_view", "product_view", "cart", "payment_details", "purchase"][min(k, 4)] \
                if rng.random() < 0.7 else rng.choice(["page_view", "search", "product_view"])
            rows.append({"user_id": f"u{i}", "event_time": t.isoformat(), "event": ev, "platform": plat,
                         "acquisition_channel": acq, "user_cohort": cohort})
            t += timedelta(hours=rng.randrange(1, 300))
    return pl.DataFrame(rows)


def purchase_log(n: int = 150, seed: int = 2) -> pl.DataFrame:
    """One row per order: customer, date, dollar value (some $0), no event column."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        t = T0 + timedelta(days=rng.randrange(0, 60))
        for _ in range(rng.randrange(1, 6)):
            v = 0.0 if rng.random() < 0.1 else round(rng.uniform(5, 120), 2)
            rows.append({"customer_id": f"c{i}", "date": t.strftime("%Y-%m-%d"), "touchpoint": "order",
                         "dollar_value": v})
            t += timedelta(days=rng.randrange(3, 90))
    return pl.DataFrame(rows)


def interactions_with_customers(n: int = 120, seed: int = 3) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = random.Random(seed)
    rows = []
    tps = [("homepage", "web"), ("pricing_page", "web"), ("order_placed", "web"), ("support_call", "phone"),
           ("delivery", "store"), ("newsletter", "email")]
    for i in range(n):
        t = T0 + timedelta(days=rng.randrange(0, 90))
        for _ in range(rng.randrange(2, 10)):
            tp, ch = rng.choice(tps)
            rows.append({"customer_id": f"c{i}", "timestamp": t.isoformat(), "touchpoint": tp, "channel": ch,
                         "amount": round(rng.uniform(10, 200), 2) if tp == "order_placed" else None,
                         "direction": "outbound" if tp == "newsletter" else "inbound"})
            t += timedelta(days=rng.randrange(1, 30))
    cust = pl.DataFrame({"customer_id": [f"c{i}" for i in range(n)],
                         "persona": [rng.choice(["Researcher", "Bargain hunter"]) for _ in range(n)],
                         "region": [rng.choice(["North", "South"]) for _ in range(n)]})
    return pl.DataFrame(rows), cust


def survey_export(n: int = 200, seed: int = 4) -> pl.DataFrame:
    """Answers without customer ids: submitted_at, metric, score, comment."""
    rng = random.Random(seed)
    words = ["slow delivery", "great help", "confusing page", "easy and quick", "rude staff"]
    rows = []
    for _ in range(n):
        m, lo, hi = rng.choice([("nps", 0, 10), ("csat", 1, 5)])
        rows.append({"submitted_at": (T0 + timedelta(days=rng.randrange(0, 90))).strftime("%Y-%m-%d"),
                     "metric": m, "score": rng.randint(lo, hi), "comment": rng.choice(words)})
    return pl.DataFrame(rows)


def build(store, folder) -> dict[str, str]:
    """Import each shape as a dataset; returns dataset name -> what it is."""
    def w(name, df):
        p = folder / name
        df.write_csv(p)
        return p

    store.import_file(w("events.csv", event_log()), dataset="event log")
    store.import_file(w("orders.csv", purchase_log()), dataset="orders",
                      mapping={"customer_id": "customer_id", "date": "timestamp", "touchpoint": "touchpoint",
                               "dollar_value": "amount"})
    inter, cust = interactions_with_customers()
    store.import_file(w("i.csv", inter), dataset="with customers")
    store.import_file(w("c.csv", cust), kind="customers", dataset="with customers")
    store.import_file(w("survey.csv", survey_export()), kind="feedback", dataset="survey only")
    store.import_file(w("i2.csv", inter), dataset="everything")
    store.import_file(w("c2.csv", cust), kind="customers", dataset="everything")
    fb = survey_export().with_columns(customer_id=pl.Series([f"c{i % 120}" for i in range(200)]))
    store.import_file(w("f2.csv", fb), kind="feedback", dataset="everything")
    return {"event log": "events, purchase event, no revenue", "orders": "orders only, $0 orders",
            "with customers": "interactions + customers", "survey only": "feedback without customer ids",
            "everything": "interactions, customers, feedback"}
