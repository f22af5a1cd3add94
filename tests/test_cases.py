"""The closed loop (issue 24), headless: rules on a hand-built dataset (exact cases), one open case per
customer and reason, idempotent re-runs, routing, escalation, versions and history, cases surviving a
replace, plans, alerts, the digest, and the planted effect of the demo recovered."""
from datetime import datetime, timedelta

import polars as pl
import pytest

import cx
from cx import cases
from cx.cases import alerts, digest, outcomes, plans
from tests.conftest import copy_demo

EVENTS = """customer_id,timestamp,touchpoint,channel,direction,department,incident
a,2025-03-01T10:00:00Z,delivery,web,inbound,logistics,true
b,2025-03-01T10:00:00Z,delivery,web,inbound,logistics,true
b,2025-03-02T10:00:00Z,support_reply,email,outbound,support,false
c,2025-03-05T10:00:00Z,billing_question,phone,inbound,billing,false
d,2025-03-06T10:00:00Z,checkout,web,inbound,,false
e,2025-03-20T10:00:00Z,homepage,web,inbound,,false
"""
FEEDBACK = """customer_id,timestamp,metric,score,comment,touchpoint
a,2025-03-10T09:00:00Z,nps,3,late again,delivery
a,2025-03-12T09:00:00Z,nps,2,,delivery
b,2025-03-10T09:00:00Z,nps,9,,
c,2025-03-11T09:00:00Z,csat,1,,billing_question
d,2025-03-12T09:00:00Z,ces,2,,checkout
e,2025-03-13T09:00:00Z,nps,8,This was a terrible awful horrible experience,
"""
NOW = datetime(2025, 3, 21, 12, 0)


@pytest.fixture
def small(store, write):
    store.import_file(write("i.csv", EVENTS), kind="interactions", dataset="t")
    store.import_file(write("f.csv", FEEDBACK), kind="feedback", dataset="t")
    return store


def test_the_import_hook_opened_exactly_the_expected_cases(small):
    c = cases.cases(small, "t").sort("reason")
    got = {(r["reason"], r["customer_id"]) for r in c.iter_rows(named=True)}
    assert got == {("detractor", "a"), ("low_csat", "c"), ("high_effort", "d"), ("incident_no_followup", "a"),
                   ("negative_comment", "e")}
    det = c.filter(pl.col("reason") == "detractor").row(0, named=True)
    assert det["event_at"] == datetime(2025, 3, 12, 9, 0)  # the latest of a's two detractor answers
    assert "(and 1 earlier in the window)" in det["detail"] and det["status"] == "new" and det["version"] == 1
    assert det["owner"] == "logistics"  # the department of the touchpoint rated (delivery)
    assert c.filter(pl.col("reason") == "low_csat")["owner"][0] == "billing"
    assert c.filter(pl.col("reason") == "high_effort")["owner"][0] == cases.DEFAULT_OWNER  # checkout: no department
    inc = c.filter(pl.col("reason") == "incident_no_followup").row(0, named=True)
    assert inc["department"] == "logistics" and inc["priority"] == "high"
    assert (inc["due_at"] - inc["opened_at"]) == timedelta(days=2)  # the incident rule's SLA
    h = cases.history(small, "t", "case", det["id"])
    assert h.select("who", "field", "new").row(0) == (cases.SYSTEM, "opened", "logistics")


def test_rerun_is_idempotent_and_one_open_case_per_customer_and_reason(small, write):
    n = cases.cases(small, "t").height
    ev = cases.evaluate(small, "t", now=NOW)  # the data and rules of the hook's run: the rules do not run again
    assert ev.unchanged and not ev.opened and cases.cases(small, "t").height == n
    assert "valuable_at_risk" in ev.skipped  # no amounts: the rule says what it needs
    assert "those of the last run" in ev.summary()
    ev = cases.evaluate(small, "t", now=NOW, force=True)  # run anyway: the marks open nothing twice
    assert not ev.unchanged and not any(ev.opened.values()) and cases.cases(small, "t").height == n
    # a new detractor answer from a (whose case is open): covered, nothing opened
    small.import_file(write("f2.csv", FEEDBACK.split("\n", 1)[0] + "\na,2025-03-15T09:00:00Z,nps,1,,delivery\n"),
                      kind="feedback", dataset="t", mode="append")
    assert cases.cases(small, "t").filter(pl.col("reason") == "detractor").height == 1
    # resolved, then a later answer opens a new case; the same data again opens nothing more
    det = cases.cases(small, "t").filter(pl.col("reason") == "detractor").row(0, named=True)
    cases.update_case(small, "t", det["id"], det["version"], "Ana", status="resolved")
    small.import_file(write("f3.csv", FEEDBACK.split("\n", 1)[0] + "\na,2025-03-18T09:00:00Z,nps,0,,delivery\n"),
                      kind="feedback", dataset="t", mode="append")
    dets = cases.cases(small, "t").filter(pl.col("reason") == "detractor")
    assert dets.height == 2 and sorted(dets["status"].to_list()) == ["new", "resolved"]
    cases.evaluate(small, "t")
    assert cases.cases(small, "t").filter(pl.col("reason") == "detractor").height == 2
    # a change of the rules is a new stamp: they run again (NPS 8 now counts: e's answer; b's 9 does not)
    rs, v = cases.rules(small, "t")
    cases.save_setting(small, "t", "rules", {**rs, "detractor": {**rs["detractor"], "max_score": 8}}, v, "Kim")
    ev = cases.evaluate(small, "t", now=NOW)
    assert not ev.unchanged and ev.opened.get("detractor") == 1
    assert set(cases.cases(small, "t").filter(pl.col("reason") == "detractor")["customer_id"]) == {"a", "e"}
    assert cases.evaluate(small, "t", now=NOW).unchanged


def test_routing_rules_and_escalation(small):
    own, v = cases.owners(small, "t")
    cases.save_setting(small, "t", "owners", {**own, "routing": [{"reason": "low_csat", "department": "*",
                                                                  "owner": "Billing desk"}],
                                               "escalation_owner": "Mo"}, v, "Kim")
    c = cases.cases(small, "t").filter(pl.col("reason") == "low_csat").row(0, named=True)
    cases.update_case(small, "t", c["id"], c["version"], "Kim", status="resolved")
    from cx.cases.rules import route

    assert route("low_csat", "billing", cases.owners(small, "t")[0]) == "Billing desk"
    late = datetime.utcnow() + timedelta(days=10)
    n = cases.escalate(small, "t", now=late)
    open_ = cases.cases(small, "t", now=late).filter(pl.col("open"))
    assert n == open_.height == 4 and set(open_["escalated_to"].to_list()) == {"Mo"}
    assert open_["overdue"].all()
    assert cases.escalate(small, "t", now=late) == 0  # once each


def test_stale_version_refused_history_and_bulk(small):
    c = cases.cases(small, "t").filter(pl.col("reason") == "detractor").row(0, named=True)
    v2 = cases.update_case(small, "t", c["id"], c["version"], "Ana", assignee="Ana", status="in_progress",
                           note="called, no answer")
    assert v2 == 2
    with pytest.raises(cases.StaleVersion, match="changed by Ana"):  # a second session still holding version 1
        cases.update_case(small, "t", c["id"], c["version"], "Ben", status="resolved")
    row = cases.case(small, "t", c["id"])
    assert row["status"] == "in_progress" and row["first_action_at"] is not None and row["closed_at"] is None
    h = cases.history(small, "t", "case", c["id"])
    assert set(zip(h["field"], h["new"])) >= {("assignee", "Ana"), ("status", "in_progress"),
                                              ("note", "called, no answer"), ("opened", "logistics")}
    with pytest.raises(cx.CXError, match="name"):
        cases.update_case(small, "t", c["id"], v2, "", status="resolved")  # who acts is always recorded
    v3 = cases.update_case(small, "t", c["id"], v2, "Ana", status="resolved")
    with pytest.raises(cx.CXError, match="cannot become"):
        cases.update_case(small, "t", c["id"], v3, "Ana", status="wont_fix")
    all_ = cases.cases(small, "t")
    versions = dict(zip(all_["id"].to_list(), all_["version"].to_list()))
    stale_id = all_.filter(pl.col("reason") == "detractor")["id"][0]
    versions[stale_id] -= 1
    saved, refused = cases.bulk_update(small, "t", versions, "Kim", assignee="Lee")
    assert len(saved) == all_.height - 1 and [i for i, _ in refused] == [stale_id]
    assert set(cases.cases(small, "t").filter(pl.col("id") != stale_id)["assignee"].to_list()) == {"Lee"}


def test_cases_survive_a_replace_and_go_with_the_dataset(small, write):
    before = cases.cases(small, "t").select("id", "customer_id", "reason")
    small.import_file(write("i2.csv", EVENTS), kind="interactions", dataset="t", mode="replace")
    assert cases.cases(small, "t").select("id", "customer_id", "reason").equals(before)
    small.delete_dataset("t")
    assert small.con.sql("SELECT count(*) FROM cx_meta.loop_cases").fetchall()[0][0] == 0


def test_a_failing_hook_never_fails_the_import(store, write, monkeypatch, caplog):
    import sys

    def boom(*a, **k):
        raise RuntimeError("rules exploded")

    monkeypatch.setattr(sys.modules["cx.cases.hook"], "evaluate", boom)
    rep = store.import_file(write("i.csv", EVENTS), kind="interactions", dataset="t")
    assert rep.accepted == 6 and store.version("t") == 1
    assert "closed loop after the import of t failed" in caplog.text and "rules exploded" in caplog.text


def test_plans_progress_and_versions(small):
    due = datetime(2025, 6, 1).date()
    pid = plans.create_plan(small, "t", "Fix delivery", "driver", "delivery", 4.0, "logistics", due, "Kim",
                            start_date=datetime(2025, 3, 11).date())
    p = plans.plans(small, "t").row(0, named=True)
    assert p["metric"] == "nps" or p["metric"] == "csat_mean"
    assert p["baseline"] is None  # no CSAT answer about delivery before the start
    pr = plans.progress_of(small, pid, "t")
    assert pr["current"].n == 0 and pr["moved"] == "too early to tell"
    v = plans.update_plan(small, "t", pid, 1, "Kim", status="done", note="done")
    with pytest.raises(cases.StaleVersion):
        plans.update_plan(small, "t", pid, 1, "Ben", status="dropped")
    assert v == 2 and plans.plans(small, "t")["status"][0] == "done"
    with pytest.raises(cx.CXError, match="KPI"):
        plans.create_plan(small, "t", "x", "kpi", "revenue", 1, "o", due, "Kim")


def test_alert_rules_fire_once(store, write):
    rows = "".join(f"c{i},2025-0{m}-1{i % 9}T10:00:00Z,nps,{(9 if m < 6 else 2) if i % 2 else 10}\n"
                   for m in (1, 2, 3, 4, 5, 6) for i in range(40))
    store.import_file(write("f.csv", "customer_id,timestamp,metric,score\n" + rows), kind="feedback", dataset="s")
    visits = "".join(f"c{i},2025-0{m}-{d:02d}T00:00:00Z,a\n" for m in range(1, 7) for d in (1, 15) for i in range(40))
    store.import_file(write("i.csv", "customer_id,timestamp,touchpoint\n" + visits + "c1,2025-07-01T00:00:00Z,a\n"),
                      kind="interactions", dataset="s")
    alerts.save_targets(store, "s", {"nps": 50}, 0, "Kim")
    alerts.save_alert_rules(store, "s", [{"kind": "threshold", "kpi": "nps", "value": "target"},
                                         {"kind": "change", "kpi": "nps"}], 0, "Kim")
    r = alerts.run_alerts(store, "s")
    ev = alerts.inbox(store, "s").sort("kind")
    assert r["fired"] == 2 and len(r["new"]) == 2 and ev["kind"].to_list() == ["change", "threshold"]
    assert ev.filter(pl.col("kind") == "threshold")["message"][0] == \
        "NPS in June 2025: 0, below its target (50)."
    again = alerts.run_alerts(store, "s")
    assert again["fired"] == 2 and again["new"] == [] and alerts.inbox(store, "s").height == 2
    with pytest.raises(cases.StaleVersion):
        alerts.save_targets(store, "s", {"nps": 10}, 0, "Ben")


def test_digest_says_what_is_open_resolved_and_due(small, tmp_path):
    c = cases.cases(small, "t").filter(pl.col("reason") == "low_csat").row(0, named=True)
    cases.update_case(small, "t", c["id"], c["version"], "Ana <script>", status="resolved", assignee="Ana <b>")
    g = digest.build(small, "t", period="week")
    assert g["open"] == 4 and len(g["resolved"]) == 1 and g["resolved"][0]["customer_id"] == "c"
    h, t = digest.write(g, tmp_path / "dg")
    page = h.read_text()
    assert "Ana &lt;b&gt;" in page and "Ana <b>" not in page
    assert "<script" not in page and "http" not in page  # self-contained, escaped
    text = t.read_text()
    assert "Cases: 4 open" in text and f"case {c['id']}: Low CSAT (1–2), customer c, by Ana <b>" in text


@pytest.fixture(scope="module")
def demo_loop(demo_db, tmp_path_factory):
    s = cx.open(copy_demo(demo_db, tmp_path_factory.mktemp("loop") / "d.duckdb"))
    yield s
    s.close()


def test_the_demo_has_a_closed_loop_history(demo_loop):
    c = cases.cases(demo_loop, "demo")
    by = dict(c.group_by("status").len().iter_rows())
    assert by["resolved"] > 400 and by["wont_fix"] > 100 and by["new"] > 20 and by["in_progress"] > 20
    assert 0 < int(c["overdue"].sum()) < int(c["open"].sum())  # some overdue, not all
    assert set(c["reason"].unique()) == set(cases.REASONS)
    p = plans.plans(demo_loop, "demo")
    assert p.height == 3
    moved = plans.progress_of(demo_loop, p.filter(pl.col("link_value") == "nps")["id"][0], "demo")
    stuck = plans.progress_of(demo_loop, p.filter(pl.col("link_value") == "delivery")["id"][0], "demo")
    assert moved["met"] is True and moved["current"].value > moved["baseline"].value
    assert stuck["met"] is False and stuck["moved"] == "no change beyond chance yet"
    assert alerts.targets(demo_loop, "demo")[0]["nps"] > 0 and len(alerts.alert_rules(demo_loop, "demo")[0]) == 3


def test_the_planted_effect_resolved_detractors_were_retained_more(demo_loop):
    r = outcomes.did_it_work(demo_loop, "demo")
    o = r["outcomes"].filter((pl.col("reason") == "detractor") & (pl.col("outcome") == "retained")).row(0, named=True)
    assert o["resolved_n"] >= 60 and o["other_n"] >= 30
    assert o["difference"] > 25 and o["low"] > 10 and o["significant"]
    assert "association, not proof" in o["sentence"]
    sp = r["speed"].filter(pl.col("reason") == "detractor").row(0, named=True)
    assert 0.4 < sp["share_in_sla"] < 0.95 and sp["sla_low"] < sp["share_in_sla"] < sp["sla_high"]
    # other reasons carry no planted effect: none of their retention differences is beyond chance
    rest = r["outcomes"].filter((pl.col("reason") != "detractor") & (pl.col("outcome") == "retained"))
    assert not rest["significant"].any()


def test_the_inbox_filters_and_counts_by_owner():
    import polars as pl

    due = datetime(2025, 6, 1)
    allc = pl.DataFrame({"id": [1, 2, 3, 4], "owner": ["cx", "cx", "billing", "billing"],
                         "status": ["new", "in_progress", "resolved", "new"], "reason": ["detractor"] * 3 + ["low_csat"],
                         "assignee": ["Kim", None, "Kim", None], "age_days": [1.0, 3.0, 10.0, 8.0],
                         "overdue": [False, True, False, True],
                         "due_at": [due, due - timedelta(days=1), due, due - timedelta(days=2)]})
    v, by = cases.inbox(allc)
    assert v["id"].to_list() == [4, 2, 1, 3]  # overdue first, earliest due first
    assert by.rows() == [("cx", 2, 1, 3.0), ("billing", 2, 1, 10.0)] or by.rows() == [("billing", 2, 1, 10.0),
                                                                                      ("cx", 2, 1, 3.0)]
    assert cases.inbox(allc, statuses=cases.OPEN)[0]["id"].to_list() == [4, 2, 1]
    assert cases.inbox(allc, age="2–7 days")[0]["id"].to_list() == [2]
    assert cases.inbox(allc, assignee="Kim", reasons=("detractor",))[0]["id"].to_list() == [1, 3]
    assert cases.inbox(allc, team="billing", overdue_only=True)[0]["id"].to_list() == [4]
