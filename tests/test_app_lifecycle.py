"""AppTest: the Life cycle and Teams pages draw the demo data's numbers and drill down to customers."""

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, plotly_charts

APP = str(ROOT / "app.py")



_charts = plotly_charts


def _frame(at, column):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_lifecycle_page(app_db):
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("views/lifecycle.py").run()
    assert not at.exception, at.exception
    ch = _charts(at)
    curve = ch["Retention curve"]["data"][0]
    assert curve["x"][0] == 0 and curve["y"][0] == 1.0 and curve["y"][1] < 0.8
    assert curve["y"][:12] == sorted(curve["y"][:12], reverse=True)
    heat = ch["Retention by cohort"]["data"]
    assert heat[0]["type"] == "heatmap" and len(heat[0]["y"]) == 24  # the 24 most recent monthly cohorts
    assert all(row[0] in (1.0, None) for row in heat[0]["z"])  # k = 0: everyone is active
    cells = next(t for t in heat if t.get("name") == "cells")  # the clickable layer: one point per cell
    assert len(cells["customdata"]) == sum(v is not None for row in heat[0]["z"] + heat[1]["z"] for v in row)
    assert "Lifecycle: who is active each period" not in ch  # lazy tabs: only the open tab draws
    # drill-down: the default cell (latest cohort, month 1) lists customers linked to the customer view
    cells = _frame(at, "cohort")
    assert all(u.startswith("customer?customer=") for u in cells["customer_id"])
    # a breakdown by persona draws one curve per persona
    at.selectbox(key="lc_breakdown").set_value("persona").run()
    assert not at.exception, at.exception
    curves = _charts(at)["Retention curve by persona"]["data"]
    y6 = {c["name"]: c["y"][6] for c in curves}
    assert len(y6) == 6 and y6["Loyal Regular"] > y6["Window Shopper"]
    # pick a cell: the listed customers are that cohort's
    at.selectbox(key="lc_breakdown").set_value("none").run()
    at.number_input(key="lc_drill_k").set_value(0).run()
    n0 = next(int(m.value.replace(",", "")) for m in at.metric if m.label == "Customers")
    z = _charts(at)["Retention by cohort"]["data"][0]
    last_label = z["y"][-1]
    assert n0 == int(last_label.split("·")[1].strip().replace(",", ""))  # the whole cohort is active at k = 0
    cells = _frame(at, "cohort")
    assert len(cells) == min(n0, 1000) and cells["customer_id"].str.startswith("customer?customer=").all()
    # the second tab: lifecycle states, with its customers linked
    at.session_state["tab"] = "Lifecycle states"
    at.run()
    assert not at.exception, at.exception
    ch = _charts(at)
    assert "Retention curve" not in ch
    bars = ch["Lifecycle: who is active each period"]["data"]
    by = {b["name"]: b for b in bars}
    assert set(by) == {"new", "returning", "resurrecting", "dormant", "net change"}
    assert sum(by["new"]["y"]) == 5000 and max(by["dormant"]["y"]) <= 0 and min(by["dormant"]["y"]) < 0
    states = _frame(at, "state")
    assert len(states) and states["customer_id"].str.startswith("customer?customer=").all()
    assert "net" in _frame(at, "net").columns


def test_lifecycle_opens_from_a_shared_link(app_db):
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("views/lifecycle.py")
    at.query_params["tab"] = "Lifecycle states"
    at.query_params["lc_sp"] = "week"
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["tab"] == "Lifecycle states" and at.radio(key="lc_sp").value == "week"
    bars = {b["name"]: b for b in _charts(at)["Lifecycle: who is active each period"]["data"]}
    assert sum(bars["new"]["y"]) == 5000 and len(bars["new"]["x"]) > 100  # weeks, not months
    assert any(m.label.startswith("New, week of") for m in at.metric)
    # the cohorts tab with a breakdown and the period in the link (a new session opening it)
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("views/lifecycle.py")
    at.query_params["tab"] = "Retention cohorts"
    at.query_params["lc_breakdown"] = "persona"
    at.query_params["lc_cohort_by"] = "purchase"
    at.run()
    assert not at.exception, at.exception
    assert at.radio(key="lc_cohort_by").value == "purchase"
    assert len(_charts(at)["Retention curve by persona"]["data"]) == 6


def test_teams_page(app_db):
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("views/teams.py").run()
    assert not at.exception, at.exception
    assert next(m.value for m in at.metric if m.label == "Inconsistent department") == "billing"
    ch = _charts(at)
    csat = ch["CSAT (mean, 1–5)"]["data"][0]
    assert "billing" in csat["x"] and all(1 <= v <= 5 for v in csat["y"]) and csat["error_y"]["array"][0] > 0
    spread = ch["Spread between employees (CSAT sd)"]["data"][0]
    sd = dict(zip(spread["x"], spread["y"]))
    assert max(sd, key=sd.get) == "billing"
    assert spread["marker"]["color"][spread["x"].index("billing")] == "#e63946"
    inc = dict(zip(ch["Incident rate"]["data"][0]["x"], ch["Incident rate"]["data"][0]["y"]))
    assert inc["billing"] > 0.05 and inc["support"] == 0
    # ranked employees' dots: billing's column is visibly wider (and red)
    dots = [t for t in ch["Employees: mean CSAT with 95% interval"]["data"] if "(" not in t["name"]]
    spread_of = {t["name"]: max(t["y"]) - min(t["y"]) for t in dots}
    assert max(spread_of, key=spread_of.get) == "billing"
    assert next(t for t in dots if t["name"] == "billing")["marker"]["line"]["color"] == "#e63946"
    emp = _frame(at, "csat_shrunk")
    ranked = emp[emp["ranked"]]
    assert (ranked["csat_n"] >= 20).all() and list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    cust = _frame(at, "customer_id")
    assert len(cust) > 0 and cust["customer_id"].str.startswith("customer?customer=").all()
    # drill-down: billing's customers with an incident (wrong charges) are listed; support has none
    at.selectbox(key="tm_drill_dep").set_value("billing")
    at.selectbox(key="tm_drill_kind").set_value("incidents").run()
    assert not at.exception, at.exception
    n_billing = int(next(m.value for m in at.metric if m.label == "Customers").replace(",", ""))
    assert n_billing > 100 and "incidents" in _frame(at, "customer_id").columns
    at.selectbox(key="tm_drill_dep").set_value("support").run()
    assert next(m.value for m in at.metric if m.label == "Customers") == "0"


def test_teams_opens_from_a_shared_link(app_db):
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("views/teams.py")
    at.query_params["tm_min_n"] = "40"
    at.query_params["tm_dep"] = "billing"
    at.run()
    assert not at.exception, at.exception
    assert at.number_input(key="tm_min_n").value == 40 and at.selectbox(key="tm_dep").value == "billing"
    emp = _frame(at, "csat_shrunk")
    assert set(emp["department"]) == {"billing"}
    ranked = emp[emp["ranked"]]
    assert len(ranked) and (ranked["csat_n"] >= 40).all() and not (emp[~emp["ranked"]]["csat_n"] >= 40).any()
