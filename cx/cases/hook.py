"""The import hook of the closed loop: after an import, run the rules and the alerts (and, for the
shipped demo, build its closed-loop history first). Its own module: it sits above evaluate, demo
and alerts, which import one another only downwards."""
from __future__ import annotations

import logging

from . import storage
from .alerts import run_alerts
from .demo import seed_demo
from .evaluate import evaluate

log = logging.getLogger("cxloop")


def after_import(store, dataset: str | None, demo: bool = False) -> None:
    """The import hook: run the rules and the alerts on the dataset just imported (and, for the shipped
    demo, build its closed-loop history first). Never raises: a failure is logged and reported by
    the next run, the import itself is already committed."""
    try:
        if demo and not storage.cases(store, dataset).height:
            seed_demo(store, dataset)  # its inbox fills on the first alert run (`python -m cx alerts`, the page)
            return
        evaluate(store, dataset)
        run_alerts(store, dataset)
    except Exception:  # noqa: BLE001 - the import is committed; the loop catches up on its next run
        log.exception("closed loop after the import of %s failed", dataset)
