"""The arrays the generator's steps hand on to each other (numpy arrays; times in seconds since the
window start, ``nan`` where a time does not exist). Customer arrays are indexed by customer number
(0..n-1), purchase arrays by purchase, event arrays by interaction row.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


@dataclass
class People:
    """Per customer: latent behaviour (drawn first) and declared attributes."""

    grp: np.ndarray          # behaviour group (index into GROUP_NAMES)
    t0_raw: np.ndarray       # acquisition time before it is moved into opening hours
    lam: np.ndarray          # BG/NBD purchase rate per week
    p_drop: np.ndarray       # BG/NBD dropout probability after a repeat purchase
    nu: np.ndarray           # Gamma-Gamma spend rate
    p_gg: np.ndarray         # Gamma-Gamma shape p of the customer's group
    bond: np.ndarray         # latent relationship
    dq: np.ndarray           # latent delivery quality experienced
    buyer: np.ndarray        # goes on from the pre-purchase journey to a first purchase
    persona: np.ndarray      # declared persona (index into PERSONAS)
    region: np.ndarray
    age: np.ndarray
    stakeholder: np.ndarray

    @property
    def n(self) -> int:
        return int(self.grp.size)


@dataclass
class Journey:
    """Per customer: the pre-purchase journey (discover, then consider/evaluate sessions)."""

    t0: np.ndarray           # first touchpoint
    end: np.ndarray          # end of the last pre-purchase session
    acq_tp: np.ndarray       # the first touchpoint (acquisition channel)
    gap_days: np.ndarray     # mean days between sessions (buyers and non-buyers differ)


@dataclass
class Purchases:
    """Per purchase (cust .. is_death) and per customer (first_purchase .. n_repeat)."""

    cust: np.ndarray
    t: np.ndarray
    k: np.ndarray            # 0 = first purchase, then 1, 2, ... repeats
    ch: np.ndarray           # channel code
    amount: np.ndarray
    pickup: np.ndarray       # click & collect: ordered in the app, delivered to the store
    is_death: np.ndarray     # the purchase after which the customer drops out
    buyers: np.ndarray       # customers with a first purchase inside the window
    first_purchase: np.ndarray
    died_at: np.ndarray
    dead: np.ndarray
    active_end: np.ndarray   # death + a quiet tail, else the window end
    n_purch: np.ndarray
    n_repeat: np.ndarray


class Answers(NamedTuple):
    """Per inbound contact: channel and department codes, seconds until the answer."""

    channel: np.ndarray
    department: np.ndarray
    delay: np.ndarray


@dataclass
class Events:
    """Per interaction row, cut to the window and each customer's active life, sorted by customer
    and time; codes index the vocabularies of :mod:`cx.sample.constants` (-1 = none)."""

    cust: np.ndarray
    t: np.ndarray
    tp: np.ndarray
    ch: np.ndarray
    dep: np.ndarray
    emp: np.ndarray
    vg: np.ndarray
    inc: np.ndarray
    kind: np.ndarray         # incident kind (INCIDENT_KINDS), 0 = none
    follow: np.ndarray       # follow-up level of a contact (0 = first contact)
    amount: np.ndarray
    stage: np.ndarray
    direction: np.ndarray
    sess_id: np.ndarray      # 1.. by first appearance, -1 = no session
    sentiment: np.ndarray
    emp_effect: np.ndarray   # per employee: CSAT effect (centred within department)


@dataclass
class World:
    """Everything drawn for one dataset: what the frames and the truth are made from."""

    seed: int
    people: People
    journey: Journey
    purchases: Purchases
    events: Events
    feedback: dict           # per feedback row: cust, t, metric, score, tp, ch, inc, kind, comment, theme, polarity
    answers: Answers
