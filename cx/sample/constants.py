"""The demo world's fixed parameters: time window, vocabularies, touchpoint catalogue, behaviour
groups and the coefficients of the planted effects. No random draws here; the planted parameters
are echoed in ``truth.json`` (:mod:`cx.sample.truth`).

Times are float seconds since ``WINDOW_START`` (a Tuesday, midnight).
"""
from __future__ import annotations

import numpy as np

from cx.schema import STAGES, derive_stage

# ----------------------------------------------------------------------------------------------
# time
WINDOW_START = "2022-11-01T00:00:00"
WINDOW_END = "2026-10-31T23:59:59"
START_US = int(np.datetime64(WINDOW_START, "us").astype(np.int64))
END = float((np.datetime64(WINDOW_END, "s") - np.datetime64(WINDOW_START, "s")).astype(np.int64))
MIN, HOUR, DAY = 60.0, 3600.0, 86400.0
WEEK = 7 * DAY
MONTH = 30.4375 * DAY
YEAR = 365.25 * DAY
FIRST_WEEKDAY = 1  # 2022-11-01 is a Tuesday (Monday = 0)

# ----------------------------------------------------------------------------------------------
# vocabularies
CHANNELS = ("web", "mobile_app", "store", "email", "phone", "chat", "social", "partner")
CH = {c: i for i, c in enumerate(CHANNELS)}
DEPARTMENTS = ("sales", "support", "billing", "logistics", "marketing", "store")
DEP = {d: i for i, d in enumerate(DEPARTMENTS)}
N_EMPLOYEES = {"sales": 15, "support": 40, "billing": 12, "logistics": 30, "marketing": 10, "store": 25}
# employees are numbered by department in the order of DEPARTMENTS (first number, count, department)
EMP_FIRST = np.cumsum([0] + [N_EMPLOYEES[d] for d in DEPARTMENTS])[:-1]
EMP_N = np.array([N_EMPLOYEES[d] for d in DEPARTMENTS])
EMP_DEPT = np.repeat(np.arange(len(DEPARTMENTS)), EMP_N)
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
TP_STAGE = np.array([STAGES.index(derive_stage(t)) for t in TOUCHPOINTS], dtype=np.int8)
TP_CH = np.array([CH[t[1]] if t[1] else -1 for t in _TP], dtype=np.int8)
TP_DIR = np.array([DIRECTIONS.index(t[2]) for t in _TP], dtype=np.int8)
TP_DEP = np.array([DEP[t[3]] if t[3] else -1 for t in _TP], dtype=np.int8)
TP_STAFFED = np.array([t[4] for t in _TP])
TP_SENT_P = np.array([t[5] for t in _TP])
TP_SENT_MU = np.array([t[6] for t in _TP])
TP_VG = np.array([VG[t[7]] if t[7] else -1 for t in _TP], dtype=np.int8)
PURCHASE_TPS = ("order_placed", "store_purchase", "partner_order", "phone_order")
SUPPORT_TPS = ("support_call", "support_chat", "support_email", "complaint", "billing_question")

# which touchpoints a (stage, channel) browsing row can be
CATALOG = {
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
COMBOS = list(CATALOG)
COMBO = {k: i for i, k in enumerate(COMBOS)}

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
METRICS = ("nps", "csat", "ces", "trust", "rating")  # feedback metric codes 0..4 (the order of COMMENT_P)
COMMENT_P = {"nps": 0.6, "csat": 0.45, "ces": 0.35, "trust": 0.15, "rating": 0.97}
