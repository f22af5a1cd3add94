"""`generate`: runs the steps of the demo world in their fixed order on one random generator, then
cuts, sorts and completes the interaction rows (channel, department, employee, sessions,
sentiment) and hands everything to the feedback, the frames and the truth.
"""
from __future__ import annotations

import warnings

import numpy as np

from .constants import (DEPARTMENTS, EMP_DEPT, EMP_N, EMPLOYEE_SD, END, TP, TP_CH, TP_DEP, TP_DIR, TP_SENT_MU,
                        TP_SENT_P, TP_STAFFED, TP_STAGE, TP_VG)
from .feedback import feedback
from .frames import SampleData, frames
from .incidents import after_purchases
from .journeys import before_repeats, draw_people, pre_purchase, purchase_rows, purchases
from .life import active_life
from .rows import Rows, employee, gp
from .state import Events, Journey, People, Purchases, World
from .truth import truth


def generate(n_customers: int = 5000, seed: int = 42) -> SampleData:
    """Generate the demo dataset: deterministic for (n_customers, seed)."""
    n = int(n_customers)
    if n < 1:
        raise ValueError("n_customers must be >= 1")
    rng = np.random.default_rng(seed)
    R = Rows()
    people = draw_people(rng, n)
    journey = pre_purchase(rng, R, people)
    pur = purchases(rng, people, journey)
    purchase_rows(rng, R, pur)
    before_repeats(rng, R, people, pur)
    contacts = after_purchases(rng, R, people, journey, pur)
    answers = active_life(rng, R, people, journey, pur, contacts)
    ev = _events(rng, R, people, journey, pur)
    world = World(seed=seed, people=people, journey=journey, purchases=pur, events=ev,
                  feedback=feedback(rng, people, ev), answers=answers)
    interactions, customers, fb, customer_truth = frames(world)
    with warnings.catch_warnings(), np.errstate(all="ignore"):  # tiny datasets: empty groups give NaN -> None
        warnings.simplefilter("ignore", RuntimeWarning)
        planted = truth(world)
    return SampleData(interactions, customers, fb, planted, customer_truth)


def _cut_and_sort(R: Rows, journey: Journey, pur: Purchases) -> dict:
    """All rows, times rounded to the second, cut to the window and each customer's active life (a
    contact goes with its answer), sorted by customer and time (stable: ties keep their order)."""
    A = R.concat()
    A["t"] = np.round(A["t"])
    keep = (A["t"] >= 0) & (A["tmax"] <= END) & (A["t"] <= END) & (A["anchor"] <= pur.active_end[A["cust"]])
    keep &= A["t"] >= journey.t0[A["cust"]]
    for k_ in A:
        A[k_] = A[k_][keep]
    key = A["cust"].astype(np.int64) * (1 << 28) + A["t"].astype(np.int64)
    order = np.argsort(key, kind="stable")
    for k_ in A:
        A[k_] = A[k_][order]
    return A


def _session_ids(sess) -> np.ndarray:
    """Sessions renumbered 1.. by first appearance (-1: the row has no session)."""
    has_s = sess >= 0
    uniq, first_ix, inv = np.unique(sess[has_s], return_index=True, return_inverse=True)
    rank = np.empty(uniq.size, dtype=np.int64)
    rank[np.argsort(first_ix, kind="stable")] = np.arange(uniq.size)
    sess_id = np.full(sess.size, -1, dtype=np.int64)
    sess_id[has_s] = rank[inv] + 1
    return sess_id


def _employee_effects(rng) -> np.ndarray:
    """Employee quality (CSAT effect), centred within the department; billing is inconsistent."""
    emp_sd = np.array([EMPLOYEE_SD[DEPARTMENTS[d]] for d in EMP_DEPT])
    emp_effect = rng.standard_normal(EMP_DEPT.size) * emp_sd
    return np.round(emp_effect - (np.bincount(EMP_DEPT, emp_effect) / EMP_N)[EMP_DEPT], 3)


def _events(rng, R: Rows, people: People, journey: Journey, pur: Purchases) -> Events:
    """The final interaction rows: touchpoint defaults filled in (channel, department, value given),
    an employee for staffed rows without one, sessions renumbered, sentiment drawn."""
    A = _cut_and_sort(R, journey, pur)
    cust, t, tp = A["cust"], A["t"], A["tp"].astype(np.int64)
    ch = np.where(A["ch"] < 0, TP_CH[tp], A["ch"]).astype(np.int64)
    dep = np.where(A["dep"] < 0, TP_DEP[tp], A["dep"]).astype(np.int64)
    staffed = TP_STAFFED[tp] & (dep >= 0)
    emp = np.where(staffed & (A["emp"] < 0), employee(rng, np.maximum(dep, 0)), A["emp"]).astype(np.int64)
    emp = np.where(staffed, emp, -1)
    vg = np.where(A["vg"] < 0, TP_VG[tp], A["vg"]).astype(np.int64)
    emp_effect = _employee_effects(rng)
    ev = Events(cust=cust, t=t, tp=tp, ch=ch, dep=dep, emp=emp, vg=vg, inc=A["inc"], kind=A["kind"].astype(np.int64),
                follow=A["follow"], amount=A["amount"], stage=TP_STAGE[tp].astype(np.int64),
                direction=TP_DIR[tp].astype(np.int64), sess_id=_session_ids(A["sess"]), sentiment=None,
                emp_effect=emp_effect)
    ev.sentiment = _sentiment(rng, people, ev)  # drawn last: it reads the completed rows
    return ev


def _sentiment(rng, people: People, ev: Events) -> np.ndarray:
    """Sentiment on a share of rows by touchpoint: the touchpoint's mean, the group's offset, bond,
    incidents, follow-ups, delivery quality on deliveries and the employee's effect (nan: none)."""
    cust, tp, emp, N = ev.cust, ev.tp, ev.emp, ev.cust.size
    has_sent = rng.random(N) < TP_SENT_P[tp]
    s_val = (TP_SENT_MU[tp] + gp("sentiment_offset", people.grp)[cust] + 0.1 * people.bond[cust] - 0.65 * ev.inc
             - 0.2 * (ev.follow > 0) + np.where(tp == TP["delivery"], 0.2 * people.dq[cust], 0.0)
             + np.where(emp >= 0, 0.15 * ev.emp_effect[np.maximum(emp, 0)], 0.0)
             + 0.28 * rng.standard_normal(N))
    return np.where(has_sent, np.round(np.clip(s_val, -1, 1), 3), np.nan)
