"""Deterministic demo-data generator with planted, testable effects (DESIGN.md §4).

    from cx.sample import generate, write
    data = generate(n_customers=5000, seed=42)     # -> SampleData (polars frames + truth dict)
    write(data, "sample_data")                      # interactions/customers/feedback CSV + truth

Everything is vectorised over numpy arrays (Python loops only over session index, purchase index,
event kinds, groups): 333k customers (~10M interactions) generate in well under a minute.

Planted structure (all parameters and realised effects are written to ``truth``):
  * six latent behaviour groups with distinct journeys, channel mixes, loops, spend and support;
    the declared ``persona`` equals the group's display name for ~80% of customers;
  * purchases from an exact BG/NBD process per group (time unit: week; dropout only after a
    repeat purchase, Fader et al. 2005) with Gamma-Gamma spend;
  * a latent relationship ``bond`` (from lambda and 1-p quantiles) driving trust, NPS, gives
    (value_given) and answer speed;
  * incidents (late delivery, wrong charge, outage); forgiveness planted by putting an incident at
    the death purchase with a probability that falls with tenure; the dead go quiet after 30-45 days;
  * departments and employees, billing being inconsistent; inbound contacts answered later;
  * sentiment with an emotion curve and ``delivery`` as the worst touchpoint, which drives NPS;
  * feedback (CSAT, CES, NPS, trust, unsolicited ratings) and comments whose wording follows scores.
"""
from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from scipy import special

from cx.schema import STAGES, derive_stage

# ----------------------------------------------------------------------------------------------
# time
WINDOW_START = "2022-11-01T00:00:00"
WINDOW_END = "2026-10-31T23:59:59"
_START_US = int(np.datetime64(WINDOW_START, "us").astype(np.int64))
END = float((np.datetime64(WINDOW_END, "s") - np.datetime64(WINDOW_START, "s")).astype(np.int64))
MIN, HOUR, DAY = 60.0, 3600.0, 86400.0
WEEK = 7 * DAY
MONTH = 30.4375 * DAY
YEAR = 365.25 * DAY
_FIRST_WEEKDAY = 1  # 2022-11-01 is a Tuesday (Monday = 0)

# ----------------------------------------------------------------------------------------------
# vocabularies
CHANNELS = ("web", "mobile_app", "store", "email", "phone", "chat", "social", "partner")
CH = {c: i for i, c in enumerate(CHANNELS)}
DEPARTMENTS = ("sales", "support", "billing", "logistics", "marketing", "store")
DEP = {d: i for i, d in enumerate(DEPARTMENTS)}
N_EMPLOYEES = {"sales": 15, "support": 40, "billing": 12, "logistics": 30, "marketing": 10, "store": 25}
# employee CSAT effect (sd across employees) and per-answer noise sd, on the 1-5 scale
EMPLOYEE_SD = {"sales": 0.2, "support": 0.2, "billing": 0.95, "logistics": 0.2, "marketing": 0.2, "store": 0.2}
ANSWER_SD = {"sales": 0.7, "support": 0.7, "billing": 1.15, "logistics": 0.7, "marketing": 0.7, "store": 0.7}
INCONSISTENT_DEPARTMENT = "billing"
VALUES = ("discount", "content", "thank_you", "gift")
VG = {v: i for i, v in enumerate(VALUES)}
DIRECTIONS = ("inbound", "outbound")
REGIONS = ("North", "South", "East", "West", "Central")
REGION_P = (0.22, 0.20, 0.18, 0.25, 0.15)
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
STAKEHOLDERS = ("customer", "partner", "employee", "investor")
STAKEHOLDER_P = (0.955, 0.02, 0.02, 0.005)
TIERS = ("bronze", "silver", "gold")

# touchpoint catalogue: name, fixed channel (None: from the session/context), direction,
# department, served by an employee, share of rows with sentiment, mean sentiment, value given
_TP = [
    # discover
    ("search_ad", "web", "inbound", None, False, 0.0, 0.0, None),
    ("referral_link", "web", "inbound", None, False, 0.0, 0.0, None),
    ("social_ad", "social", "inbound", None, False, 0.5, 0.15, None),
    ("influencer_post", "social", "inbound", None, False, 0.6, 0.3, None),
    ("app_store_search", "mobile_app", "inbound", None, False, 0.0, 0.0, None),
    ("store_window", "store", "inbound", None, False, 0.0, 0.0, None),
    ("partner_referral", "partner", "inbound", None, False, 0.0, 0.0, None),
    # consider
    ("homepage", None, "inbound", None, False, 0.25, 0.2, None),
    ("product_page", None, "inbound", None, False, 0.4, 0.3, None),
    ("category_browse", None, "inbound", None, False, 0.25, 0.2, None),
    ("wishlist_add", None, "inbound", None, False, 0.35, 0.4, None),
    ("blog_article", "web", "inbound", None, False, 0.35, 0.3, None),
    ("store_visit", "store", "inbound", "store", True, 0.6, 0.3, None),
    ("partner_catalog", "partner", "inbound", None, False, 0.0, 0.0, None),
    ("promo_email", "email", "outbound", "marketing", False, 0.0, 0.0, "discount"),
    # evaluate
    ("pricing_page", None, "inbound", None, False, 0.4, -0.12, None),
    ("compare_products", None, "inbound", None, False, 0.4, -0.05, None),
    ("reviews_read", None, "inbound", None, False, 0.4, 0.0, None),
    ("quote_request", "web", "inbound", "sales", False, 0.3, 0.0, None),
    ("free_trial", "mobile_app", "inbound", None, False, 0.4, 0.15, None),
    ("product_demo", "store", "inbound", "sales", True, 0.8, 0.25, None),
    ("sales_chat", "chat", "inbound", "sales", True, 0.9, 0.1, None),
    ("sales_call", "phone", "inbound", "sales", True, 0.9, 0.05, None),
    ("partner_reviews", "partner", "inbound", None, False, 0.0, 0.0, None),
    # purchase
    ("cart_add", None, "inbound", None, False, 0.3, 0.4, None),
    ("checkout", None, "inbound", None, False, 0.45, 0.35, None),
    ("order_placed", None, "inbound", None, False, 0.35, 0.5, None),
    ("store_purchase", "store", "inbound", "store", True, 0.6, 0.5, None),
    ("partner_order", "partner", "inbound", None, False, 0.0, 0.0, None),
    ("phone_order", "phone", "inbound", "sales", True, 0.9, 0.45, None),
    # use
    ("delivery", None, "outbound", "logistics", True, 0.9, -0.5, None),
    ("onboarding_email", "email", "outbound", "marketing", False, 0.0, 0.0, "content"),
    ("onboarding_call", "phone", "outbound", "support", True, 0.9, 0.3, None),
    ("app_login", "mobile_app", "inbound", None, False, 0.35, 0.15, None),
    ("feature_usage", None, "inbound", None, False, 0.3, 0.2, None),
    ("account_settings", None, "inbound", None, False, 0.1, 0.0, None),
    ("tutorial_video", "web", "inbound", None, False, 0.3, 0.25, None),
    ("support_call", "phone", "inbound", "support", True, 0.95, 0.02, None),
    ("support_chat", "chat", "inbound", "support", True, 0.95, 0.05, None),
    ("support_email", "email", "inbound", "support", True, 0.85, 0.0, None),
    ("complaint", None, "inbound", "support", False, 0.0, 0.0, None),
    ("billing_question", None, "inbound", "billing", True, 0.9, 0.08, None),
    ("support_reply", None, "outbound", None, True, 0.0, 0.0, None),
    ("return_request", "web", "inbound", "logistics", False, 0.6, -0.1, None),
    ("refund_issued", "email", "outbound", "billing", False, 0.0, 0.0, None),
    ("newsletter", "email", "outbound", "marketing", False, 0.0, 0.0, "content"),
    ("thank_you_email", "email", "outbound", "marketing", False, 0.0, 0.0, "thank_you"),
    ("loyalty_reward", "email", "outbound", "marketing", False, 0.0, 0.0, "gift"),
    ("survey_invite", "email", "outbound", "marketing", False, 0.0, 0.0, None),
]
TOUCHPOINTS = tuple(t[0] for t in _TP)
TP = {t: i for i, t in enumerate(TOUCHPOINTS)}
_TP_STAGE = np.array([STAGES.index(derive_stage(t)) for t in TOUCHPOINTS], dtype=np.int8)
_TP_CH = np.array([CH[t[1]] if t[1] else -1 for t in _TP], dtype=np.int8)
_TP_DIR = np.array([DIRECTIONS.index(t[2]) for t in _TP], dtype=np.int8)
_TP_DEP = np.array([DEP[t[3]] if t[3] else -1 for t in _TP], dtype=np.int8)
_TP_STAFFED = np.array([t[4] for t in _TP])
_TP_SENT_P = np.array([t[5] for t in _TP])
_TP_SENT_MU = np.array([t[6] for t in _TP])
_TP_VG = np.array([VG[t[7]] if t[7] else -1 for t in _TP], dtype=np.int8)
PURCHASE_TPS = ("order_placed", "store_purchase", "partner_order", "phone_order")
SUPPORT_TPS = ("support_call", "support_chat", "support_email", "complaint", "billing_question")

# which touchpoints a (stage, channel) browsing row can be
_CATALOG = {
    ("discover", "web"): {"search_ad": 0.6, "referral_link": 0.4},
    ("discover", "social"): {"social_ad": 0.6, "influencer_post": 0.4},
    ("discover", "mobile_app"): {"app_store_search": 1.0},
    ("discover", "store"): {"store_window": 1.0},
    ("discover", "partner"): {"partner_referral": 1.0},
    ("consider", "web"): {"homepage": 0.25, "product_page": 0.4, "category_browse": 0.2, "wishlist_add": 0.05,
                          "blog_article": 0.1},
    ("consider", "mobile_app"): {"homepage": 0.2, "product_page": 0.45, "category_browse": 0.25,
                                 "wishlist_add": 0.1},
    ("consider", "social"): {"product_page": 0.6, "wishlist_add": 0.25, "category_browse": 0.15},  # social shop
    ("consider", "store"): {"store_visit": 1.0},
    ("consider", "partner"): {"partner_catalog": 1.0},
    ("evaluate", "web"): {"pricing_page": 0.3, "compare_products": 0.3, "reviews_read": 0.3, "quote_request": 0.1},
    ("evaluate", "mobile_app"): {"pricing_page": 0.25, "compare_products": 0.3, "reviews_read": 0.35,
                                 "free_trial": 0.1},
    ("evaluate", "store"): {"product_demo": 1.0},
    ("evaluate", "chat"): {"sales_chat": 1.0},
    ("evaluate", "phone"): {"sales_call": 1.0},
    ("evaluate", "partner"): {"partner_reviews": 1.0},
    ("use", "web"): {"account_settings": 0.3, "feature_usage": 0.45, "tutorial_video": 0.25},
    ("use", "mobile_app"): {"feature_usage": 0.8, "account_settings": 0.2},
}
_COMBOS = list(_CATALOG)
_COMBO = {k: i for i, k in enumerate(_COMBOS)}

# ----------------------------------------------------------------------------------------------
# behaviour groups: every planted parameter (BG/NBD in weeks, Gamma-Gamma, journeys, channels)
GROUPS: dict[str, dict] = {
    "bargain_hunter": dict(
        display="Bargain Hunter", share=0.20, buyer_prob=0.95,
        bgnbd=dict(r=2.0, alpha=20.0, a=1.5, b=7.5), gamma_gamma=dict(p=4.0, q=8.0, gamma=70.0),
        discover={"social": 0.5, "web": 0.5},
        browse={"web": 0.95, "mobile_app": 0.05},
        evaluate={"web": 0.95, "chat": 0.05},
        buy={"web": 0.95, "mobile_app": 0.05},
        use={"web": 0.9, "mobile_app": 0.1},
        support={"phone": 0.15, "chat": 0.25, "email": 0.6},
        pre_sessions=3.0, nb_sessions=4.0, session_gap_days=3.0, nb_gap_days=12.0, rows_per_session=2.2,
        p_to_evaluate=0.65, p_back=0.55, re_eval=0.45, promo_before=0.7, promo_per_month=0.6,
        newsletter=0.55, use_per_month=0.2, support_per_month=0.06, billing_per_month=0.02, followup=0.15,
        base_incident=0.05, onboarding_call=0.05, bond_offset=-0.2, nps_base=7.9, csat_offset=0.0,
        sentiment_offset=0.0, loop_rank=2,
    ),
    "loyal_regular": dict(
        display="Loyal Regular", share=0.18, buyer_prob=0.97,
        bgnbd=dict(r=3.0, alpha=33.0, a=1.2, b=20.0), gamma_gamma=dict(p=6.0, q=6.0, gamma=50.0),
        discover={"mobile_app": 0.6, "web": 0.2, "store": 0.1, "social": 0.1},
        browse={"mobile_app": 0.85, "web": 0.05, "store": 0.1},
        evaluate={"mobile_app": 0.85, "web": 0.05, "store": 0.1},
        buy={"mobile_app": 0.85, "store": 0.12, "web": 0.03},
        use={"mobile_app": 0.95, "web": 0.05},
        support={"chat": 0.7, "email": 0.15, "phone": 0.15},
        pre_sessions=2.0, nb_sessions=3.0, session_gap_days=2.0, nb_gap_days=10.0, rows_per_session=1.8,
        p_to_evaluate=0.6, p_back=0.1, re_eval=0.05, promo_before=0.1, promo_per_month=0.0,
        newsletter=0.4, use_per_month=0.25, support_per_month=0.03, billing_per_month=0.01, followup=0.1,
        base_incident=0.04, onboarding_call=0.1, bond_offset=0.5, nps_base=8.8, csat_offset=0.2,
        sentiment_offset=0.1, loop_rank=3,
    ),
    "researcher": dict(
        display="Researcher", share=0.15, buyer_prob=0.9,
        bgnbd=dict(r=1.5, alpha=30.0, a=1.5, b=9.0), gamma_gamma=dict(p=8.0, q=10.0, gamma=225.0),
        discover={"partner": 0.8, "web": 0.2},
        browse={"partner": 0.8, "web": 0.2},
        evaluate={"partner": 0.5, "chat": 0.45, "web": 0.05},
        buy={"partner": 0.9, "web": 0.1},
        use={"web": 0.9, "mobile_app": 0.1},
        support={"chat": 0.6, "email": 0.3, "phone": 0.1},
        pre_sessions=7.0, nb_sessions=6.0, session_gap_days=4.0, nb_gap_days=12.0, rows_per_session=2.5,
        p_to_evaluate=0.75, p_back=0.7, re_eval=0.8, promo_before=0.05, promo_per_month=0.0,
        newsletter=0.3, use_per_month=0.1, support_per_month=0.05, billing_per_month=0.02, followup=0.1,
        base_incident=0.05, onboarding_call=0.4, bond_offset=0.0, nps_base=8.1, csat_offset=0.0,
        sentiment_offset=-0.03, loop_rank=1,
    ),
    "convenience_seeker": dict(
        display="Convenience Seeker", share=0.17, buyer_prob=0.95,
        bgnbd=dict(r=2.0, alpha=35.0, a=2.0, b=6.0), gamma_gamma=dict(p=5.0, q=7.0, gamma=66.0),
        discover={"store": 0.85, "mobile_app": 0.1, "web": 0.05},
        browse={"store": 0.95, "mobile_app": 0.05},
        evaluate={"store": 0.7, "phone": 0.3},
        buy={"store": 0.9, "phone": 0.1},
        use={"mobile_app": 0.5, "web": 0.5},
        support={"phone": 0.9, "chat": 0.05, "email": 0.05},
        pre_sessions=1.3, nb_sessions=2.0, session_gap_days=1.5, nb_gap_days=15.0, rows_per_session=1.2,
        p_to_evaluate=0.1, p_back=0.05, re_eval=0.03, promo_before=0.05, promo_per_month=0.0,
        newsletter=0.1, use_per_month=0.05, support_per_month=0.04, billing_per_month=0.01, followup=0.1,
        base_incident=0.04, onboarding_call=0.05, bond_offset=0.0, nps_base=8.3, csat_offset=0.1,
        sentiment_offset=0.05, loop_rank=5,
    ),
    "support_heavy": dict(
        display="Support Seeker", share=0.12, buyer_prob=0.95,
        bgnbd=dict(r=1.5, alpha=30.0, a=2.0, b=6.0), gamma_gamma=dict(p=5.0, q=7.0, gamma=84.0),
        discover={"web": 0.5, "social": 0.2, "mobile_app": 0.2, "store": 0.1},
        browse={"web": 0.5, "mobile_app": 0.5},
        evaluate={"phone": 0.6, "chat": 0.3, "web": 0.1},
        buy={"web": 0.5, "phone": 0.3, "mobile_app": 0.2},
        use={"web": 0.5, "mobile_app": 0.5},
        support={"phone": 0.55, "chat": 0.25, "email": 0.2},
        pre_sessions=2.5, nb_sessions=3.0, session_gap_days=3.0, nb_gap_days=12.0, rows_per_session=1.2,
        p_to_evaluate=0.8, p_back=0.4, re_eval=0.3, promo_before=0.1, promo_per_month=0.0,
        newsletter=0.4, use_per_month=0.3, support_per_month=0.28, billing_per_month=0.08, followup=0.35,
        base_incident=0.09, onboarding_call=0.5, bond_offset=-0.3, nps_base=7.2, csat_offset=-0.3,
        sentiment_offset=-0.35, loop_rank=4,
    ),
    "window_shopper": dict(
        display="Window Shopper", share=0.18, buyer_prob=0.12,
        bgnbd=dict(r=1.0, alpha=40.0, a=2.0, b=3.0), gamma_gamma=dict(p=3.0, q=6.0, gamma=50.0),
        discover={"social": 0.8, "mobile_app": 0.2},
        browse={"social": 0.55, "mobile_app": 0.45},
        evaluate={"mobile_app": 0.7, "web": 0.3},
        buy={"web": 0.6, "mobile_app": 0.4},
        use={"web": 0.5, "mobile_app": 0.5},
        support={"chat": 0.5, "email": 0.4, "phone": 0.1},
        pre_sessions=4.0, nb_sessions=6.0, session_gap_days=6.0, nb_gap_days=20.0, rows_per_session=2.0,
        p_to_evaluate=0.35, p_back=0.2, re_eval=0.2, promo_before=0.2, promo_per_month=0.0,
        newsletter=0.3, use_per_month=0.2, support_per_month=0.03, billing_per_month=0.01, followup=0.1,
        base_incident=0.05, onboarding_call=0.05, bond_offset=-0.3, nps_base=7.6, csat_offset=0.0,
        sentiment_offset=0.0, loop_rank=6,
    ),
}
GROUP_NAMES = tuple(GROUPS)
PERSONAS = tuple(g["display"] for g in GROUPS.values())
PERSONA_MATCH = 0.8
ACQ_BY_TP = {"search_ad": "paid_search", "referral_link": "referral", "social_ad": "social",
             "influencer_post": "influencer", "app_store_search": "app_store", "store_window": "store",
             "partner_referral": "partner"}
AGE_P = {  # per group, over AGE_BANDS
    "bargain_hunter": (0.25, 0.3, 0.2, 0.12, 0.08, 0.05), "loyal_regular": (0.05, 0.2, 0.3, 0.25, 0.12, 0.08),
    "researcher": (0.1, 0.35, 0.3, 0.15, 0.07, 0.03), "convenience_seeker": (0.03, 0.1, 0.2, 0.27, 0.22, 0.18),
    "support_heavy": (0.03, 0.08, 0.14, 0.2, 0.25, 0.3), "window_shopper": (0.35, 0.35, 0.15, 0.08, 0.05, 0.02),
}

# incidents and forgiveness
INCIDENT_KINDS = {1: ("late_delivery", "delivery"), 2: ("wrong_charge", "billing_question"),
                  3: ("outage", "app_login")}
DEATH_INCIDENT_P = {"<6m": 0.95, "6-24m": 0.35, ">24m": 0.08}  # at the dropout purchase, by tenure
DEATH_TAIL_DAYS = (30.0, 45.0)
# NPS latent = base(group) + b_bond*bond + b_dq*delivery_quality + b_inc*min(incidents in last 365d, 2)
#              + b_late*min(late deliveries in last 365d, 2) + N(0, sd); rounded and clipped to 0..10
NPS_COEF = {"bond": 1.0, "delivery_quality": 1.4, "incidents_12m": -1.0, "late_deliveries_12m": -0.8,
            "noise_sd": 1.5}
CSAT_BASE = {"delivery": 3.25, "order_placed": 4.3, "store_purchase": 4.25, "partner_order": 4.1,
             "phone_order": 4.2, "support_call": 4.15, "support_chat": 4.2, "support_email": 4.05,
             "billing_question": 4.35, "onboarding_call": 4.2}
CSAT_RESPONSE = {"delivery": 0.2, "order_placed": 0.15, "store_purchase": 0.15, "partner_order": 0.1,
                 "phone_order": 0.2, "support_call": 0.25, "support_chat": 0.25, "support_email": 0.2,
                 "billing_question": 0.25, "onboarding_call": 0.3}
CES_BASE = {"checkout": 5.8, "support_call": 5.0, "support_chat": 5.3, "support_email": 4.8,
            "billing_question": 4.8}
CES_RESPONSE = {"checkout": 0.12, "support_call": 0.2, "support_chat": 0.2, "support_email": 0.15,
                "billing_question": 0.2}
NPS_RESPONSE = 0.3
TRUST_WITH_NPS = 0.5
COMMENT_P = {"nps": 0.6, "csat": 0.45, "ces": 0.35, "trust": 0.15, "rating": 0.97}

# ----------------------------------------------------------------------------------------------
# comment themes (phrases start lower case; composed with openers/closers per polarity)
THEMES: dict[str, dict] = {
    "late_delivery": dict(complaint=True, keywords=["late", "delayed", "damaged", "never arrived", "courier"],
                          phrases=["my order arrived late", "the delivery was late again",
                                   "the parcel was delayed by a week", "the package came late and damaged",
                                   "the courier was days late", "delivery was late and nobody told me",
                                   "my parcel was delayed twice", "the box arrived damaged and late"]),
    "billing_error": dict(complaint=True,
                          keywords=["charged twice", "wrong charge", "overcharged", "invoice", "refund"],
                          phrases=["I was charged twice", "there was a wrong charge on my invoice",
                                   "I got overcharged and the refund took weeks", "the invoice was wrong",
                                   "they billed me the wrong amount", "I am still waiting for my refund"]),
    "app_crash": dict(complaint=True, keywords=["crash", "outage", "log in", "down", "error"],
                      phrases=["the app keeps crashing", "I could not log in during the outage",
                               "the app crashed at checkout", "the website was down again",
                               "I kept getting an error in the app", "the app froze and logged me out"]),
    "long_wait_effort": dict(complaint=True, keywords=["call three times", "on hold", "transferred", "repeat myself",
                                                       "confusing", "forever"],
                             phrases=["I had to call three times", "I was on hold for 40 minutes",
                                      "I was transferred twice", "I had to repeat myself to every agent",
                                      "the process was confusing", "it took forever to get an answer",
                                      "I was on hold for 25 minutes and then transferred",
                                      "I had to explain everything again"]),
    "rude_staff": dict(complaint=True, keywords=["rude", "unhelpful", "dismissive", "did not care"],
                       phrases=["the staff were rude", "the agent was rude and unhelpful",
                                "nobody seemed to care", "the person I spoke to was dismissive",
                                "the employee was unfriendly", "they did not care about my problem"]),
    "fast_delivery": dict(complaint=False, keywords=["fast", "quick", "early", "on time"],
                          phrases=["delivery was fast", "my order arrived a day early", "super fast delivery",
                                   "the parcel came quick and well packed", "fast shipping as always",
                                   "it arrived on time and in perfect condition"]),
    "helpful_staff": dict(complaint=False, keywords=["helpful", "friendly", "knowledgeable", "patient"],
                          phrases=["the staff were really helpful", "the agent was friendly and solved it",
                                   "a knowledgeable and patient team", "everyone was helpful and kind",
                                   "the person on the phone was very helpful", "friendly service every time"]),
    "great_value": dict(complaint=False, keywords=["value", "price", "deal", "worth"],
                        phrases=["great value for money", "the prices are fair", "I got a great deal",
                                 "good quality for the price", "worth every penny", "the discounts are great"]),
    "easy_app": dict(complaint=False, keywords=["easy", "smooth", "intuitive", "simple"],
                     phrases=["the app is easy to use", "ordering was smooth and simple", "checkout was easy",
                              "the website is intuitive", "everything was simple and clear",
                              "a smooth experience from start to finish"]),
}
THEME_NAMES = tuple(THEMES)
_NEG = [t for t in THEME_NAMES if THEMES[t]["complaint"]]
_POS = [t for t in THEME_NAMES if not THEMES[t]["complaint"]]
EFFORT_PHRASES = ["call three times", "on hold for", "transferred", "repeat myself", "confusing",
                  "forever", "explain everything again"]
_OPEN = {
    "neg": ["", "", "Very disappointed, ", "Not happy: ", "Honestly, ", "Frustrating, ", "Unacceptable, "],
    "pos": ["", "", "Really happy, ", "Great experience, ", "Honestly, ", "Love it, "],
    "mix": ["", "Mostly fine, ", "Okay overall, ", "Not bad, "],
}
_CLOSE = {
    "neg": ["", "", " Not good enough.", " Please fix this.", " I am thinking of leaving.", " Never again.",
            " Very poor service."],
    "pos": ["", "", " Thank you!", " Will order again.", " Keep it up.", " Highly recommend."],
    "mix": ["", "", " Could be better.", " Still a customer for now."],
}
# feedback contexts -> theme probabilities
_CTX = ("delivery", "support", "billing", "order", "store", "relationship")
_NEG_THEME_P = {
    "delivery": {"late_delivery": 0.85, "rude_staff": 0.15},
    "support": {"long_wait_effort": 0.65, "rude_staff": 0.25, "app_crash": 0.1},
    "billing": {"billing_error": 0.7, "long_wait_effort": 0.2, "rude_staff": 0.1},
    "order": {"app_crash": 0.4, "long_wait_effort": 0.3, "billing_error": 0.3},
    "store": {"rude_staff": 0.5, "long_wait_effort": 0.5},
    "relationship": {"late_delivery": 0.35, "billing_error": 0.2, "app_crash": 0.15, "long_wait_effort": 0.2,
                     "rude_staff": 0.1},
}
_POS_THEME_P = {
    "delivery": {"fast_delivery": 0.9, "helpful_staff": 0.1},
    "support": {"helpful_staff": 0.85, "easy_app": 0.15},
    "billing": {"helpful_staff": 0.85, "easy_app": 0.15},
    "order": {"easy_app": 0.6, "great_value": 0.4},
    "store": {"helpful_staff": 0.6, "great_value": 0.4},
    "relationship": {"great_value": 0.35, "easy_app": 0.25, "helpful_staff": 0.2, "fast_delivery": 0.2},
}


@dataclass
class SampleData:
    interactions: pl.DataFrame
    customers: pl.DataFrame
    feedback: pl.DataFrame
    truth: dict
    customer_truth: pl.DataFrame


# ----------------------------------------------------------------------------------------------
# small vectorised helpers


class _Choice:
    """Categorical draws where each row has its own probability row (combo index into a table)."""

    def __init__(self, probs):
        p = np.asarray(probs, dtype=float)
        p = p / p.sum(axis=1, keepdims=True)
        self.C, self.K = p.shape
        cdf = np.cumsum(p, axis=1)
        cdf[:, -1] = 1.0 + 1e-9
        self.flat = (cdf + np.arange(self.C)[:, None]).ravel()

    def __call__(self, rng, combo):
        combo = np.asarray(combo, dtype=np.int64)
        pos = np.searchsorted(self.flat, combo + rng.random(combo.size), side="right")
        return np.minimum(pos - combo * self.K, self.K - 1)


def _mix_table(key: str, names: tuple[str, ...]) -> _Choice:
    return _Choice([[GROUPS[g][key].get(c, 0.0) for c in names] for g in GROUP_NAMES])


def _expand(counts):
    """(owner index per item, position of the item within its owner) for counts per owner."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(counts.size), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(owner.size) - starts[owner]
    return owner, pos


def _within_cumsum(gaps, counts):
    """Cumulative sum of gaps restarted for each owner (gaps of the first item are ignored)."""
    owner, pos = _expand(counts)
    g = np.where(pos == 0, 0.0, gaps)
    cs = np.cumsum(g)
    first = np.cumsum(counts) - counts
    base = cs[first][owner] if cs.size else cs
    return cs - base


_HOURS = {  # kind: (open hour, close hour, open weekdays Monday=0)
    "browse": (7.0, 23.5, (0, 1, 2, 3, 4, 5, 6)),
    "store": (7.0, 23.0, (0, 1, 2, 3, 4, 5, 6)),
    "phone": (8.0, 18.0, (0, 1, 2, 3, 4)),
    "chat": (8.0, 22.0, (0, 1, 2, 3, 4, 5, 6)),
    "office": (8.0, 18.0, (0, 1, 2, 3, 4)),
    "send": (8.0, 10.0, (0, 1, 2, 3, 4, 5, 6)),
    "delivery": (8.0, 20.0, (0, 1, 2, 3, 4, 5)),
}
_CH_HOURS = {CH["web"]: "browse", CH["mobile_app"]: "browse", CH["social"]: "browse", CH["partner"]: "browse",
             CH["store"]: "store", CH["phone"]: "phone", CH["chat"]: "chat", CH["email"]: "browse"}


def _into_hours(rng, t, kind):
    """Move times forward into opening hours (kind or per-row channel codes); times already inside
    stay untouched, moved ones land shortly after opening."""
    t = np.asarray(t, dtype=float)
    if isinstance(kind, str):
        kinds = {kind: np.ones(t.size, bool)}
    else:
        kinds = {}
        for ch, k in _CH_HOURS.items():
            kinds.setdefault(k, np.zeros(t.size, bool))
            kinds[k] |= kind == ch
    out = t.copy()
    jitter = rng.exponential(1.2, t.size)
    for k, m in kinds.items():
        if not m.any():
            continue
        lo, hi, days = _HOURS[k]
        tt = t[m]
        day = np.floor(tt / DAY)
        h = (tt - day * DAY) / HOUR
        moved = (h < lo) | (h >= hi)
        day = day + (h >= hi)
        ok = np.zeros(7, bool)
        ok[list(days)] = True
        add = np.array([next(d for d in range(7) if ok[(w + d) % 7]) for w in range(7)])
        wd = ((day + _FIRST_WEEKDAY) % 7).astype(np.int64)
        extra = add[wd]
        moved |= extra > 0
        day = day + extra
        nh = np.where(moved, lo + np.minimum(jitter[m], (hi - lo) * 0.98), h)
        out[m] = day * DAY + nh * HOUR
    return out


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class _Rows:
    """Collects interaction rows as blocks of arrays."""

    F = ("cust", "t", "tp", "ch", "dep", "emp", "amount", "vg", "sess", "inc", "kind", "follow", "anchor", "tmax")

    def __init__(self):
        self.blocks = []
        self.n_sess = 0

    def sessions(self, n):
        s = np.arange(self.n_sess, self.n_sess + n, dtype=np.int64)
        self.n_sess += n
        return s

    def add(self, cust, t, tp, ch=-1, dep=-1, emp=-1, amount=np.nan, vg=-1, sess=-1, inc=False, kind=0,
            follow=0, anchor=None, tmax=None):
        cust = np.asarray(cust, dtype=np.int64)
        n = cust.size
        if n == 0:
            return
        t = np.asarray(t, dtype=float)

        def full(x, dtype):
            return np.broadcast_to(np.asarray(x, dtype=dtype), (n,))

        self.blocks.append(dict(
            cust=cust, t=t, tp=full(tp, np.int16), ch=full(ch, np.int8), dep=full(dep, np.int8),
            emp=full(emp, np.int32), amount=full(amount, float), vg=full(vg, np.int8), sess=full(sess, np.int64),
            inc=full(inc, bool), kind=full(kind, np.int8), follow=full(follow, np.int8),
            anchor=t if anchor is None else full(anchor, float), tmax=t if tmax is None else full(tmax, float)))

    def concat(self):
        return {k: np.concatenate([b[k] for b in self.blocks]) for k in self.F}


_EMP_FIRST = np.cumsum([0] + [N_EMPLOYEES[d] for d in DEPARTMENTS])[:-1]
_EMP_N = np.array([N_EMPLOYEES[d] for d in DEPARTMENTS])
_EMP_DEPT = np.repeat(np.arange(len(DEPARTMENTS)), _EMP_N)


def _employee(rng, dep):
    dep = np.asarray(dep, dtype=np.int64)
    return (_EMP_FIRST[dep] + np.floor(rng.random(dep.size) * _EMP_N[dep])).astype(np.int32)


# ----------------------------------------------------------------------------------------------
# the generator


def _gp(key, grp):
    """Per-customer array of a scalar group parameter."""
    return np.array([GROUPS[g][key] for g in GROUP_NAMES], dtype=float)[grp]


def _gp2(key, sub, grp):
    return np.array([GROUPS[g][key][sub] for g in GROUP_NAMES], dtype=float)[grp]


def generate(n_customers: int = 5000, seed: int = 42) -> SampleData:
    """Generate the demo dataset: deterministic for (n_customers, seed)."""
    n = int(n_customers)
    if n < 1:
        raise ValueError("n_customers must be >= 1")
    rng = np.random.default_rng(seed)
    G = len(GROUP_NAMES)
    ix = np.arange(n)

    # --- customers: latent traits ----------------------------------------------------------
    grp = rng.choice(G, size=n, p=np.array([GROUPS[g]["share"] for g in GROUP_NAMES]))
    growth = 2.0  # acquisition density rises linearly, 3x at the end vs the start
    u = rng.random(n)
    x = (-1.0 + np.sqrt(1.0 + 2.0 * growth * u * (1.0 + growth / 2.0))) / growth
    t0_raw = x * (END - 3 * DAY)
    r_, al = _gp2("bgnbd", "r", grp), _gp2("bgnbd", "alpha", grp)
    a_, b_ = _gp2("bgnbd", "a", grp), _gp2("bgnbd", "b", grp)
    lam = rng.gamma(r_, 1.0 / al)  # purchases per week
    p_drop = rng.beta(a_, b_)
    nu = rng.gamma(_gp2("gamma_gamma", "q", grp), 1.0 / _gp2("gamma_gamma", "gamma", grp))
    p_gg = _gp2("gamma_gamma", "p", grp)
    z_lam = special.ndtri(np.clip(special.gammainc(r_, al * lam), 1e-9, 1 - 1e-9))
    z_surv = -special.ndtri(np.clip(special.betainc(a_, b_, p_drop), 1e-9, 1 - 1e-9))
    bond = (0.5 * z_lam + 0.5 * z_surv + 0.5 * rng.standard_normal(n)) / math.sqrt(0.75) + _gp("bond_offset", grp)
    dq = rng.standard_normal(n)  # latent delivery quality experienced by this customer
    buyer = rng.random(n) < _gp("buyer_prob", grp)
    match = rng.random(n) < PERSONA_MATCH
    persona = np.where(match, grp, (grp + 1 + rng.integers(0, G - 1, n)) % G)
    region = rng.choice(len(REGIONS), size=n, p=np.array(REGION_P))
    age = _Choice([AGE_P[g] for g in GROUP_NAMES])(rng, grp)
    stakeholder = rng.choice(len(STAKEHOLDERS), size=n, p=np.array(STAKEHOLDER_P))

    R = _Rows()
    disc_ch_t = _mix_table("discover", CHANNELS)
    browse_ch_t = _mix_table("browse", CHANNELS)
    eval_ch_t = _mix_table("evaluate", CHANNELS)
    buy_ch_t = _mix_table("buy", CHANNELS)
    use_ch_t = _mix_table("use", CHANNELS)
    sup_ch_t = _mix_table("support", CHANNELS)
    tp_table = np.zeros((len(_COMBOS), len(TOUCHPOINTS)))
    for (st, ch), d in _CATALOG.items():
        for tpn, w in d.items():
            tp_table[_COMBO[(st, ch)], TP[tpn]] = w
    tp_choice = _Choice(tp_table)
    combo_idx = np.full((len(STAGES), len(CHANNELS)), -1, dtype=np.int64)
    for (st, ch), i in _COMBO.items():
        combo_idx[STAGES.index(st), CH[ch]] = i
    rows_mean = _gp("rows_per_session", grp)
    digital = np.zeros(len(CHANNELS), bool)
    digital[[CH["web"], CH["mobile_app"], CH["social"]]] = True

    def browse_session(cust, start, stage0, ch0, stage1, ch1, n_rows, sess):
        """Rows of sessions: first row (stage0, ch0), the others (stage1, ch1); returns end times."""
        owner, pos = _expand(n_rows)
        st = np.where(pos == 0, stage0[owner], stage1[owner])
        ch = np.where(pos == 0, ch0[owner], ch1[owner])
        tp = tp_choice(rng, combo_idx[st, ch])
        gaps = rng.exponential(100.0, owner.size) + 15.0
        t = start[owner] + _within_cumsum(gaps, n_rows)
        R.add(cust[owner], t, tp, ch=ch, sess=sess[owner])
        end = np.zeros(cust.size)
        np.maximum.at(end, owner, t)
        return end, tp, owner, pos

    # --- pre-purchase journey (sessions: discover, then consider/evaluate with loops) -------
    S_E, S_C = STAGES.index("evaluate"), STAGES.index("consider")
    n_pre = np.where(buyer, 1 + rng.poisson(np.maximum(_gp("pre_sessions", grp) - 1, 0)),
                     1 + rng.poisson(_gp("nb_sessions", grp)))
    gap_days = np.where(buyer, _gp("session_gap_days", grp), _gp("nb_gap_days", grp))
    p_to_e, p_back = _gp("p_to_evaluate", grp), _gp("p_back", grp)
    state = np.full(n, S_C)
    prev_end = np.zeros(n)
    acq_tp = np.zeros(n, dtype=np.int64)
    t0 = np.zeros(n)
    for k in range(int(n_pre.max())):
        act = np.flatnonzero(n_pre > k)
        if act.size == 0:
            break
        g = grp[act]
        if k == 0:
            ch0 = disc_ch_t(rng, g)
            start = np.round(_into_hours(rng, t0_raw[act], ch0))
            t0[act] = start
            st0 = np.full(act.size, STAGES.index("discover"))
            # landing after the discover touchpoint: the group's browse channel (digital)
            alt = browse_ch_t(rng, g)
            alt = np.where(digital[alt], alt, CH["web"])
            ch1 = np.where((ch0 == CH["store"]) | (ch0 == CH["partner"]), ch0,
                           np.where(digital[ch0] & (rng.random(act.size) < 0.5), ch0, alt))
            st1 = np.full(act.size, S_C)
            nr = np.where(digital[ch1], 1 + rng.poisson(rows_mean[act]), 2)
        else:
            cur = state[act]
            u = rng.random(act.size)
            new = np.where(cur == S_C, np.where(u < p_to_e[act], S_E, S_C), np.where(u < p_back[act], S_C, S_E))
            state[act] = new
            gap = (rng.exponential(gap_days[act]) + 0.02) * DAY
            ch0 = np.where(new == S_E, eval_ch_t(rng, g), browse_ch_t(rng, g))
            start = _into_hours(rng, prev_end[act] + gap, ch0)
            st0 = new
            ch1, st1 = ch0, new
            nr = np.where(digital[ch0], 1 + rng.poisson(np.maximum(rows_mean[act] - 1, 0.1)), 1)
        end, tp, owner, pos = browse_session(act, start, st0, ch0, st1, ch1, nr, R.sessions(act.size))
        if k == 0:
            acq_tp[act] = tp[pos == 0]
        prev_end[act] = end
    journey_end = prev_end.copy()

    # first purchase session
    bix = np.flatnonzero(buyer)
    gap = (rng.exponential(gap_days[bix]) + 0.02) * DAY
    pch = buy_ch_t(rng, grp[bix])
    T1 = _into_hours(rng, prev_end[bix] + gap, pch)
    ok = T1 <= END - HOUR
    bix, T1, pch = bix[ok], T1[ok], pch[ok]
    first_purchase = np.full(n, np.nan)
    first_purchase[bix] = T1

    # --- BG/NBD repeat purchases (exact; dropout only after repeat purchases) --------------
    pc, pt, pk = [bix], [T1], [np.zeros(bix.size, dtype=np.int64)]
    died_at = np.full(n, np.nan)
    cur_t = np.full(n, np.nan)
    cur_t[bix] = T1
    idx = bix
    k = 1
    while idx.size:
        nxt = cur_t[idx] + rng.exponential(1.0 / lam[idx]) * WEEK
        keep = nxt <= END
        idx, nxt = idx[keep], nxt[keep]
        if idx.size == 0:
            break
        pc.append(idx)
        pt.append(nxt)
        pk.append(np.full(idx.size, k))
        cur_t[idx] = nxt
        die = rng.random(idx.size) < p_drop[idx]
        died_at[idx[die]] = nxt[die]
        idx = idx[~die]
        k += 1
    p_cust = np.concatenate(pc)
    p_t = np.concatenate(pt)
    p_k = np.concatenate(pk)
    n_purch = np.bincount(p_cust, minlength=n)
    n_repeat = np.maximum(n_purch - 1, 0)
    last_purchase = np.full(n, np.nan)
    np.fmax.at(last_purchase, p_cust, p_t)
    dead = ~np.isnan(died_at)
    tail = rng.uniform(*DEATH_TAIL_DAYS, n) * DAY
    active_end = np.where(dead, died_at + tail, END)
    p_is_death = dead[p_cust] & (p_t == died_at[p_cust])

    # purchase channel: first purchase from the session, repeats by preference; offline channels
    # (store, phone) only inside opening hours, otherwise online
    p_ch = np.empty(p_cust.size, dtype=np.int64)
    first = p_k == 0
    p_ch[first] = pch
    rep = np.flatnonzero(~first)
    c = buy_ch_t(rng, grp[p_cust[rep]])
    offline = (c == CH["store"]) | (c == CH["phone"])
    inside = _into_hours(rng, p_t[rep], c) == p_t[rep]
    alt = np.where(grp[p_cust[rep]] == GROUP_NAMES.index("loyal_regular"), CH["mobile_app"],
                   np.where(rng.random(rep.size) < 0.5, CH["mobile_app"], CH["web"]))
    p_ch[rep] = np.where(offline & ~inside, alt, c)
    # click & collect: a store customer ordering out of opening hours orders in the app and
    # collects in store (the delivery row is on the store channel)
    pickup = np.zeros(p_cust.size, bool)
    pickup[rep] = (c == CH["store"]) & ~inside
    p_ch[rep] = np.where(pickup[rep], CH["mobile_app"], p_ch[rep])
    p_amount = np.maximum(np.round(rng.gamma(p_gg[p_cust], 1.0 / nu[p_cust]), 2), 0.01)

    # purchase rows
    for chn in ("web", "mobile_app", "store", "partner", "phone"):
        m = np.flatnonzero(p_ch == CH[chn])
        if m.size == 0:
            continue
        cu, tt = p_cust[m], p_t[m]
        sess = R.sessions(m.size)
        if chn in ("web", "mobile_app"):
            g2 = rng.exponential(90.0, m.size) + 20.0
            g1 = rng.exponential(120.0, m.size) + 30.0
            R.add(cu, tt, TP["order_placed"], ch=CH[chn], amount=p_amount[m], sess=sess)
            co = (rng.random(m.size) < 0.3) | (chn == "web")  # one-tap orders in the app
            R.add(cu[co], (tt - g2)[co], TP["checkout"], ch=CH[chn], sess=sess[co])
            ca = (rng.random(m.size) < 0.6) | (chn == "web")
            R.add(cu[ca], (tt - g2 - g1)[ca], TP["cart_add"], ch=CH[chn], sess=sess[ca])
            pp = rng.random(m.size) < 0.15
            R.add(cu[pp], (tt - g2 - g1 - rng.exponential(150.0, m.size) - 20.0)[pp], TP["product_page"],
                  ch=CH[chn], sess=sess[pp])
        else:
            tpn = {"store": "store_purchase", "partner": "partner_order", "phone": "phone_order"}[chn]
            R.add(cu, tt, TP[tpn], amount=p_amount[m], sess=sess,
                  emp=_employee(rng, np.full(m.size, _TP_DEP[TP[tpn]])) if _TP_STAFFED[TP[tpn]] else -1)

    # pre-repeat sessions: re-evaluation (use -> evaluate) and promo emails before repeats
    rep_prev_t = np.full(p_t.size, np.nan)
    order = np.lexsort((p_t, p_cust))
    oc, ot = p_cust[order], p_t[order]
    same = np.r_[False, oc[1:] == oc[:-1]]
    prev = np.r_[np.nan, ot[:-1]]
    rep_prev_t[order] = np.where(same, prev, np.nan)
    gapk = p_t - rep_prev_t
    has_gap = (~first) & (gapk > DAY)
    m = np.flatnonzero(has_gap & (rng.random(p_t.size) < _gp("re_eval", grp)[p_cust]))
    if m.size:
        cu = p_cust[m]
        lead = np.minimum(rng.uniform(0.3, 6.0, m.size) * DAY, 0.6 * gapk[m])
        ch0 = eval_ch_t(rng, grp[cu])
        st = np.full(m.size, S_E)
        start = p_t[m] - lead
        nr = np.where(digital[ch0], 1 + rng.poisson(np.maximum(rows_mean[cu] - 1, 0.1)), 1)
        browse_session(cu, start, st, ch0, st, ch0, nr, R.sessions(m.size))
    m = np.flatnonzero(has_gap & (rng.random(p_t.size) < _gp("promo_before", grp)[p_cust]))
    R.add(p_cust[m], p_t[m] - np.minimum(rng.uniform(2 * HOUR, 3 * DAY, m.size), 0.5 * gapk[m]), TP["promo_email"])

    # deliveries, incidents at purchases (forgiveness), returns and refunds, thank-yous
    tenure_p = p_t - t0[p_cust]
    band_p = np.where(tenure_p < 182.625 * DAY, 0, np.where(tenure_p < 2 * YEAR, 1, 2))
    death_p = np.array(list(DEATH_INCIDENT_P.values()))[band_p]
    base_p = _gp("base_incident", grp)[p_cust]
    has_inc = rng.random(p_t.size) < np.where(p_is_death, death_p, base_p)
    ships = (p_ch != CH["store"])
    u = rng.random(p_t.size)
    # kind: late delivery for shipped orders (more likely with poor delivery quality), wrong charge, outage
    p_late = np.where(ships, _sigmoid(0.6 - 0.5 * dq[p_cust]), 0.0)
    p_out = np.where(p_ch == CH["mobile_app"], 0.25, 0.12)
    inc_kind = np.where(u < p_late, 1, np.where(rng.random(p_t.size) < p_out, 3, 2))
    inc_kind = np.where(~ships & (inc_kind == 1), 2, inc_kind)
    inc_kind = np.where(has_inc, inc_kind, 0)
    # delivery
    d = np.flatnonzero(ships)
    late = inc_kind[d] == 1
    t_del = _into_hours(rng, p_t[d] + rng.uniform(0.8, 4.0, d.size) * DAY + late * rng.uniform(3, 9, d.size) * DAY,
                        "delivery")
    R.add(p_cust[d], t_del, TP["delivery"], ch=np.where(pickup[d], CH["store"], p_ch[d]),
          emp=_employee(rng, np.full(d.size, DEP["logistics"])), inc=late, kind=np.where(late, 1, 0))
    delivered_at = np.full(p_t.size, np.nan)
    delivered_at[d] = t_del
    # wrong charge: inbound billing question flagged as incident, answered, mostly refunded
    m = np.flatnonzero(inc_kind == 2)
    t_bq = p_t[m] + rng.uniform(1, 10, m.size) * DAY
    bq_ch = sup_ch_t(rng, grp[p_cust[m]])
    t_bq = _into_hours(rng, t_bq, bq_ch)
    contacts = [(p_cust[m], t_bq, np.full(m.size, TP["billing_question"]), bq_ch, np.ones(m.size, bool),
                 np.full(m.size, 2), np.zeros(m.size, np.int8))]
    rf = rng.random(m.size) < 0.7
    R.add(p_cust[m][rf], (t_bq + rng.uniform(1, 5, m.size) * DAY)[rf], TP["refund_issued"],
          amount=-np.round(np.minimum(p_amount[m], rng.uniform(5, 40, m.size)), 2)[rf])
    # outage: the app fails for them shortly after the purchase
    m = np.flatnonzero(inc_kind == 3)
    t_out = p_t[m] + rng.uniform(0.05, 2.0, m.size) * DAY
    R.add(p_cust[m], t_out, TP["app_login"], inc=True, kind=3, sess=R.sessions(m.size))
    sc = rng.random(m.size) < 0.5
    contacts.append((p_cust[m][sc], _into_hours(rng, t_out[sc] + rng.uniform(0.1, 6, sc.sum()) * HOUR, "chat"),
                     np.full(sc.sum(), TP["support_chat"]), np.full(sc.sum(), CH["chat"]),
                     np.zeros(sc.sum(), bool), np.zeros(sc.sum(), np.int8), np.zeros(sc.sum(), np.int8)))
    # late delivery: a contact or complaint follows often
    m = d[late]
    uu = rng.random(m.size)
    sc = uu < 0.45
    ch_s = sup_ch_t(rng, grp[p_cust[m]])
    tp_s = np.select([ch_s == CH["phone"], ch_s == CH["chat"]], [TP["support_call"], TP["support_chat"]],
                     TP["support_email"])
    t_s = _into_hours(rng, t_del[late] - rng.uniform(0.5, 3, m.size) * DAY, ch_s)  # chasing the parcel
    contacts.append((p_cust[m][sc], t_s[sc], tp_s[sc], ch_s[sc], np.zeros(sc.sum(), bool),
                     np.zeros(sc.sum(), np.int8), np.zeros(sc.sum(), np.int8)))
    cp = (uu >= 0.45) & (uu < 0.65)
    ch_c = np.where(rng.random(m.size) < 0.6, CH["email"], np.where(rng.random(m.size) < 0.5, CH["social"],
                                                                      CH["phone"]))
    contacts.append((p_cust[m][cp], _into_hours(rng, t_del[late] + rng.uniform(0.1, 2, m.size) * DAY, ch_c)[cp],
                     np.full(cp.sum(), TP["complaint"]), ch_c[cp], np.zeros(cp.sum(), bool),
                     np.zeros(cp.sum(), np.int8), np.zeros(cp.sum(), np.int8)))
    # returns and refunds
    m = np.flatnonzero(ships & (inc_kind == 0) & (rng.random(p_t.size) < 0.04))
    t_ret = delivered_at[m] + rng.uniform(2, 12, m.size) * DAY
    R.add(p_cust[m], _into_hours(rng, t_ret, "browse"), TP["return_request"], sess=R.sessions(m.size))
    full = rng.random(m.size) < 0.6
    R.add(p_cust[m], t_ret + rng.uniform(2, 6, m.size) * DAY, TP["refund_issued"],
          amount=-np.round(np.where(full, p_amount[m], p_amount[m] * rng.uniform(0.2, 0.6, m.size)), 2))
    # thank-you emails (value given, more for a strong bond)
    m = np.flatnonzero(rng.random(p_t.size) < 0.35 * _sigmoid(1.3 * bond[p_cust] - 0.3))
    R.add(p_cust[m], _into_hours(rng, p_t[m] + rng.uniform(2 * HOUR, 2 * DAY, m.size), "send"), TP["thank_you_email"])
    # onboarding after the first purchase
    R.add(bix, T1 + rng.uniform(1 * HOUR, 1 * DAY, bix.size), TP["onboarding_email"])
    m = bix[rng.random(bix.size) < _gp("onboarding_call", grp)[bix]]
    R.add(m, _into_hours(rng, first_purchase[m] + rng.uniform(1, 7, m.size) * DAY, "phone"), TP["onboarding_call"],
          emp=_employee(rng, np.full(m.size, DEP["support"])))

    # --- continuous processes over the customer's active life -----------------------------
    life_a = first_purchase
    is_b = ~np.isnan(life_a)
    bl = np.flatnonzero(is_b)
    span = np.maximum(active_end[bl] - life_a[bl], 0.0)

    def poisson_times(owners, a, span_, rate_per_month):
        cnt = rng.poisson(span_ / MONTH * rate_per_month)
        o = np.repeat(owners, cnt)
        tt = np.repeat(a, cnt) + rng.random(o.size) * np.repeat(span_, cnt)
        return o, tt

    # use sessions
    o, tt = poisson_times(bl, life_a[bl], span, _gp("use_per_month", grp)[bl] * np.exp(0.3 * bond[bl]))
    ch0 = use_ch_t(rng, grp[o])
    tt = _into_hours(rng, tt, ch0)
    S_U = STAGES.index("use")
    nr = 1 + rng.poisson(0.6, o.size)
    sess = R.sessions(o.size)
    app = ch0 == CH["mobile_app"]
    R.add(o[app], tt[app], TP["app_login"], sess=sess[app])
    st = np.full(o.size, S_U)
    # app sessions: app_login first, then usage rows
    owner, pos = _expand(nr)
    keep = ~(app[owner] & (pos == 0))
    gaps = rng.exponential(100.0, owner.size) + 15.0
    trow = tt[owner] + _within_cumsum(gaps, nr)
    tpr = tp_choice(rng, combo_idx[st[owner], ch0[owner]])
    R.add(o[owner][keep], trow[keep], tpr[keep], ch=ch0[owner][keep], sess=sess[owner][keep])

    # support contacts (+ follow-ups for the same issue) and billing questions
    o, tt = poisson_times(bl, life_a[bl], span, _gp("support_per_month", grp)[bl])
    ch_s = sup_ch_t(rng, grp[o])
    tp_s = np.select([ch_s == CH["phone"], ch_s == CH["chat"]], [TP["support_call"], TP["support_chat"]],
                     TP["support_email"])
    contacts.append((o, _into_hours(rng, tt, ch_s), tp_s, ch_s, np.zeros(o.size, bool), np.zeros(o.size, np.int8),
                     np.zeros(o.size, np.int8)))
    o, tt = poisson_times(bl, life_a[bl], span, _gp("billing_per_month", grp)[bl])
    ch_s = sup_ch_t(rng, grp[o])
    contacts.append((o, _into_hours(rng, tt, ch_s), np.full(o.size, TP["billing_question"]), ch_s,
                     np.zeros(o.size, bool), np.zeros(o.size, np.int8), np.zeros(o.size, np.int8)))
    fu_p = _gp("followup", grp)
    level = list(contacts)
    for lvl in range(2):  # repeated contacts for the same issue
        nxt = []
        for (cu, tt, tpc, chc, incc, kindc, folc) in level:
            m = rng.random(cu.size) < fu_p[cu] * np.where(tpc == TP["complaint"], 0.3, 1.0)
            if not m.any():
                continue
            esc = rng.random(m.sum()) < 0.5
            ch2 = np.where(esc, CH["phone"], np.where(chc[m] == CH["social"], CH["email"], chc[m]))
            tp2 = np.where(tpc[m] == TP["billing_question"], TP["billing_question"],
                           np.select([ch2 == CH["phone"], ch2 == CH["chat"]], [TP["support_call"], TP["support_chat"]],
                                     TP["support_email"]))
            t2 = _into_hours(rng, tt[m] + rng.uniform(2 * HOUR, 3 * DAY, m.sum()), ch2)
            nxt.append((cu[m], t2, tp2, ch2, np.zeros(m.sum(), bool), np.zeros(m.sum(), np.int8),
                        np.full(m.sum(), lvl + 1, np.int8)))
        contacts.extend(nxt)
        level = nxt
    # all contacts: inbound rows, then an outbound answer after a delay
    cu = np.concatenate([c[0] for c in contacts])
    tt = np.concatenate([c[1] for c in contacts])
    tpc = np.concatenate([c[2] for c in contacts]).astype(np.int64)
    chc = np.concatenate([c[3] for c in contacts]).astype(np.int64)
    incc = np.concatenate([c[4] for c in contacts])
    kindc = np.concatenate([c[5] for c in contacts])
    folc = np.concatenate([c[6] for c in contacts])
    depc = _TP_DEP[tpc].astype(np.int64)
    empc = np.where(_TP_STAFFED[tpc], _employee(rng, depc), -1)
    med = np.select([chc == CH["phone"], chc == CH["chat"], chc == CH["social"]], [6 * MIN, 1.5 * HOUR, 4 * HOUR],
                    8 * HOUR)
    delay = med * np.exp(0.8 * rng.standard_normal(cu.size)) * np.where(depc == DEP["billing"], 1.8, 1.0) \
        * np.exp(-0.35 * bond[cu]) + 60.0
    t_ans = tt + delay
    t_ans = np.where((chc == CH["email"]) | (chc == CH["social"]), _into_hours(rng, t_ans, "office"), t_ans)
    same_emp = (chc == CH["phone"]) | (rng.random(cu.size) < 0.5)
    emp_ans = np.where(same_emp & (empc >= 0), empc, _employee(rng, np.where(depc < 0, DEP["support"], depc)))
    # a contact and its answer are kept or cut together (window end, a dead customer's last day)
    R.add(cu, tt, tpc, ch=chc, emp=empc, sess=R.sessions(cu.size), inc=incc, kind=kindc, follow=folc, anchor=t_ans,
          tmax=t_ans)
    R.add(cu, t_ans, TP["support_reply"], ch=chc, dep=depc, emp=emp_ans, follow=folc)
    answer_delay = (chc, depc, delay)

    # newsletters (monthly, subscribers), promos, loyalty rewards (gifts), relationship surveys
    sub = bl[rng.random(bl.size) < _gp("newsletter", grp)[bl] * _sigmoid(0.5 * bond[bl])]
    m0 = np.ceil(life_a[sub] / MONTH)
    m1 = np.floor(active_end[sub] / MONTH)
    cnt = np.maximum(m1 - m0 + 1, 0).astype(np.int64)
    owner, pos = _expand(cnt)
    tn = (m0[owner] + pos) * MONTH + 2 * DAY + rng.uniform(8 * HOUR, 10 * HOUR, owner.size)
    deals = np.where(grp[sub[owner]] == GROUP_NAMES.index("bargain_hunter"), VG["discount"], VG["content"])
    R.add(sub[owner], tn, TP["newsletter"], vg=deals)
    pm = _gp("promo_per_month", grp)
    # promo emails court prospects (until the first purchase); customers get deals in newsletters
    pa = t0
    pe = np.where(is_b, first_purchase, np.minimum(journey_end + 30 * DAY, END))
    o, tt = poisson_times(ix, pa, np.maximum(pe - pa, 0), pm)
    R.add(o, _into_hours(rng, tt, "send"), TP["promo_email"])
    o, tt = poisson_times(bl, life_a[bl], span, 0.025 * np.exp(0.9 * bond[bl]))
    R.add(o, _into_hours(rng, tt, "send"), TP["loyalty_reward"])
    s0 = life_a[bl] + 90 * DAY
    cnt = np.where(active_end[bl] >= s0, np.floor((active_end[bl] - s0) / YEAR) + 1, 0).astype(np.int64)
    owner, pos = _expand(cnt)
    ts = s0[owner] + pos * YEAR + rng.uniform(-20, 20, owner.size) * DAY
    ts = _into_hours(rng, ts, "send")
    R.add(bl[owner], ts, TP["survey_invite"])

    # --- assemble, cut to the window and the active life, sort --------------------------------
    A = R.concat()
    A["t"] = np.round(A["t"])
    keep = (A["t"] >= 0) & (A["tmax"] <= END) & (A["t"] <= END) & (A["anchor"] <= active_end[A["cust"]])
    keep &= A["t"] >= t0[A["cust"]]
    for k_ in A:
        A[k_] = A[k_][keep]
    key = A["cust"].astype(np.int64) * (1 << 28) + A["t"].astype(np.int64)
    order = np.argsort(key, kind="stable")
    for k_ in A:
        A[k_] = A[k_][order]
    cust, t, tp = A["cust"], A["t"], A["tp"].astype(np.int64)
    N = cust.size
    ch = np.where(A["ch"] < 0, _TP_CH[tp], A["ch"]).astype(np.int64)
    dep = np.where(A["dep"] < 0, _TP_DEP[tp], A["dep"]).astype(np.int64)
    staffed = _TP_STAFFED[tp] & (dep >= 0)
    emp = np.where(staffed & (A["emp"] < 0), _employee(rng, np.maximum(dep, 0)), A["emp"]).astype(np.int64)
    emp = np.where(staffed, emp, -1)
    vg = np.where(A["vg"] < 0, _TP_VG[tp], A["vg"]).astype(np.int64)
    inc, kind, follow = A["inc"], A["kind"].astype(np.int64), A["follow"]
    amount = A["amount"]
    stage = _TP_STAGE[tp].astype(np.int64)
    direction = _TP_DIR[tp].astype(np.int64)
    # sessions renumbered by first appearance
    sess = A["sess"]
    has_s = sess >= 0
    uniq, first_ix, inv = np.unique(sess[has_s], return_index=True, return_inverse=True)
    rank = np.empty(uniq.size, dtype=np.int64)
    rank[np.argsort(first_ix, kind="stable")] = np.arange(uniq.size)
    sess_id = np.full(N, -1, dtype=np.int64)
    sess_id[has_s] = rank[inv] + 1

    # employee quality (CSAT effect); billing is inconsistent
    emp_sd = np.array([EMPLOYEE_SD[DEPARTMENTS[d]] for d in _EMP_DEPT])
    emp_effect = rng.standard_normal(_EMP_DEPT.size) * emp_sd
    emp_effect = np.round(emp_effect - (np.bincount(_EMP_DEPT, emp_effect) / _EMP_N)[_EMP_DEPT], 3)  # centred

    # --- sentiment -------------------------------------------------------------------------
    has_sent = rng.random(N) < _TP_SENT_P[tp]
    s_val = (_TP_SENT_MU[tp] + _gp("sentiment_offset", grp)[cust] + 0.1 * bond[cust] - 0.65 * inc
             - 0.2 * (follow > 0) + np.where(tp == TP["delivery"], 0.2 * dq[cust], 0.0)
             + np.where(emp >= 0, 0.15 * emp_effect[np.maximum(emp, 0)], 0.0)
             + 0.28 * rng.standard_normal(N))
    sentiment = np.where(has_sent, np.round(np.clip(s_val, -1, 1), 3), np.nan)

    # --- feedback ----------------------------------------------------------------------------
    fb = _feedback(rng, n, grp, bond, dq, t0, first_purchase, active_end, cust, t, tp, ch, inc, kind, follow,
                   emp, dep, emp_effect, amount)

    # --- frames ----------------------------------------------------------------------------------
    width = max(6, len(str(n)))
    cust_ids = pl.Series("customer_id", [f"C{i + 1:0{width}d}" for i in range(n)], dtype=pl.Utf8)
    emp_ids = pl.Series([f"E{i + 1:04d}" for i in range(_EMP_DEPT.size)], dtype=pl.Utf8)

    def lookup(names, codes):
        codes = np.asarray(codes, dtype=np.int64)
        s = pl.Series(list(names), dtype=pl.Utf8)
        idx = pl.Series(np.where(codes < 0, 0, codes).astype(np.uint32))
        out = s.gather(idx)
        if (codes < 0).any():
            out = out.scatter(np.flatnonzero(codes < 0), None)
        return out

    def ts(x):
        return pl.Series((_START_US + np.round(np.asarray(x, dtype=float)).astype(np.int64) * 1_000_000)).cast(
            pl.Datetime("us"))

    def opt_float(x):
        return pl.Series(x, dtype=pl.Float64).fill_nan(None)

    sid = pl.Series(sess_id)
    interactions = pl.DataFrame({
        "customer_id": cust_ids.gather(pl.Series(cust.astype(np.uint32))),
        "timestamp": ts(t),
        "touchpoint": lookup(TOUCHPOINTS, tp),
        "stage": lookup(STAGES, stage),
        "channel": lookup(CHANNELS, ch),
        "direction": lookup(DIRECTIONS, direction),
        "department": lookup(DEPARTMENTS, dep),
        "employee_id": lookup(emp_ids.to_list(), emp),
        "amount": opt_float(amount),
        "value_given": lookup(VALUES, vg),
        "sentiment": opt_float(sentiment),
        "session_id": pl.Series(np.where(sess_id < 0, 0, sess_id)).cast(pl.Utf8).str.zfill(8),
        "incident": pl.Series(inc.astype(bool)),
    }).with_columns(
        pl.when(sid >= 0).then(pl.lit("S") + pl.col("session_id")).otherwise(None).alias("session_id"))

    # customers: first_seen = first touchpoint, tier from realised spend
    first_seen = np.full(n, np.nan)
    np.fmin.at(first_seen, cust, t)
    pos_amt = np.where(np.nan_to_num(amount) > 0, amount, 0.0)
    spend = np.bincount(cust, weights=np.nan_to_num(amount), minlength=n)
    gross = np.bincount(cust, weights=pos_amt, minlength=n)
    has_spend = gross > 0
    q50, q85 = (np.quantile(spend[has_spend], [0.5, 0.85]) if has_spend.any() else (0.0, 0.0))
    tier = np.where(has_spend & (spend >= q85), 2, np.where(has_spend & (spend >= q50), 1, 0))
    acq = np.array([ACQ_BY_TP.get(TOUCHPOINTS[i], "organic") for i in range(len(TOUCHPOINTS))])[acq_tp]
    customers = pl.DataFrame({
        "customer_id": cust_ids,
        "persona": lookup(PERSONAS, persona),
        "first_seen": ts(first_seen),
        "region": lookup(REGIONS, region),
        "tier": lookup(TIERS, tier),
        "stakeholder": lookup(STAKEHOLDERS, stakeholder),
        "acquisition_channel": pl.Series(acq, dtype=pl.Utf8),
        "age_band": lookup(AGE_BANDS, age),
    })

    feedback = pl.DataFrame({
        "customer_id": cust_ids.gather(pl.Series(fb["cust"].astype(np.uint32))),
        "timestamp": ts(fb["t"]),
        "metric": lookup(("nps", "csat", "ces", "trust", "rating"), fb["metric"]),
        "score": pl.Series(fb["score"].astype(float)),
        "comment": fb["comment"],
        "touchpoint": lookup(TOUCHPOINTS, fb["tp"]),
        "channel": lookup(CHANNELS, fb["ch"]),
        "solicited": pl.Series(fb["metric"] != 4),
    })

    died_int = np.where(dead, died_at, np.nan)
    customer_truth = pl.DataFrame({
        "customer_id": cust_ids,
        "behaviour": lookup(GROUP_NAMES, grp),
        "persona": lookup(PERSONAS, persona),
        "persona_matches": pl.Series(persona == grp),
        "lam": pl.Series(np.round(lam, 6)),
        "p_drop": pl.Series(np.round(p_drop, 6)),
        "nu": pl.Series(np.round(nu, 6)),
        "bond": pl.Series(np.round(bond, 4)),
        "delivery_quality": pl.Series(np.round(dq, 4)),
        "buyer": pl.Series(buyer),
        "first_purchase": ts(np.nan_to_num(first_purchase)).scatter(np.flatnonzero(np.isnan(first_purchase)), None),
        "n_purchases": pl.Series(n_purch.astype(np.int64)),
        "n_repeat": pl.Series(n_repeat.astype(np.int64)),
        "died_at": ts(np.nan_to_num(died_int)).scatter(np.flatnonzero(~dead), None),
        "active_until": ts(np.minimum(np.where(is_b, active_end, journey_end), END)),
        "alive": pl.Series(~dead),
    })

    with warnings.catch_warnings(), np.errstate(all="ignore"):  # tiny datasets: empty groups give NaN -> None
        warnings.simplefilter("ignore", RuntimeWarning)
        truth = _truth(seed, n, grp, persona, lam, p_drop, bond, dq, t0, first_purchase, died_at, dead, n_repeat,
                       cust, t, tp, stage, inc, kind, sentiment, emp, dep, emp_effect, fb, answer_delay, amount,
                       interactions, feedback, customers, direction, vg)
    return SampleData(interactions, customers, feedback, truth, customer_truth)


# ----------------------------------------------------------------------------------------------
# feedback


_METRIC = {"nps": 0, "csat": 1, "ces": 2, "trust": 3, "rating": 4}


def _feedback(rng, n, grp, bond, dq, t0, first_purchase, active_end, cust, t, tp, ch, inc, kind, follow,
              emp, dep, emp_effect, amount):
    parts = []
    N = cust.size
    emp_e = np.where(emp >= 0, emp_effect[np.maximum(emp, 0)], 0.0)

    # CSAT after touchpoints
    base = np.full(len(TOUCHPOINTS), np.nan)
    resp = np.zeros(len(TOUCHPOINTS))
    for k, v in CSAT_BASE.items():
        base[TP[k]] = v
        resp[TP[k]] = CSAT_RESPONSE[k]
    m = np.flatnonzero(rng.random(N) < resp[tp])
    sd = np.array([ANSWER_SD[d] for d in DEPARTMENTS])[np.maximum(dep[m], 0)]
    lat = (base[tp[m]] + 0.35 * bond[cust[m]] + _gp("csat_offset", grp)[cust[m]] + emp_e[m]
           + np.where(tp[m] == TP["delivery"], 0.9 * dq[cust[m]], 0.0) - 1.6 * inc[m] - 0.5 * (follow[m] > 0)
           + sd * rng.standard_normal(m.size))
    score = np.clip(np.round(lat), 1, 5)
    delay = np.exp(rng.normal(np.log(5 * HOUR), 1.0, m.size)) + 10 * MIN
    fch = np.where(ch[m] == CH["mobile_app"], CH["mobile_app"], CH["email"])
    parts.append(dict(cust=cust[m], t=t[m] + delay, metric=np.full(m.size, 1), score=score, tp=tp[m], ch=fch,
                      inc=inc[m], kind=kind[m]))
    # CES after checkout and support contacts
    base = np.full(len(TOUCHPOINTS), np.nan)
    resp = np.zeros(len(TOUCHPOINTS))
    for k, v in CES_BASE.items():
        base[TP[k]] = v
        resp[TP[k]] = CES_RESPONSE[k]
    m = np.flatnonzero(rng.random(N) < resp[tp])
    grp_ces = np.where(grp[cust[m]] == GROUP_NAMES.index("support_heavy"), -0.6, 0.0)
    lat = (base[tp[m]] + 0.3 * bond[cust[m]] + grp_ces - 1.1 * (follow[m] > 0) - 1.2 * inc[m]
           + 0.5 * emp_e[m] + 0.9 * rng.standard_normal(m.size))
    score = np.clip(np.round(lat), 1, 7)
    delay = np.exp(rng.normal(np.log(4 * HOUR), 1.0, m.size)) + 10 * MIN
    parts.append(dict(cust=cust[m], t=t[m] + delay + 1.0, metric=np.full(m.size, 2), score=score, tp=tp[m],
                      ch=np.where(ch[m] == CH["mobile_app"], CH["mobile_app"], CH["email"]), inc=inc[m],
                      kind=kind[m]))
    # NPS (+ trust) on relationship surveys
    m = np.flatnonzero((tp == TP["survey_invite"]) & (rng.random(N) < NPS_RESPONSE))
    tr = t[m] + np.exp(rng.normal(np.log(6 * HOUR), 1.2, m.size)) + 5 * MIN
    # incidents and late deliveries in the 365 days before the answer
    key_all = cust.astype(np.int64) * (1 << 28) + t.astype(np.int64)
    inc_ix = np.flatnonzero(inc)
    late_ix = np.flatnonzero(kind == 1)
    kq = cust[m].astype(np.int64) * (1 << 28) + tr.astype(np.int64)
    kq0 = cust[m].astype(np.int64) * (1 << 28) + np.maximum(tr - YEAR, 0).astype(np.int64)
    n_inc = np.searchsorted(key_all[inc_ix], kq, "right") - np.searchsorted(key_all[inc_ix], kq0, "left")
    n_late = np.searchsorted(key_all[late_ix], kq, "right") - np.searchsorted(key_all[late_ix], kq0, "left")
    c = cust[m]
    lat = (_gp("nps_base", grp)[c] + NPS_COEF["bond"] * bond[c] + NPS_COEF["delivery_quality"] * dq[c]
           + NPS_COEF["incidents_12m"] * np.minimum(n_inc, 2) + NPS_COEF["late_deliveries_12m"] * np.minimum(n_late, 2)
           + NPS_COEF["noise_sd"] * rng.standard_normal(m.size))
    score = np.clip(np.round(lat), 0, 10)
    last_kind = np.zeros(m.size, dtype=np.int64)
    # the kind of the latest incident within the year (for comment themes)
    j = np.searchsorted(key_all[inc_ix], kq, "right") - 1
    okj = (n_inc > 0) & (j >= 0)
    last_kind[okj] = kind[inc_ix[j[okj]]]
    parts.append(dict(cust=c, t=tr, metric=np.zeros(m.size, np.int64), score=score, tp=np.full(m.size, -1),
                      ch=np.full(m.size, CH["email"]), inc=n_inc > 0, kind=last_kind))
    mt = rng.random(m.size) < TRUST_WITH_NPS
    lat = 3.3 + 0.9 * bond[c] - 0.3 * np.minimum(n_inc, 2) + 0.6 * rng.standard_normal(m.size)
    parts.append(dict(cust=c[mt], t=tr[mt] + 40.0, metric=np.full(mt.sum(), 3),
                      score=np.clip(np.round(lat), 1, 5)[mt], tp=np.full(mt.sum(), -1),
                      ch=np.full(mt.sum(), CH["email"]), inc=(n_inc > 0)[mt], kind=last_kind[mt]))
    # unsolicited ratings: after purchases (rarely) and after incidents (often, and negative)
    is_p = np.isin(tp, [TP[x] for x in PURCHASE_TPS]) & (np.nan_to_num(amount) > 0)
    m = np.flatnonzero((is_p & (rng.random(N) < 0.03)) | (inc & (rng.random(N) < 0.3)))
    lat = 4.1 + 0.4 * bond[cust[m]] - 2.3 * inc[m] + 0.3 * dq[cust[m]] + 0.9 * rng.standard_normal(m.size)
    parts.append(dict(cust=cust[m], t=t[m] + rng.uniform(0.2, 5, m.size) * DAY, metric=np.full(m.size, 4),
                      score=np.clip(np.round(lat), 1, 5), tp=tp[m],
                      ch=np.where(rng.random(m.size) < 0.6, CH["web"], CH["social"]), inc=inc[m], kind=kind[m]))

    fb = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    fb["t"] = np.round(fb["t"])
    keep = fb["t"] <= END
    fb = {k: v[keep] for k, v in fb.items()}
    key = fb["cust"].astype(np.int64) * (1 << 28) + fb["t"].astype(np.int64)
    order = np.argsort(key, kind="stable")
    fb = {k: v[order] for k, v in fb.items()}
    fb["comment"], fb["theme"], fb["polarity"] = _comments(rng, fb)
    return fb


def _comments(rng, fb):
    M = fb["cust"].size
    metric, score, tpf, kind = fb["metric"], fb["score"], fb["tp"], fb["kind"]
    has = rng.random(M) < np.array([COMMENT_P[k] for k in _METRIC])[metric]
    # polarity from score on the metric's scale: 0 negative, 1 mixed, 2 positive
    pol = np.select(
        [metric == 0, metric == 2],
        [np.where(score <= 6, 0, np.where(score <= 8, 1, 2)), np.where(score <= 3, 0, np.where(score <= 5, 1, 2))],
        np.where(score <= 2, 0, np.where(score == 3, 1, 2)))
    ctx_of_tp = np.full(len(TOUCHPOINTS) + 1, _CTX.index("relationship"))
    for k in ("delivery",):
        ctx_of_tp[TP[k]] = _CTX.index("delivery")
    for k in ("support_call", "support_chat", "support_email", "onboarding_call", "complaint"):
        ctx_of_tp[TP[k]] = _CTX.index("support")
    ctx_of_tp[TP["billing_question"]] = _CTX.index("billing")
    for k in ("order_placed", "checkout", "partner_order", "phone_order", "app_login"):
        ctx_of_tp[TP[k]] = _CTX.index("order")
    ctx_of_tp[TP["store_purchase"]] = _CTX.index("store")
    ctx = ctx_of_tp[tpf]
    neg_t = _Choice([[_NEG_THEME_P[c].get(th, 0.0) for th in THEME_NAMES] for c in _CTX])
    pos_t = _Choice([[_POS_THEME_P[c].get(th, 0.0) for th in THEME_NAMES] for c in _CTX])
    neg = neg_t(rng, ctx)
    pos = pos_t(rng, ctx)
    # the incident behind the answer sets the complaint; low effort scores complain about effort
    by_kind = np.array([-1, THEME_NAMES.index("late_delivery"), THEME_NAMES.index("billing_error"),
                        THEME_NAMES.index("app_crash")])
    neg = np.where((kind > 0) & (rng.random(M) < 0.85), by_kind[kind], neg)
    neg = np.where((metric == 2) & (rng.random(M) < 0.85), THEME_NAMES.index("long_wait_effort"), neg)
    pos = np.where(metric == 2, np.where(rng.random(M) < 0.6, THEME_NAMES.index("easy_app"),
                                         THEME_NAMES.index("helpful_staff")), pos)
    n_ph = np.array([len(THEMES[th]["phrases"]) for th in THEME_NAMES])
    off = np.cumsum(n_ph) - n_ph
    phrases = pl.Series([p for th in THEME_NAMES for p in THEMES[th]["phrases"]], dtype=pl.Utf8)
    pneg = off[neg] + np.floor(rng.random(M) * n_ph[neg]).astype(np.int64)
    ppos = off[pos] + np.floor(rng.random(M) * n_ph[pos]).astype(np.int64)
    o_all = [(pn, s) for pn in ("neg", "mix", "pos") for s in _OPEN[pn]]
    c_all = [(pn, s) for pn in ("neg", "mix", "pos") for s in _CLOSE[pn]]
    o_n = np.array([len(_OPEN[p]) for p in ("neg", "mix", "pos")])
    c_n = np.array([len(_CLOSE[p]) for p in ("neg", "mix", "pos")])
    o_off, c_off = np.cumsum(o_n) - o_n, np.cumsum(c_n) - c_n
    oi = o_off[pol] + np.floor(rng.random(M) * o_n[pol]).astype(np.int64)
    ci = c_off[pol] + np.floor(rng.random(M) * c_n[pol]).astype(np.int64)
    opens = pl.Series([s for _, s in o_all], dtype=pl.Utf8)
    closes = pl.Series([s for _, s in c_all], dtype=pl.Utf8)
    df = pl.DataFrame({
        "o": opens.gather(pl.Series(oi.astype(np.uint32))),
        "pn": phrases.gather(pl.Series(pneg.astype(np.uint32))),
        "pp": phrases.gather(pl.Series(ppos.astype(np.uint32))),
        "c": closes.gather(pl.Series(ci.astype(np.uint32))),
        "pol": pl.Series(pol.astype(np.int64)),
        "has": pl.Series(has),
    })
    body = (pl.when(pl.col("pol") == 0).then(pl.col("pn"))
            .when(pl.col("pol") == 2).then(pl.col("pp"))
            .otherwise(pl.concat_str([pl.col("pp"), pl.lit(", but "), pl.col("pn")])))
    df = df.with_columns(pl.concat_str([pl.col("o"), body, pl.lit("."), pl.col("c")]).alias("x"))
    df = df.with_columns((pl.col("x").str.slice(0, 1).str.to_uppercase() + pl.col("x").str.slice(1)).alias("x"))
    comment = df.select(pl.when(pl.col("has")).then(pl.col("x")).otherwise(None)).to_series().alias("comment")
    theme_neg = np.where(pol <= 1, neg, -1)
    theme_pos = np.where(pol >= 1, pos, -1)
    return comment, np.where(has, np.where(pol == 2, theme_pos, theme_neg), -1), np.where(has, pol, -1)


# ----------------------------------------------------------------------------------------------
# truth


def _r(x, d=4):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), d)


def _truth(seed, n, grp, persona, lam, p_drop, bond, dq, t0, first_purchase, died_at, dead, n_repeat,
           cust, t, tp, stage, inc, kind, sentiment, emp, dep, emp_effect, fb, answer_delay, amount,
           interactions, feedback, customers, direction, vg):
    G = len(GROUP_NAMES)
    N = cust.size
    # loops: a move to an earlier stage on consecutive touchpoints of the same customer
    same = np.r_[False, cust[1:] == cust[:-1]]
    back = same & np.r_[False, stage[1:] < stage[:-1]]
    looped = np.bincount(cust[back], minlength=n) > 0
    loops_n = np.bincount(cust[back], minlength=n)
    loop_by_grp = {GROUP_NAMES[g]: _r(looped[grp == g].mean()) for g in range(G) if (grp == g).any()}
    loop_by_persona = {PERSONAS[g]: _r(looped[persona == g].mean()) for g in range(G) if (persona == g).any()}
    planted_order = sorted(GROUP_NAMES, key=lambda g: GROUPS[g]["loop_rank"])
    # forgiveness: first incident per customer, active 90 days later (any interaction at or after +90d)
    last_t = np.full(n, -np.inf)
    np.maximum.at(last_t, cust, t)
    inc_ix = np.flatnonzero(inc)
    fc, fi = np.unique(cust[inc_ix], return_index=True)
    ft = t[inc_ix][fi]
    ten = ft - t0[fc]
    band = np.where(ten < 182.625 * DAY, 0, np.where(ten < 2 * YEAR, 1, 2))
    eligible = ft <= END - 90 * DAY
    active90 = last_t[fc] >= ft + 90 * DAY
    bands = ("<6m", "6-24m", ">24m")
    forg = {b: _r(active90[eligible & (band == i)].mean()) if (eligible & (band == i)).any() else None
            for i, b in enumerate(bands)}
    forg_n = {b: int((eligible & (band == i)).sum()) for i, b in enumerate(bands)}
    # baseline: buyers without any incident, 90 days after their first purchase
    has_inc = np.zeros(n, bool)
    has_inc[fc] = True
    fp = first_purchase
    elig0 = ~has_inc & ~np.isnan(fp) & (fp <= END - 90 * DAY)
    base_share = _r((last_t[elig0] >= fp[elig0] + 90 * DAY).mean()) if elig0.any() else None
    # per band baseline at the matching tenure: no-incident buyers observed at t0 + band midpoint
    base_band = {}
    for i, (b, mid) in enumerate(zip(bands, (90.0, 456.0, 1000.0))):
        ref = t0 + mid * DAY
        e = ~has_inc & ~np.isnan(fp) & (fp <= ref) & (ref <= END - 90 * DAY) & (last_t >= ref)
        base_band[b] = _r((last_t[e] >= ref[e] + 90 * DAY).mean()) if e.any() else None

    # sentiment by stage and touchpoint
    hs = ~np.isnan(sentiment)
    by_stage = {STAGES[s]: _r(sentiment[hs & (stage == s)].mean(), 3) for s in range(len(STAGES))
                if (hs & (stage == s)).any()}
    cnt_tp = np.bincount(tp[hs], minlength=len(TOUCHPOINTS))
    sum_tp = np.bincount(tp[hs], weights=sentiment[hs], minlength=len(TOUCHPOINTS))
    mean_tp = {TOUCHPOINTS[i]: _r(sum_tp[i] / cnt_tp[i], 3) for i in range(len(TOUCHPOINTS)) if cnt_tp[i] >= 30}
    worst = min(mean_tp, key=mean_tp.get) if mean_tp else None
    others = [v for k, v in mean_tp.items() if k != "delivery"]

    # feedback realised
    fm, fs = fb["metric"], fb["score"]
    nps = fs[fm == 0]
    nps_val = _r(100 * ((nps >= 9).mean() - (nps <= 6).mean()), 2) if nps.size else None
    nps_by = {}
    for g in range(G):
        s = fs[(fm == 0) & (grp[fb["cust"]] == g)]
        nps_by[GROUP_NAMES[g]] = _r(100 * ((s >= 9).mean() - (s <= 6).mean()), 2) if s.size else None
    csat_tp = {}
    for k in CSAT_BASE:
        s = fs[(fm == 1) & (fb["tp"] == TP[k])]
        if s.size:
            csat_tp[k] = _r(s.mean(), 3)
    # trust vs purchases per year of purchasing life
    n_p = np.bincount(cust[np.isin(tp, [TP[x] for x in PURCHASE_TPS]) & (np.nan_to_num(amount) > 0)], minlength=n)
    trust_c = {}
    tm = fm == 3
    if tm.any():
        mean_trust = np.bincount(fb["cust"][tm], weights=fs[tm], minlength=n) / np.maximum(
            np.bincount(fb["cust"][tm], minlength=n), 1)
        has_t = np.bincount(fb["cust"][tm], minlength=n) > 0
        yrs = np.maximum((END - np.nan_to_num(first_purchase, nan=END)) / YEAR, 0.25)
        rate = n_p / yrs
        lvl = np.round(mean_trust)
        for v in range(1, 6):
            sel = has_t & (lvl == v)
            if sel.sum() >= 5:
                trust_c[str(v)] = {"customers": int(sel.sum()), "purchases_per_year": _r(rate[sel].mean(), 3),
                                   "repeat_share": _r((n_repeat[sel] > 0).mean(), 3)}
    # answer times
    chc, depc, delay = answer_delay
    ans = {c: _r(np.median(delay[chc == CH[c]]) / 60.0, 1) for c in ("phone", "chat", "email", "social")
           if (chc == CH[c]).any()}
    ans_dep = {d: _r(np.median(delay[depc == DEP[d]]) / 60.0, 1) for d in ("support", "billing")
               if (depc == DEP[d]).any()}
    # BG/NBD realised vs expected per group
    T = END - first_purchase
    bg = {}
    for g in range(G):
        sel = (grp == g) & ~np.isnan(first_purchase)
        if not sel.any():
            continue
        Tw = T[sel] / WEEK
        exp_x = (1 - np.exp(-lam[sel] * p_drop[sel] * Tw)) / p_drop[sel]
        bg[GROUP_NAMES[g]] = {"buyers": int(sel.sum()), "mean_repeat": _r(n_repeat[sel].mean(), 3),
                              "expected_mean_repeat_given_latents": _r(exp_x.mean(), 3),
                              "mean_lambda": _r(lam[sel].mean(), 4), "mean_p": _r(p_drop[sel].mean(), 4)}
    themes = {k: {"complaint": v["complaint"], "keywords": v["keywords"], "phrases": v["phrases"]}
              for k, v in THEMES.items()}
    has_c = fb["theme"] >= 0
    theme_counts = {THEME_NAMES[i]: int(c) for i, c in enumerate(np.bincount(fb["theme"][has_c],
                                                                           minlength=len(THEME_NAMES)))}
    dept_emp_sd = {d: _r(np.std(emp_effect[_EMP_DEPT == DEP[d]]), 3) for d in DEPARTMENTS}
    inbound_share = _r((direction == 0).mean(), 3)

    return {
        "generator": "cx.sample", "seed": int(seed), "n_customers": int(n),
        "window": {"start": WINDOW_START + "Z", "end": WINDOW_END + "Z"},
        "time_unit": "week",
        "counts": {"customers": int(n), "interactions": int(N), "feedback": int(fm.size),
                   "buyers": int((~np.isnan(first_purchase)).sum()), "purchases": int(n_p.sum()),
                   "interactions_per_customer": _r(N / n, 2),
                   "sentiment_share": _r(hs.mean(), 3), "comment_share": _r(has_c.mean(), 3),
                   "inbound_share": inbound_share},
        "groups": {g: {k: v for k, v in GROUPS[g].items()} for g in GROUP_NAMES},
        "group_shares_realised": {GROUP_NAMES[g]: _r((grp == g).mean(), 4) for g in range(G)},
        "personas": {"declared_equals_behaviour_prob": PERSONA_MATCH,
                     "declared_equals_behaviour_realised": _r((persona == grp).mean(), 4),
                     "otherwise": "a uniformly random other persona",
                     "display_names": {g: GROUPS[g]["display"] for g in GROUP_NAMES}},
        "purchases": {
            "model": "BG/NBD (Fader, Hardie & Lee 2005): lambda ~ Gamma(shape r, rate alpha) per week, "
                     "p ~ Beta(a, b); first purchase at the end of the pre-purchase journey; repeat purchases "
                     "after Exp(lambda) gaps; after each repeat purchase the customer drops out with "
                     "probability p (never at the first purchase). Exact: nothing else removes purchases.",
            "spend_model": "Gamma-Gamma: nu ~ Gamma(shape q, rate gamma) per customer; amount ~ Gamma(shape p, "
                           "rate nu), rounded to cents (min 0.01)",
            "purchase_rows": "one row per transaction: touchpoint in " + ", ".join(PURCHASE_TPS)
                             + " with amount > 0; refunds are separate refund_issued rows with amount < 0",
            "purchase_touchpoints": list(PURCHASE_TPS),
            "by_group": bg,
        },
        "loops": {"definition": "share of customers with at least one move to an earlier stage (order "
                                + " < ".join(STAGES) + ") between consecutive touchpoints",
                  "planted_order": planted_order, "rate_by_behaviour": loop_by_grp, "rate_by_persona": loop_by_persona,
                  "realised_order_by_behaviour": sorted(loop_by_grp, key=lambda k: -loop_by_grp[k]),
                  "realised_order_by_persona": sorted(loop_by_persona, key=lambda k: -loop_by_persona[k]),
                  "mean_loops_per_customer": _r(loops_n.mean(), 3)},
        "bond": {"formula": "bond = (0.5*z(lambda quantile) + 0.5*z((1-p) quantile) + 0.5*N(0,1)) / sqrt(0.75) "
                            "+ group bond_offset; quantiles within the group's Gamma/Beta",
                 "corr_lambda": _r(np.corrcoef(bond, np.log(lam))[0, 1], 3),
                 "corr_survival": _r(np.corrcoef(bond, -np.log(p_drop))[0, 1], 3),
                 "drives": ["trust score (+0.9 per sd)", "NPS (+1.0)", "CSAT (+0.35)", "thank_you_email probability",
                            "loyalty_reward gift rate", "newsletter subscription",
                            "answer speed (delay x exp(-0.35 bond))",
                            "use activity rate (x exp(0.3 bond))", "sentiment (+0.1)"]},
        "incidents": {
            "kinds": {v[0]: {"touchpoint": v[1]} for v in INCIDENT_KINDS.values()},
            "at_dropout_purchase_prob_by_tenure": DEATH_INCIDENT_P,
            "base_prob_per_purchase": {g: GROUPS[g]["base_incident"] for g in GROUP_NAMES},
            "dead_customers_quiet_after_days": list(DEATH_TAIL_DAYS),
            "customers_with_incident": int(has_inc.sum()),
            "incident_rows": int(inc.sum()),
        },
        "forgiveness": {
            "definition": "customers with an incident: first incident at time t (t <= window end - 90 days), "
                          "tenure = t - first_seen; still active = any interaction at or after t + 90 days",
            "share_active_90d_by_tenure": forg, "n_by_tenure": forg_n,
            "no_incident_share_active_90d_after_first_purchase": base_share,
            "no_incident_share_active_90d_at_band_tenure": base_band,
        },
        "departments": {"employees": N_EMPLOYEES, "employee_csat_sd": EMPLOYEE_SD, "answer_noise_sd": ANSWER_SD,
                        "realised_employee_effect_sd": dept_emp_sd, "inconsistent_department": INCONSISTENT_DEPARTMENT,
                        "employee_ids": "E0001.. numbered by department in the order "
                                        + ", ".join(DEPARTMENTS)},
        "answers": {"answer_touchpoint": "support_reply",
                    "definition": "every inbound contact (" + ", ".join(SUPPORT_TPS) + ") is followed by one "
                                  "outbound support_reply of the same customer, department and channel",
                    "median_minutes_by_channel": ans, "median_minutes_by_department": ans_dep,
                    "delay_model": "median phone 6 min, chat 1.5 h, social 4 h, email 8 h; x1.8 billing; "
                                   "x exp(-0.35*bond); lognormal sd 0.8; email/social answers in office hours"},
        "sentiment": {"by_stage": by_stage, "by_touchpoint": mean_tp, "worst_touchpoint": worst,
                      "worst_mean": mean_tp.get(worst) if worst else None,
                      "next_worst_mean": _r(min(others), 3) if others else None,
                      "incident_effect": -0.65},
        "feedback": {
            "csat_response": CSAT_RESPONSE, "ces_response": CES_RESPONSE, "nps_response": NPS_RESPONSE,
            "trust_with_nps": TRUST_WITH_NPS, "comment_prob": COMMENT_P,
            "link_rule": "csat/ces rows follow the interaction they rate: same customer and touchpoint, the latest "
                         "such interaction before the answer",
            "csat_mean_by_touchpoint": csat_tp,
        },
        "nps": {"coefficients": NPS_COEF, "base_by_group": {g: GROUPS[g]["nps_base"] for g in GROUP_NAMES},
                "overall": nps_val, "by_behaviour": nps_by, "responses": int(nps.size),
                "worst_touchpoint": "delivery",
                "key_driver": "per-customer mean CSAT of delivery carries delivery_quality (0.9 per sd), which "
                              "drives NPS; delivery has the lowest mean CSAT"},
        "trust": {"formula": "trust = clip(round(3.3 + 0.9*bond - 0.3*min(incidents_12m,2) + N(0,0.6)), 1, 5)",
                  "by_level": trust_c},
        "themes": themes, "theme_counts": theme_counts, "effort_phrases": EFFORT_PHRASES,
        "effort_theme": "long_wait_effort",
        "worst_touchpoint": "delivery",
    }


# ----------------------------------------------------------------------------------------------
# writing


_TS_FMT = "%Y-%m-%dT%H:%M:%SZ"


def write(data: SampleData, out_dir) -> dict[str, str]:
    """Write the dataset as CSV (+ truth.json, truth_customers.csv); returns {name: path}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, df in (("interactions", data.interactions), ("customers", data.customers),
                     ("feedback", data.feedback), ("truth_customers", data.customer_truth)):
        p = out / f"{name}.csv"
        df.write_csv(p, datetime_format=_TS_FMT, null_value="")
        paths[name] = str(p)
    p = out / "truth.json"
    p.write_text(json.dumps(data.truth, indent=1, sort_keys=False) + "\n")
    paths["truth"] = str(p)
    return paths
