"""The Loyalty & trust terms (cx.glossary gathers them: hover help, the Glossary page, docs)."""
from __future__ import annotations

from ..terms import Term

AREA = "Loyalty & trust"

GLOSSARY: tuple[Term, ...] = (
    Term("nps", "NPS", AREA,
         "Net Promoter Score of the NPS answers (0–10) after the filters: % promoters (9–10) − % "
         "detractors (0–6), from −100 to +100. Fewer than 30 answers are flagged low_n.",
         "cx.loyalty.score_summary", "loyalty"),
    Term("csat", "CSAT", AREA,
         "Top-2-box satisfaction: the share (%) of CSAT answers scoring 4–5 on the 1–5 scale. "
         "Bottom-2 (1–2) is the dissatisfied share; the mean score is given too.",
         "cx.loyalty.score_summary", "loyalty"),
    Term("ces", "CES", AREA,
         "Customer effort score: the mean of the CES answers on 1–7 (7 = very easy). Easy = share "
         "of answers 5–7, hard = 1–3.",
         "cx.loyalty.score_summary", "loyalty"),
    Term("score_breakdown", "Score breakdown", AREA,
         "NPS/CSAT/CES per group: the feedback's touchpoint, channel or solicited flag; the stage, "
         "department or employee of the interaction the answer rates (same customer and touchpoint, "
         "the latest at or before the answer; '(not linked)' without one); any customers column; or "
         "the saved segment (a customer in several counts in each, in none: '(no segment)').",
         "cx.loyalty.score_summary", "loyalty"),
    Term("driver_honesty", "How sure the key drivers are", AREA,
         "The weights are bootstrapped over customers (400 resamples) for their intervals and for R²'s. A driver "
         "counts only if its weight beats a random-noise predictor added to every resample in 95% of them "
         "(Tonidandel & LeBreton); 'fix first' is said only for the most important below-average driver that is "
         "also ahead of the next most important touchpoint in 95% of the resamples, otherwise they are called "
         "tied.", "cx.loyalty.key_drivers", "loyalty"),
    Term("breakdown_intervals", "Groups that differ", AREA,
         "Each group's score carries its 95% interval (NPS: multinomial; CSAT: Wilson; CES: t) and is tested "
         "against all other answers (the same tests as a change between periods); with many groups, only those "
         "that pass Benjamini-Hochberg at a 5% false-discovery rate are marked above or below the rest. Groups "
         "with fewer than 30 answers are shown but never ranked.", "cx.loyalty.score_summary", "loyalty"),
    Term("score_trend", "Score trend", AREA,
         "NPS, CSAT or CES per week (from Monday), month or quarter of the answer, with its number "
         "of answers (fewer than 30 flagged).",
         "cx.loyalty.score_trend", "loyalty"),
    Term("score_distribution", "Score distribution", AREA,
         "Answers per score value and their share of all answers, each in its group (promoter / "
         "passive / detractor for NPS; good / neutral / bad by the same cut-offs otherwise).",
         "cx.loyalty.score_distribution", "loyalty"),
    Term("solicited_split", "Solicited vs unsolicited", AREA,
         "Each metric (NPS, CSAT, CES, rating) computed separately on solicited answers (surveys) "
         "and unsolicited ones (reviews, posts, complaints).",
         "cx.loyalty.solicited_split", "loyalty"),
    Term("key_drivers", "Key drivers (relative weights)", AREA,
         "Johnson's relative weights of each customer's mean CSAT per touchpoint on the outcome "
         "(latest NPS, or repurchase within 90 days of a reference date = last interaction − 90 days). "
         "The weights sum to the R² of the regression; importance share = weight ÷ R². Touchpoints "
         "rated by fewer than 5% (or 30) of the customers are left out; unrated values take the "
         "touchpoint's mean.",
         "cx.loyalty.key_drivers", "loyalty"),
    Term("driver_quadrant", "Importance × performance", AREA,
         "Each touchpoint placed by importance (relative weight) and performance (mean CSAT). Fix "
         "first = importance at or above the mean and performance below the mean; Strength = both at "
         "or above; Maintain = less important, performing; Low priority = neither.",
         "cx.loyalty.key_drivers", "loyalty"),
    Term("trust_levels", "Trust levels", AREA,
         "Customers by their latest trust answer (1–5, rounded): the NPS of their latest NPS answers, "
         "and the repurchase rate = share of buyers (1+ purchases) with 2+ purchases.",
         "cx.loyalty.trust_levels", "loyalty"),
    Term("forgiveness", "Forgiveness", AREA,
         "Customers with an incident, by tenure at their first incident (< 6 months, 6–24, > 24): "
         "the share still active (any interaction) 90 days later, against customers without an "
         "incident observed at the same tenure, and buyers without incidents 90 days after their "
         "first purchase. Incidents in the last 90 days of the data are left out.",
         "cx.loyalty.forgiveness", "loyalty"),
    Term("dialogue", "Two-way dialogue", AREA,
         "Inbound share = touchpoints the customer started ÷ touchpoints with a direction. The "
         "dialogue component (0–100) = 100·(1 − 2·|inbound share − 0.5|): 100 when balanced.",
         "cx.loyalty.relationship", "loyalty"),
    Term("answer_time", "Time to answer", AREA,
         "From an inbound contact handled by a department to the next outbound touchpoint of the "
         "same customer, channel and department (optionally of a chosen kind) within 7 days. Per "
         "customer the median; responsiveness (0–100) = 100·2^(−median hours ÷ 24).",
         "cx.loyalty.relationship", "loyalty"),
    Term("exchange_of_value", "Exchange of value", AREA,
         "Gives (touchpoints with a value_given that the customer did not start: discount, content, "
         "thank-you, gift) against purchases (amount > 0). Component (0–100) = 100·min(gives, "
         "purchases) ÷ max(gives, purchases).",
         "cx.loyalty.relationship", "loyalty"),
    Term("recognition", "Recognition", AREA,
         "Identified share = share of a customer's touchpoints on channels where they are identified "
         "(a purchase or a contact handled by a department or employee there). Component (0–100) = "
         "50·identified share + 50 if seen on 2+ channels.",
         "cx.loyalty.relationship", "loyalty"),
    Term("health", "Relationship health", AREA,
         "0–100 per customer: the equal-weight mean of the dialogue, responsiveness, exchange and "
         "recognition components that are present. The page's card is the mean over customers.",
         "cx.loyalty.relationship", "loyalty"),
    Term("health_retention", "Health vs retention", AREA,
         "No look-ahead: health computed on the data before a reference date (last interaction − 90 "
         "days) for customers active in the year before it; per decile of health, the share active "
         "again (a touchpoint not marked outbound) in the 90 days after it.",
         "cx.loyalty.health_retention", "loyalty"),
)
