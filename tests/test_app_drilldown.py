"""A card's Details link carries its metric and period: the drill-down page opens on that period,
says how it relates to the whole history, and shows the KPI's control chart (issue 22, item 7)."""
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, plotly_charts, shown

APP = str(ROOT / "app.py")


def test_details_link_opens_the_cards_period(app_db):
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, at.exception
    links = [p for p in at.get("page_link") if p.proto.label == "Details"]
    nps_link = next(p for p in links if "kpi=nps" in p.proto.page or "kpi=nps" in (p.proto.query_string or ""))
    q = nps_link.proto.query_string
    assert "kpi_per=month" in q and "kpi_at=" in q
    params = dict(kv.split("=", 1) for kv in q.split("&"))
    at.switch_page("views/loyalty.py")
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    text = " ".join(shown(m.value) for m in at.markdown)
    assert "NPS in October 2026: 10** from 48 answers, 95% interval -15 to 35" in text
    assert "The page below covers the whole history under your filters: NPS 15 from 1,598 answers" in text
    charts = plotly_charts(at)
    assert "NPS over time, with control limits" in charts
    spec = charts["NPS over time, with control limits"]
    names = [t.get("name") for t in spec["data"]]
    assert "control limits" in names and "the period you opened" in names


def test_one_click_on_a_customer_row_opens_that_customer(app_db):
    """Issue 25, item 5: a click on any cell of a customer list's row opens that customer (the grid
    reports the clicked cell; no second click on a link)."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.switch_page("views/value.py").run()
    assert not at.exception, at.exception
    grid = next(d for d in at.dataframe if d.proto.id and "val_top_open" in d.proto.id)
    third = grid.value["customer_id"].iloc[2].split("customer=")[1].split("&")[0]
    assert "Click a customer's row to open their view." in " ".join(c.value for c in at.caption)
    at.session_state["val_top_open"] = {"selection": {"rows": [], "columns": [], "cells": [[2, "predicted_clv"]]}}
    at.run()
    assert not at.exception, at.exception
    assert at.query_params["customer"] == [third] or at.query_params["customer"] == third
    text = " ".join(shown(m.value) for m in at.markdown)
    assert "**Touchpoints** (newest first)" in text
