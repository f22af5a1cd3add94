"""Dashboards ready before anyone opens them: the calls each page of the app makes on its first view
(no filters, every choice at its default), and the model fits behind its other tabs, computed once
per dataset version and kept in the result store (cx.results).

``PLAN`` is the one list of them, in the order they are prepared (the default page first, then the
slow model fits). Each entry walks its page's default view as the page does, through a `call`
that computes or reads each result: the arguments of a later call often come from an earlier
result (the funnel's steps are the stages the data holds, the customer view opens the most
active customer). A test (tests/test_prepare.py) opens every page in the app with a fresh cache and
checks that the calls it makes are exactly its entry's, so the list cannot drift from the pages.

The app runs the plan in a background thread after an import or a version change (ui.prepare);
``python -m cx import ... --prepare`` and ``python -m cx prepare`` run it from the command line
(:func:`prepare`), where the app is not running.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

from . import clv, journey, lifecycle, loyalty, overview, profile, results, segments, sqlbox, story, teams, voc
from . import customer as cu
from .filters import Filters
from .schema import STAGES
from .store import CXError

log = logging.getLogger("cx.prepare")

# the pages' default choices (views/<page>.py): a test holds them equal to what the pages call
PERIOD = "month"  # overview, journey trend
FUNNEL = dict(field="stage", window="30d", unit="customer")
COHORTS = dict(period="month", cohort_by="activity", active_by="activity", breakdown=None)
VALUE = dict(horizon_months=12, discount_rate=0.10, time_unit="W")
HOLDOUT_WEEKS = 26


class Call:
    """What a plan entry calls cx through: ``c(fn, *args, **kwargs)`` runs fn(store, *args,
    dataset=..., **kwargs), or gives its kept result (`fn` a function or its "module:name"). The store and dataset are at hand for the
    few page steps that read them directly (the SQL page's examples)."""

    store = None
    dataset: str | None = None

    def __call__(self, fn, *args, **kwargs):  # pragma: no cover - an interface
        raise NotImplementedError


def _sidebar(c: Call) -> None:  # named as ui/sidebar.py names them
    c("cx.profile:filter_options")
    try:
        c("cx.segments:saved")
    except Exception:  # noqa: BLE001 - as the sidebar: an old database without the table
        pass


def _overview(c: Call) -> None:
    _sidebar(c)  # the app's first view: the sidebar and the default page
    f = Filters()
    k = c(profile.kpis, f).row(0, named=True)
    if not k["touchpoints"]:
        return
    c(overview.scorecard, period=PERIOD, filters=f)
    c(overview.movers, period=PERIOD, filters=f)
    c(profile.activity, f, period=PERIOD)
    c(profile.by_stage, f)


def _journey(c: Call) -> None:  # the Funnel tab
    f = Filters()
    c(journey.breakdown_options)
    present = set(c(profile.by_stage, f)["stage"].to_list())
    steps = tuple((s,) for s in STAGES if s in present)[:4]
    if len(steps) < 2:
        return
    kw = dict(FUNNEL, filters=f)
    c(journey.funnel_report, steps, breakdown=None, period=PERIOD, **kw)
    k = c(profile.kpis, f).row(0, named=True)
    if k["last"]:
        a, b = journey.last_two_months(k["last"].date())
        c(journey.compare_periods, steps, tuple(a), tuple(b), **kw)


def _lifecycle(c: Call) -> None:  # the Retention cohorts tab
    f = Filters()
    c(lifecycle.breakdown_options)
    kw = dict(COHORTS, filters=f)
    m = c(lifecycle.retention, **kw)
    c(lifecycle.retention_curve, **kw)
    cohorts = sorted(m["cohort"].unique().to_list())
    if cohorts:  # the cell list under the heatmap: the latest cohort, period 1, active customers
        c(lifecycle.cohort_members, cohorts[-1], 1, active=True, **kw, group=None)


def _loyalty(c: Call) -> None:  # the Scores tab
    f = Filters()
    try:
        ov = c(loyalty.score_overview, filters=f)
        if ov.height == 0:
            return
        metric = next(m for m in ("nps", "csat", "ces") if m in set(ov["metric"].to_list()))
        c(loyalty.score_trend, metric, period="quarter", filters=f)
        c(loyalty.score_distribution, metric, filters=f)
        opts = list(c(loyalty.breakdown_options))
        by = "touchpoint" if metric != "nps" else ("persona" if "persona" in opts else "channel")
        if by not in opts:
            return
        c(loyalty.score_summary, metric, by=by, filters=f)
        c(loyalty.solicited_split, filters=f)
    except CXError:  # as the page: a tab's missing data is a message in that tab
        return


def _voc(c: Call) -> None:  # the Themes tab
    f = Filters()
    c(voc.overview, filters=f)
    c(voc.sentiment_vs_score, filters=f)
    summ = c(voc.theme_summary, k=None, filters=f)
    c(voc.theme_sentiment, k=None, filters=f)
    theme = summ["theme"][0] if summ.height else None
    c(voc.comment_list, theme=theme, k=None, effort_only=False, sentiment_class=None, limit=200, filters=f)


def _segments(c: Call) -> None:  # above the tabs: the clustering (the Clusters tab calls nothing more)
    c(segments.run, k=None, include_outcomes=False, filters=Filters())


def _value_top(c: Call):  # above the tabs: the model
    return c(clv.customer_value, **VALUE, filters=Filters())


def _value(c: Call) -> None:  # the Lifetime value tab
    f = Filters()
    kw = dict(VALUE, filters=f)
    vm = _value_top(c)
    if not vm.money:
        return
    c(clv.concentration, **kw)
    for fn, a, more in ((clv.holdout, (), dict(holdout_weeks=HOLDOUT_WEEKS, time_unit=VALUE["time_unit"], filters=f)),
                        (clv.value_by, ("persona",), kw)):
        try:
            c(fn, *a, **more)
        except Exception:  # noqa: BLE001 - as the page: a short history or a missing breakdown is a note
            pass


def _customer(c: Call) -> None:  # the most active customer
    found = c(cu.search, "", 50)
    if not found.height:
        return
    picked = found["customer_id"][0]
    if not c(cu.exists, picked):
        return
    c(cu.profile, picked)
    c(cu.timeline, picked)
    c(cu.feedback, picked)
    try:
        c(clv.customer_value)
    except CXError:
        pass
    for fn in (clv.segments_table, loyalty.relationship):
        try:
            c(fn)
        except Exception:  # noqa: BLE001 - optional cards
            pass


def _teams(c: Call) -> None:
    f = Filters()
    rep = c(teams.report, min_n=teams.MIN_N, filters=f)
    c(teams.link_summary, filters=f)
    deps = rep["departments"]["department"].to_list()
    c(teams.team_members, deps[0] if deps else None, None, kind=teams.KINDS[0], filters=f)


def _sql(c: Call) -> None:
    if getattr(c.store, "backend_name", "duckdb") != "duckdb":
        return
    c(sqlbox.schema_browser)
    first = next(iter(sqlbox.examples(c.store, c.dataset).values()))
    try:
        c(sqlbox.run, first, max_rows=sqlbox.DEFAULT_MAX_ROWS)
    except CXError:  # rejected or failed: the page says so
        pass


def _story(c: Call) -> None:
    c(story.step, 1, filters=Filters())


def _key_drivers(c: Call) -> None:  # Loyalty & trust, Key drivers tab
    c(loyalty.key_drivers, outcome="nps", filters=Filters())


def _mix(c: Call) -> None:  # Segments, Touchpoint-mix personas tab
    _segments(c)
    c(segments.mix_run, k=None, filters=Filters())


def _outreach(c: Call) -> None:  # Value, Proactive outreach tab
    _value_top(c)
    c(clv.outreach, value_quantile=0.75, low_p_alive=0.5, **VALUE, filters=Filters())


@dataclass(frozen=True)
class View:
    """One entry of the plan: a page's first view (`tab` None) or the page opened on one of its
    tabs (what it computes above its tabs, then the tab)."""
    name: str
    page: str  # views/<page>.py
    tab: str | None
    run: Callable[[Call], None]


PLAN: tuple[View, ...] = (
    View("Overview", "overview", None, _overview),
    View("Value", "value", None, _value),
    View("Segments", "segments", None, _segments),
    View("Voice of the customer", "voc", None, _voc),
    View("Journey", "journey", None, _journey),
    View("Life cycle", "lifecycle", None, _lifecycle),
    View("Loyalty & trust", "loyalty", None, _loyalty),
    View("Teams", "teams", None, _teams),
    View("Customer view", "customer", None, _customer),
    View("Journey story", "story", None, _story),
    View("SQL", "sql", None, _sql),
    View("Key drivers", "loyalty", "Key drivers", _key_drivers),
    View("Touchpoint-mix personas", "segments", "Touchpoint-mix personas", _mix),
    View("Proactive outreach", "value", "Proactive outreach", _outreach),
)


def run_plan(c: Call, progress: Callable[[int, int, str], None] | None = None,
             stop: Callable[[], bool] | None = None) -> dict:
    """Walk every entry of the plan through `c`. An entry that ends in a CXError (the page shows
    its message, e.g. a dataset without feedback) is listed under "messages", one that fails
    otherwise is logged and listed under "failed"; the next entry runs either way. `stop()`
    (checked between entries) ends the walk. `progress(done, total, name)` before each entry and
    at the end. Returns a summary."""
    t0, out = time.perf_counter(), {"steps": len(PLAN), "done": 0, "messages": [], "failed": [], "stopped": False}
    for i, v in enumerate(PLAN):
        if stop is not None and stop():
            out["stopped"] = True
            break
        if progress:
            progress(i, len(PLAN), v.name)
        try:
            v.run(c)
        except CXError as e:
            out["messages"].append(v.name)
            log.info("preparing %s: %s", v.name, e)
        except Exception as e:  # noqa: BLE001 - one page's failure does not stop the others
            out["failed"].append(v.name)
            log.warning("preparing %s failed: %s: %s", v.name, type(e).__name__, e)
        out["done"] += 1
    if progress and not out["stopped"]:
        progress(len(PLAN), len(PLAN), "")
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


class StoreCall(Call):
    """A call that reads the result store first, else computes and writes (the command line)."""

    def __init__(self, store, ds):
        self.store, self.ds, self.dataset = store, ds, ds.name
        self.computed = self.read = 0

    def __call__(self, fn, *args, **kwargs):
        name = results.qualname(fn)
        k = results.call_key(name, args, tuple(sorted(kwargs.items())))
        got = results.read(self.store, self.ds, k)
        if got is not results.MISSING:
            self.read += 1
            results.pin(self.store, self.ds, k)
            return got
        t = time.perf_counter()
        out = results.function(name)(self.store, *args, dataset=self.ds.name, **kwargs)
        results.write(self.store, self.ds, name, k, out, time.perf_counter() - t, pinned=True)
        self.computed += 1
        return out


def prepare(store, dataset: str | None = None, progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Prepare the dataset's dashboards in this process: every entry of the plan computed (or read
    when already kept) and written to the result store, then the version marked prepared.
    Returns the summary (steps, failed, seconds, results computed and read)."""
    ds = store.dataset(dataset)
    c = StoreCall(store, ds)
    out = run_plan(c, progress, stop=lambda: store.version(ds.name) != ds.version)
    out.update(computed=c.computed, read=c.read, version=ds.version)
    if not out["stopped"]:
        results.mark_prepared(store, ds, out)
    return out
