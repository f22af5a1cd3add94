"""The import hook: the closed loop runs on every dataset just imported (cx.ingest calls it after the
import has committed). Its own module, above evaluate and demo, so neither imports the other back."""
from __future__ import annotations

import logging

from . import storage

log = logging.getLogger("cxloop")


def after_import(store, dataset: str | None, demo: bool = False) -> None:
    """Run the rules and the alerts on the dataset just imported (and, for the shipped demo, build its
    closed-loop history first). Never raises: a failure is logged and reported by the next run, the
    import itself is already committed."""
    try:
        if demo and not storage.cases(store, dataset).height:
            from .demo import seed_demo

            seed_demo(store, dataset)  # its inbox fills on the first alert run (`python -m cx alerts`, the page)
            return
        from .evaluate import evaluate  # looked up at call time (a test replaces it to make the hook fail)

        evaluate(store, dataset)
        from .alerts import run_alerts

        run_alerts(store, dataset)
    except Exception:  # noqa: BLE001 - the import is committed; the loop catches up on its next run
        log.exception("closed loop after the import of %s failed", dataset)
