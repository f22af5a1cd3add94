"""Hostile data and a detector of markup the app did not make (tests/test_hostile.py).

`evil(tag)` is a value that carries every way text can become a link or an image: a Markdown link,
a Markdown image, raw HTML <a> and <img>, a bare URL and a www. autolink, all pointing at
EVIL_HOST. `offenders(at)` renders every Markdown-bearing string of an AppTest run the way the
browser does (GitHub-flavoured Markdown with autolinks, HTML allowed) and every Plotly label the
way Plotly does (its pseudo-HTML keeps <a href>), and returns each link or image that points at
EVIL_HOST: the app never makes one, so any is an injection.
"""
from __future__ import annotations

import json
import random
import re
from datetime import datetime, timedelta

import polars as pl

EVIL_HOST = "evil.example"


def evil(tag: str) -> str:
    u = f"http://{EVIL_HOST}/{tag}"
    return (f"{tag} [session expired, log in]({u}/md) ![px]({u}/img.png) <a href=\"{u}/a\">a</a> "
            f"<img src=\"{u}/i.png\"> {u}/bare www.{EVIL_HOST}/{tag}")


def hostile_files(folder) -> dict[str, object]:
    """interactions.csv, customers.csv and feedback.csv whose text values are hostile, shaped so
    that every page has something to draw (orders, stages, feedback, repeat buyers, incidents)."""
    rng = random.Random(7)
    t0 = datetime(2025, 1, 6, 9)
    n = 160
    ids = [evil(f"c{i}") if i % 3 == 0 else f"c{i:03d}" for i in range(n)]
    tps = [("social_ad", "social"), ("homepage", "web"), ("pricing_page", "web"),
           (evil("tp_product") + " product", "web"), ("cart_add", "web"), ("order_placed", "web"),
           ("delivery", "store"), ("support_call", evil("chan")), ("billing_question", "phone")]
    depts = ["sales", "support", evil("dept")]
    rows = []
    for i, cid in enumerate(ids):
        t = t0 + timedelta(days=rng.randrange(0, 40), hours=rng.randrange(0, 12))
        for k in range(rng.randrange(3, 14)):
            tp, ch = tps[min(k, len(tps) - 1)] if rng.random() < 0.6 else rng.choice(tps)
            amount = round(rng.uniform(20, 300), 2) if tp == "order_placed" else None
            rows.append({"customer_id": cid, "timestamp": t.isoformat() + "Z", "touchpoint": tp, "channel": ch,
                         "direction": rng.choice(["inbound", "outbound"]), "department": rng.choice(depts),
                         "employee_id": rng.choice(["e1", "e2", evil("emp")]), "amount": amount,
                         "value_given": rng.choice([None, "discount", evil("gift")]),
                         "session_id": f"s{i}_{k // 4}", "incident": rng.random() < 0.08,
                         "sentiment": round(rng.uniform(-1, 1), 2)})
            t += timedelta(days=rng.randrange(0, 9), hours=rng.randrange(1, 20))
    inter = pl.DataFrame(rows)
    cust = pl.DataFrame({"customer_id": ids,
                         "persona": [rng.choice(["Researcher", evil("persona")]) for _ in ids],
                         "region": [rng.choice(["North", evil("region")]) for _ in ids],
                         "tier": [rng.choice(["gold", evil("tier")]) for _ in ids],
                         "stakeholder": ["customer"] * n,
                         "favourite": [evil("attr")] * n})
    fb = []
    words = ["slow delivery and rude staff", "great service quick help", "confusing billing page",
             "easy checkout love it", "waited on hold forever"]
    for i, cid in enumerate(ids):
        for m, lo, hi in (("nps", 0, 10), ("csat", 1, 5), ("ces", 1, 7), (evil("metric"), 1, 5)):
            if rng.random() < 0.7:
                fb.append({"customer_id": cid,
                           "timestamp": (t0 + timedelta(days=rng.randrange(0, 90))).isoformat() + "Z",
                           "metric": m, "score": rng.randint(lo, hi),
                           "comment": f"{rng.choice(words)} {evil('comment')}",
                           "touchpoint": rng.choice(["delivery", evil("fbtp")]),
                           "channel": rng.choice(["email", evil("fbchan")]), "solicited": rng.random() < 0.7})
    feedback = pl.DataFrame(fb)
    paths = {}
    for name, df in (("interactions", inter), ("customers", cust), ("feedback", feedback)):
        p = folder / f"{name}.csv"
        df.write_csv(p)
        paths[name] = p
    return paths


# -- what reaches the browser as Markdown -------------------------------------------------------
# proto fields Streamlit renders as (GitHub-flavoured) Markdown: bodies of markdown/caption/alert/
# title elements, labels, help tooltips, metric values and deltas, radio/segmented options, captions
_MD_FIELDS = {"body", "label", "help", "value", "delta", "options", "captions", "content", "tooltip",
              "delta_description", "placeholder"}
# element types whose strings are shown as plain text (or are not text at all)
_PLAIN_TYPES = {"code", "text_area", "text_input", "json", "selectbox", "multiselect", "exception",
                "plotly_chart", "arrow_data_frame", "graphviz_chart", "download_button"}


def _strings(msg, path=""):
    """Every string field of a protobuf message (recursively), as (field path, value)."""
    from google.protobuf.message import Message

    for fd, v in msg.ListFields():
        name = f"{path}.{fd.name}" if path else fd.name
        items = v if getattr(fd, "is_repeated", False) else [v]
        for x in items:
            if isinstance(x, str):
                yield name, x
            elif isinstance(x, Message):
                yield from _strings(x, name)


def _nodes(node):
    yield node
    for c in getattr(node, "children", {}).values():
        yield from _nodes(c)


def _md():
    from markdown_it import MarkdownIt

    return MarkdownIt("gfm-like", {"html": True, "linkify": True})


_URL_ATTR = re.compile(r"""(?:href|src)\s*=\s*["']?([^"' >]+)""", re.IGNORECASE)


def _evil_urls(html: str) -> list[str]:
    return [u for u in _URL_ATTR.findall(html) if EVIL_HOST in u]


def offenders(at) -> list[str]:
    """Each link or image pointing at EVIL_HOST that the page would show: 'type.field: url'."""
    md = _md()
    out = []
    for node in _nodes(at._tree):
        typ = getattr(node, "type", None)
        proto = getattr(node, "proto", None)
        if proto is None or not hasattr(proto, "ListFields"):
            continue
        if typ == "plotly_chart":
            spec = json.loads(proto.spec or "{}")
            for s in _json_strings(spec):
                if "<a" in s.lower() and EVIL_HOST in s:
                    out.append(f"plotly: {s[:120]}")
            continue
        if typ == "graphviz_chart":
            dot = proto.spec
            if re.search(r"(?i)\b(URL|href)\s*=", dot):
                out.append(f"graphviz: {dot[:120]}")
            continue
        if typ == "table":  # st.table: every cell is Markdown
            df = node.value
            for col in df.columns:
                for s in df[col]:
                    if isinstance(s, str) and EVIL_HOST in s:
                        out += [f"table.{col}: {u}" for u in _evil_urls(md.render(s))]
            continue
        if typ in _PLAIN_TYPES:
            continue
        for name, s in _strings(proto):
            if EVIL_HOST not in s or name.split(".")[-1] not in _MD_FIELDS:
                continue
            html = md.render(s)
            out += [f"{typ}.{name}: {u}" for u in _evil_urls(html)]
    return sorted(set(out))


def _json_strings(x):
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from _json_strings(v)
    elif isinstance(x, list):
        for v in x:
            yield from _json_strings(v)
