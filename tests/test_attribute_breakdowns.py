"""The columns a file brought beyond the data contract (attributes) break figures down by name
(issue 21): an event log's own columns in funnels and loop metrics, the ones that hold one value per
customer as customer attributes (cohorts, scores), a survey export's own columns in score
breakdowns. Exact numbers on a hand-built log."""
import polars as pl
import pytest

from cx import journey, lifecycle, loyalty
from cx.store import CXError

# ab_variant changes within u1's journey; acquisition_channel is one value per customer
LOG = """user_id,event_time,event,ab_variant,acquisition_channel
u1,2025-01-06 09:00,page_view,A,ads
u1,2025-01-06 09:05,cart,B,ads
u1,2025-02-06 09:06,purchase,B,ads
u2,2025-01-07 10:00,page_view,A,ads
u2,2025-01-07 10:02,cart,A,ads
u3,2025-01-08 11:00,page_view,B,organic
u3,2025-02-08 11:30,purchase,B,organic
u4,2025-01-09 12:00,page_view,A,organic
"""
SURVEY = """customer_id,submitted_at,metric,score,survey_wave
u1,2025-01-10,nps,10,first
u2,2025-01-11,nps,0,second
u3,2025-01-12,nps,9,first
u4,2025-01-13,nps,8,second
"""


@pytest.fixture
def d(store, write):
    store.import_file(write("log.csv", LOG), dataset="log")
    store.import_file(write("survey.csv", SURVEY), kind="feedback", dataset="log")
    return store.data("log")


def test_constant_attributes_become_customer_attributes(d):
    assert d.attributes("interactions") == ["ab_variant", "acquisition_channel"]
    assert d.customer_attributes() == ("acquisition_channel",)  # ab_variant changes within a journey
    got = d.customer_attribute("acquisition_channel").order_by("customer_id").to_polars()
    assert got.rows() == [("u1", "ads"), ("u2", "ads"), ("u3", "organic"), ("u4", "organic")]
    with pytest.raises(CXError, match="'ab_variant' is not a customer attribute.*acquisition_channel"):
        d.customer_attribute("ab_variant")


def _reached(f: pl.DataFrame, by: str) -> dict:
    last = f.filter(pl.col("step") == 2)
    return {r[by]: (r["count"], int(f.filter((pl.col("step") == 1) & (pl.col(by) == r[by]))["count"][0]))
            for r in last.iter_rows(named=True)}


def test_funnels_break_down_by_an_event_attribute_and_a_customer_attribute(d):
    opts = journey.breakdown_options(d)
    assert "ab_variant" in opts and "acquisition_channel" in opts and opts.count("acquisition_channel") == 1
    by_acq = journey.funnel(d, ["page_view", "cart"], breakdown="acquisition_channel")
    assert _reached(by_acq, "acquisition_channel") == {"ads": (2, 2), "organic": (0, 2)}
    # the entry's own row: u1, u2 and u4 entered on variant A, u3 on B
    by_variant = journey.funnel(d, ["page_view", "cart"], breakdown="ab_variant")
    assert _reached(by_variant, "ab_variant") == {"A": (2, 3), "B": (0, 1)}
    with pytest.raises(CXError, match="Cannot break the funnel down by 'nope'.*ab_variant.*acquisition_channel"):
        journey.funnel(d, ["page_view", "cart"], breakdown="nope")


def test_loop_metrics_group_customers_by_an_attribute(d):
    m = journey.loop_metrics(d, by="acquisition_channel")
    assert dict(zip(m["acquisition_channel"], m["customers"])) == {"ads": 2, "organic": 2}
    v = journey.loop_metrics(d, by="ab_variant")  # the customer's most used variant (ties: the first name)
    assert dict(zip(v["ab_variant"], v["customers"])) == {"A": 2, "B": 2}  # u1 A,B,B -> B; u2 A; u3 B; u4 A


def test_scores_break_down_by_a_customer_attribute_and_by_the_survey_s_own_column(d):
    opts = loyalty.breakdown_options(d)
    assert "survey_wave" in opts and "acquisition_channel" in opts
    acq = loyalty.score_summary(d, "nps", by="acquisition_channel")
    assert dict(zip(acq["group"], zip(acq["n"], acq["value"]))) == {"ads": (2, 0.0), "organic": (2, 50.0)}
    wave = loyalty.score_summary(d, "nps", by="survey_wave")
    assert dict(zip(wave["group"], zip(wave["n"], wave["value"]))) == {"first": (2, 100.0), "second": (2, -50.0)}


def test_cohorts_break_down_by_an_event_log_s_customer_attribute(d):
    assert "acquisition_channel" in lifecycle.breakdown_options(d)
    r = lifecycle.retention(d, breakdown="acquisition_channel")
    first = r.filter(pl.col("period_index") == 0)
    sizes = dict(zip(first["group"], first["cohort_size"])) if "cohort_size" in first.columns else None
    assert sizes is not None and sum(sizes.values()) == 4 and set(sizes) == {"ads", "organic"}


def test_clusters_compare_with_any_customer_attribute(d):
    from cx import segments

    assert segments.declared_options(d) == ("acquisition_channel",)  # no customers table: the log's own
    res = segments.run(d, k=2)
    r = segments.with_declared(d, res, "acquisition_channel")
    assert dict(zip(r.labels["customer_id"], r.labels["persona"])) == {"u1": "ads", "u2": "ads", "u3": "organic",
                                                                       "u4": "organic"}
    assert r.labels["cluster"].to_list() == res.labels["cluster"].to_list()  # the clusters are untouched
    ct = segments.crosstab(r)
    assert ct.group_by("persona").agg(pl.col("customers").sum()).sort("persona").rows() == [("ads", 2), ("organic", 2)]
    assert set(segments.group_members(r, "organic")["customer_id"]) == {"u3", "u4"}


def test_an_attribute_filters_every_figure_and_travels_in_the_link(d):
    from cx import profile
    from cx.filters import Filters

    f = Filters(attributes=(("acquisition_channel", ("organic",)),))
    k = profile.kpis(d.with_filters(f)).row(0, named=True)
    assert (k["customers"], k["touchpoints"]) == (2, 3)  # u3 and u4
    assert Filters.from_params(f.to_params()) == f and f.to_params() == {"a.acquisition_channel": "organic"}
    assert "acquisition_channel: organic" in f.describe()
    nps = loyalty.score_summary(d.with_filters(f), "nps")
    assert (nps["n"][0], nps["value"][0]) == (2, 50.0)
    opts = profile.filter_options(d)
    assert opts.values["acquisition_channel"] == ("ads", "organic") and "ab_variant" not in opts.values
    # an attribute the dataset lacks is ignored, like persona on a dataset without customers
    assert profile.kpis(d.with_filters(Filters(attributes=(("nope", ("x",)),))))["customers"][0] == 4


def test_the_sidebar_filters_by_an_attribute_from_the_link(app_db, tmp_path):
    from tests.test_app import db_with, new_app

    db_with(app_db, tmp_path, "log", LOG)
    at = new_app()
    at.query_params["a.acquisition_channel"] = "organic"
    at.run()
    assert not at.exception, at.exception
    picker = at.sidebar.multiselect(key="f_a_acquisition_channel_log")
    assert picker.options == ["ads", "organic"] and picker.value == ["organic"]
    assert "Showing: acquisition_channel: organic" in [c.value.replace("\\", "") for c in at.sidebar.caption]
    assert "2 customers, 3 touchpoints" in " ".join(c.value for c in at.caption)
    picker.set_value([]).run()  # cleared: everyone again, and the link forgets it
    assert "4 customers, 8 touchpoints" in " ".join(c.value for c in at.caption)
    assert "a.acquisition_channel" not in at.query_params
