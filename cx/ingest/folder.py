"""Folders of table files, and the shipped demo dataset."""
from __future__ import annotations

from pathlib import Path

from ..store import Store
from .api import import_file
from .land import after_import, deferred_hook
from .report import ImportFailed, ImportReport, Progress


SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"
KIND_FILES = {"customers": ("customers",), "interactions": ("interactions", "touchpoints", "events"),
              "feedback": ("feedback", "surveys", "answers")}


def import_folder(store: Store, folder, dataset: str, progress: Progress | None = None) -> list[ImportReport]:
    """Import every table file of a folder (interactions*, customers*, feedback*: CSV, CSV.GZ,
    Parquet or Excel) into one dataset, each with its suggested mapping."""
    folder = Path(folder)
    reports = []
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(("truth", ".")))
    try:
        with deferred_hook():  # the closed loop runs once, on the whole folder
            for kind, stems in KIND_FILES.items():
                for p in files:
                    stem = p.name.lower().split(".")[0]
                    if stem in stems:
                        reports.append(import_file(store, p, kind=kind, dataset=dataset, progress=progress))
    finally:
        if reports:  # the shipped demo also gets its closed-loop history (cx.cases.demo)
            after_import(store, dataset, demo=folder.resolve() == SAMPLE_DIR)
    if not reports:
        raise ImportFailed(f"No interactions/customers/feedback file in {folder}.")
    return reports


def ensure_demo(store: Store, dataset: str = "demo") -> bool:
    """Load the shipped sample dataset when the database has no dataset at all (first start).
    Returns True when it loaded it."""
    if store.dataset_names() or not (SAMPLE_DIR / "interactions.csv").exists():
        return False
    with store._write_lock:
        if store.dataset_names():
            return False
        import_folder(store, SAMPLE_DIR, dataset)
    return True
