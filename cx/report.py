"""A self-contained HTML report of one view: its title, the filters, every chart (interactive,
plotly.js embedded once, so the file opens offline) and every table (escaped text, never the
data as HTML). Pages collect what they draw; :func:`html_report` writes the file."""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime, timezone

import plotly.graph_objects as go
import polars as pl

MAX_TABLE_ROWS = 200


@dataclass
class Item:
    """One thing a view showed: a figure or a table, with its caption."""
    title: str
    figure: go.Figure | None = None
    table: pl.DataFrame | None = None
    caption: str = ""
    formats: dict = field(default_factory=dict)  # column -> "percent", "%.2f" ... as the screen shows it
    labels: dict = field(default_factory=dict)  # column -> the header the screen shows, when not cx.report.header


@dataclass
class View:
    title: str
    subtitle: str = ""
    items: list[Item] = field(default_factory=list)

    def add_figure(self, fig: go.Figure, caption: str = "") -> None:
        title = (fig.layout.title.text or "") if fig.layout.title else ""
        self.items.append(Item(title=title, figure=fig, caption=caption))  # a reference: no copy per rerun

    def add_table(self, df: pl.DataFrame, title: str = "", caption: str = "", formats: dict | None = None,
                  labels: dict | None = None) -> None:
        self.items.append(Item(title=title, table=df.head(MAX_TABLE_ROWS), caption=caption, formats=formats or {},
                               labels=labels or {}))


_WORDS = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "clv": "CLV", "id": "ID", "ci": "CI", "roi": "ROI",
          "rfm": "RFM", "pca": "PCA", "ltv": "LTV", "url": "URL", "k": "k", "n": "n"}
_PHRASES = {"p_alive": "P(alive)", "customer_id": "customer", "pct": "%"}


def header(column: str) -> str:
    """A column's name as a reader sees it in a table: `conversion_from_previous` → "conversion
    from previous", `predicted_clv` → "predicted CLV", `p_alive` → "P(alive)". Names that are not
    plain snake_case (data columns such as `web:homepage`) are left as they are. Files keep the
    machine names; this is for the screen and the HTML report."""
    if column in _PHRASES:
        return _PHRASES[column]
    if not column or not all(ch.islower() or ch.isdigit() or ch == "_" for ch in column):
        return column
    words = [w for w in column.split("_") if w]
    return " ".join(_PHRASES.get(w) or _WORDS.get(w, w) for w in words)


def cell_text(v, fmt: str | None = None) -> str:
    """A value as a table shows it to a reader: a dash for nothing, percentages as percentages,
    thousands separators, sensible decimals (the screen's column format when given: "percent",
    "%.2f", "%+.2f" ...)."""
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if fmt == "percent":
            return f"{v:.1%}"
        if fmt and fmt.startswith("%"):
            try:
                return fmt % v
            except (TypeError, ValueError):
                pass
        if v != v or v in (float("inf"), float("-inf")):
            return "–"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:,.2f}".rstrip("0").rstrip(".") if v != int(v) else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return html.escape(str(v))


def _table_html(df: pl.DataFrame, formats: dict | None = None, labels: dict | None = None) -> str:
    formats, labels = formats or {}, labels or {}
    head = "".join(f"<th>{html.escape(labels.get(c) or header(c))}</th>" for c in df.columns)
    fmts = [formats.get(c) for c in df.columns]
    rows = "".join("<tr>" + "".join(f"<td>{cell_text(v, f)}</td>" for v, f in zip(r, fmts)) + "</tr>"
                   for r in df.iter_rows())
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def html_report(view: View, link: str = "") -> str:
    """The whole view as one HTML document that needs no network: plotly.js is inlined once."""
    from plotly.offline import get_plotlyjs

    parts = []
    for i, it in enumerate(view.items):
        body = ""
        if it.figure is not None:
            body = it.figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart{i}",
                                     config={"displaylogo": False})
        elif it.table is not None:
            more = "" if it.table.height < MAX_TABLE_ROWS else f"<p class=cap>First {MAX_TABLE_ROWS} rows.</p>"
            body = _table_html(it.table, it.formats, it.labels) + more
        title = f"<h2>{html.escape(it.title)}</h2>" if it.title and it.figure is None else ""
        cap = f"<p class=cap>{html.escape(it.caption)}</p>" if it.caption else ""
        parts.append(f"<section>{title}{body}{cap}</section>")
    when = datetime.now(timezone.utc).strftime("%d %b %Y %H:%M UTC")
    src = f' · <a href="{html.escape(link)}">open this view in CX Loop</a>' if link else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(view.title)} · CX Loop</title>
<script type="text/javascript">{get_plotlyjs()}</script>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1f2430; }}
h1 {{ margin-bottom: .2rem; }} .sub, .cap {{ color: #5b6272; }} section {{ margin: 1.5rem 0; }}
table {{ border-collapse: collapse; font-size: .85rem; }} th, td {{ border: 1px solid #dde; padding: 3px 8px; }}
th {{ background: #f3f4f8; text-align: left; }}
</style></head><body>
<h1>{html.escape(view.title)}</h1>
<p class=sub>{html.escape(view.subtitle)}</p>
<p class=sub>CX Loop report, {when}{src}</p>
{''.join(parts)}
</body></html>"""
