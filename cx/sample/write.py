"""`write`: a generated dataset as CSV files (+ truth.json), as shipped in sample_data/."""
from __future__ import annotations

import json
from pathlib import Path

from .frames import SampleData

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
