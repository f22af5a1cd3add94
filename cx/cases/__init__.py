"""The closed loop: from a weak number to an owned action, followed until it is done.

- rules.py     the reasons that open a case (detractor, low CSAT, high effort, incident without
               follow-up, valuable customer at risk, negative comment), their SLA, priority and
               parameters, routing to an owner, and the triggers each finds in the data
- evaluate.py  running the rules (one open case per customer and reason, idempotent), escalation of
               overdue cases
- hook.py      the hook run after every import (never fails the import)
- storage.py   cases, their history, settings (versioned: a stale save is refused), revisions
- outcomes.py  did it work: time to first action, share closed within SLA, and the later behaviour of
               customers whose case was resolved against those whose case was not (an association)
- plans.py     action plans linked to what they should move, and their metric since they started
- alerts.py    KPI targets and alert rules (threshold, significant change, anomaly) -> the inbox
- channels.py  delivery to a webhook (Slack/Teams JSON) and e-mail (SMTP), once per event, retried
- digest.py    the leadership digest (self-contained HTML and plain text)
- demo.py      the demo dataset's closed-loop history (its own seeded RNG; a planted effect)
- glossary.py  GLOSSARY (the loop's definitions, as cx.terms.Term)

All state lives in cx_meta (cx.store), outside the dataset schemas, so it survives re-imports.
"""
from .evaluate import Evaluation, escalate, evaluate, last_run, owners, rules
from .glossary import GLOSSARY
from .hook import after_import
from .rules import (DEFAULT_OWNER, ESCALATION_OWNER, REASON_LABELS, REASONS, check_rules, default_owners,
                    default_rules, reason_label)
from .storage import (AGES, MOVES, OPEN, PRIORITIES, STATUS_LABELS, STATUSES, SYSTEM, StaleVersion, bulk_update, case,
                      cases, history, inbox, open_counts, revision, save_setting, setting, update_case)

__all__ = ["AGES", "GLOSSARY", "Evaluation", "after_import", "escalate", "evaluate", "last_run", "owners", "rules", "DEFAULT_OWNER",
           "ESCALATION_OWNER", "REASONS", "REASON_LABELS", "reason_label", "check_rules", "default_owners", "default_rules", "MOVES", "OPEN",
           "PRIORITIES", "STATUS_LABELS", "STATUSES", "SYSTEM", "StaleVersion", "bulk_update", "case", "cases",
           "history", "inbox", "open_counts", "revision", "save_setting", "setting", "update_case"]
