"""The closed loop's side of the app: who is acting (Streamlit's login when configured, else a name
chosen in the sidebar), results of cx.cases cached per loop revision, and the "plan an action" form
the Key drivers, Teams and Overview pages share."""
from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from cx import cases
from cx.cases import plans as cplans

from .cache import _cached, dataset_version
from .store import current_dataset, get_store
from .text import md_escape


def signed_in() -> str | None:
    """The signed-in user's e-mail (or name) when Streamlit's login is configured and used."""
    try:
        u = st.user
        if u.is_logged_in:
            return str(u.get("email") or u.get("name") or "") or None
    except Exception:  # noqa: BLE001 - no auth configured: st.user says nothing
        return None
    return None


def current_user() -> str | None:
    """Who is acting: the signed-in user, else the name chosen in the sidebar (None until chosen)."""
    return signed_in() or (st.session_state.get("cx_actor") or "").strip() or None


def current_team() -> str | None:
    return st.session_state.get("cx_team") or None


def _keep(src: str, dst: str) -> None:
    st.session_state[dst] = st.session_state.get(src)


def actor_box(teams: list[str]) -> None:
    """The sidebar's "who acts" block: the signed-in user, or a name to type; and their team."""
    with st.sidebar:
        st.markdown("**You**")
        who = signed_in()
        if who:
            st.caption(f"Signed in as {md_escape(who)}: your changes are recorded under this name.")
        else:
            st.session_state.setdefault("cx_actor_in", st.session_state.get("cx_actor", ""))
            st.text_input("Your name", key="cx_actor_in", on_change=_keep, args=("cx_actor_in", "cx_actor"),
                          placeholder="e.g. Kim Laurent",
                          help="Recorded with every change you make to a case or a plan (no login is configured).")
            st.session_state["cx_actor"] = st.session_state.get("cx_actor_in")
        opts = ["(none)", *teams]
        cur = current_team()
        st.session_state["cx_team_in"] = cur if cur in teams else "(none)"
        st.selectbox("Your team", opts, key="cx_team_in", on_change=_keep, args=("cx_team_in", "cx_team"),
                     help="For the filter “my team's cases”: the owner your team stands for.")
        st.session_state["cx_team"] = None if st.session_state.get("cx_team_in") == "(none)" else \
            st.session_state.get("cx_team_in")


def seen(key: str, current: int) -> int:
    """The version of an item (a case, a plan, a setting) as this session first saw it: a save sends it,
    so a change someone else saved meanwhile is refused, not overwritten. A save or a reload renews it."""
    return st.session_state.setdefault("cx_seen", {}).setdefault(key, current)


def saw(key: str, version: int | None) -> None:
    """This session now holds `version` of the item (after its own save; None: read it again)."""
    d = st.session_state.setdefault("cx_seen", {})
    if version is None:
        d.pop(key, None)
    else:
        d[key] = version


def loop_call(fn, *args, **kwargs):
    """A cx.cases function fn(store, *args, dataset=..., **kwargs), cached per dataset version and loop
    revision (every write to cases, plans, settings or events moves it)."""
    ds = current_dataset()
    rev = cases.revision(get_store(), ds)
    return _cached(f"{fn.__module__}:{fn.__qualname__}", ds, (dataset_version(ds), rev), args,
                   tuple(sorted(kwargs.items())))


def plan_form(key: str, title: str, link_kind: str, link_value: str, target: float | None, source: str,
              metric: str | None = None, owner: str = "") -> None:
    """A small form that creates an action plan linked to `link_value` (a driver, a touchpoint, a
    department or a KPI), in a popover."""
    label = cplans.METRICS[metric or cplans.default_metric(link_kind, link_value)][0]
    with st.popover("Plan an action", icon=":material/flag:", key=f"{key}_pop"):
        with st.form(f"{key}_form"):
            t = st.text_input("What will be done", value=title, key=f"{key}_title")
            o = st.text_input("Owner", value=owner, key=f"{key}_owner")
            g = st.number_input(f"Target ({label})", value=float(round(target, 2)) if target is not None else 0.0,
                                key=f"{key}_target", format="%.2f")
            due = st.date_input("Due", value=date.today() + timedelta(days=90), key=f"{key}_due")
            go = st.form_submit_button("Create the plan", type="primary")
        if go:
            try:
                pid = cplans.create_plan(get_store(), current_dataset(), t, link_kind, link_value, g, o, due,
                                         current_user() or "", metric=metric, source=source)
                st.success(f"Plan {pid} created: follow it on the Cases page (Plans).", icon=":material/check:")
            except cases.StaleVersion as e:
                st.error(md_escape(e))
            except Exception as e:  # noqa: BLE001 - a CXError says what to fix
                st.warning(md_escape(e))
