"""Charts: pure functions, polars frame -> plotly Figure (no data access, no streamlit), one module
per area named as the area (journey, overview, lifecycle, teams, loyalty, segments, value, voc).
This package module holds only the shared style: the palette, the stage colours, the font, the
house layout every chart ends with (:func:`_layout`) and :func:`defuse`."""
from __future__ import annotations

import json
import re

import plotly.graph_objects as go

STAGE_COLORS = {"discover": "#8ecae6", "consider": "#219ebc", "evaluate": "#ffb703", "purchase": "#fb8500",
                "use": "#2a9d8f", "(no stage)": "#b0b0b0"}
PALETTE = ["#219ebc", "#fb8500", "#2a9d8f", "#8338ec", "#e63946", "#ffb703", "#3a86ff", "#6a994e",
           "#b5838d", "#8d99ae"]
FONT = dict(family="Inter, Segoe UI, Helvetica, Arial, sans-serif", size=13)


# Plotly draws a subset of HTML in every text it shows (labels, ticks, legends, hover), and that
# subset includes <a href=...>: a link. Our charts never make one, so any "<a" in a figure came
# from the data (a touchpoint, a customer id ...) and is shown as text instead.
_LINK_TAG = re.compile(r"<(?=\s*/?\s*a\b)", re.IGNORECASE)


def _defused(v):
    """v with every "<a"/"</a" tag opener written as the text "&lt;a" (Plotly shows the entity as
    "<"); v itself (the same object) when nothing needed it."""
    if isinstance(v, str):
        return _LINK_TAG.sub("&lt;", v) if "<" in v and _LINK_TAG.search(v) else v
    if isinstance(v, dict):
        new = {k: _defused(x) for k, x in v.items()}
        return v if all(new[k] is v[k] for k in v) else new
    if isinstance(v, (list, tuple)):
        new = [_defused(x) for x in v]
        return v if all(a is b for a, b in zip(new, v)) else type(v)(new) if isinstance(v, list) else tuple(new)
    return v


def _has_link_tag(v) -> bool:
    """A fast look for a link tag anywhere in a property value (one JSON dump, one search)."""
    if isinstance(v, str):
        return "<" in v and _LINK_TAG.search(v) is not None
    if hasattr(v, "dtype") and v.dtype.kind in "biufcmM":  # a numeric numpy array: no text
        return False
    text = json.dumps(v, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    return "<" in text and _LINK_TAG.search(text) is not None


def defuse(fig: go.Figure) -> go.Figure:
    """No link from data in `fig` (see _LINK_TAG): each trace's and the layout's properties are
    looked at once, and only a property that carries a link tag is rewritten. Returns `fig`."""
    for tr in fig.data:
        props = tr.to_plotly_json() if any(_has_link_tag(v) for v in tr._props.values()) else {}
        fixed = {k: x for k, x in ((k, _defused(v)) for k, v in props.items()) if x is not props[k]}
        if fixed:
            tr.update(fixed)
    if _has_link_tag(fig.layout._props):
        lay = fig.layout.to_plotly_json()
        fig.update_layout({k: x for k, x in ((k, _defused(v)) for k, v in lay.items()) if x is not lay[k]},
                          overwrite=True)
    return fig


def labels_past_intervals(fig: go.Figure, y: list, value: list, low: list, high: list, text: list) -> go.Figure:
    """Bar labels of a horizontal bar chart with error bars, set past the interval's end (right of
    a positive bar, left of a negative one) so the whisker never runs through the text."""
    for trace in fig.data:  # the bars carry no legend entry once text traces sit beside them
        if not trace.name:
            trace.showlegend = False
    right = [v is None or v >= 0 for v in value]
    x = [(h if h is not None else v) if r else (lo if lo is not None else v)
         for v, lo, h, r in zip(value, low, high, right)]
    for side in (True, False):
        idx = [i for i, r in enumerate(right) if r == side and x[i] is not None]
        if idx:
            fig.add_trace(go.Scatter(
                y=[y[i] for i in idx], x=[x[i] for i in idx], text=[" " + text[i] + " " for i in idx], mode="text",
                textposition="middle right" if side else "middle left", cliponaxis=False, hoverinfo="skip",
                showlegend=False, textfont=dict(color="#31333f")))
    return fig


_OFFSETS = {  # textposition -> (dx, dy) of the label box's centre from the point, in px (y up), and its anchor
    "top center": (0, 1), "bottom center": (0, -1), "middle right": (1, 0), "middle left": (-1, 0),
    "top right": (1, 1), "bottom left": (-1, -1), "top left": (-1, 1), "bottom right": (1, -1)}


def place_labels(xs: list, ys: list, texts: list, x_range: tuple, y_range: tuple, width_px: float = 520,
                 height_px: float = 300, char_px: float = 8.0, line_px: float = 17, marker_px: float = 8) -> list[str]:
    """A textposition per point so that labels overlap neither each other nor the markers, where a
    free place exists (greedy, in the order given: put the points that matter most first). Boxes are
    estimated in pixels from the axis ranges and the plot's size (a small screen or a projector: the
    side-by-side story is about 520×300 px). Where no place is free, the one that overlaps least."""
    sx = width_px / max(x_range[1] - x_range[0], 1e-9)
    sy = height_px / max(y_range[1] - y_range[0], 1e-9)
    pts = [((x - x_range[0]) * sx, (y - y_range[0]) * sy) for x, y in zip(xs, ys)]
    placed: list[tuple[float, float, float, float]] = [(px - marker_px, py - marker_px, px + marker_px, py + marker_px)
                                                      for px, py in pts]

    def box(i, pos):
        px, py = pts[i]
        w, h = char_px * len(str(texts[i])), line_px
        dx, dy = _OFFSETS[pos]
        cx = px + dx * (marker_px + (w / 2 if dx else 0))
        cy = py + dy * (marker_px + h / 2)
        return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)

    def clash(b, own):  # the area this box shares with the markers and labels already placed
        return sum(max(0.0, min(b[2], o[2]) - max(b[0], o[0])) * max(0.0, min(b[3], o[3]) - max(b[1], o[1]))
                   for k, o in enumerate(placed) if k != own)

    out = []
    for i in range(len(pts)):
        choice = min(_OFFSETS, key=lambda pos: clash(box(i, pos), i))  # the first free place, else the least crowded
        placed.append(box(i, choice))
        out.append(choice)
    return out


def _layout(fig: go.Figure, title: str | None = None, height: int = 340) -> go.Figure:
    """The house style, and no link from data (:func:`defuse`). Every chart ends here.

    Readable at 1280×720 and in the HTML report: axes make room for their labels (automargin), the
    legend sits on the left under the title, clear of the toolbar Plotly shows at the top right."""
    legend = any(getattr(t, "showlegend", None) is not False for t in fig.data) and len(fig.data) > 1
    top = (50 if title else 20) + (28 if legend else 0)
    fig.update_layout(title=dict(text=title, x=0, xanchor="left", y=1, yanchor="top", yref="container", pad=dict(t=12))
                      if title else None, height=height,
                      margin=dict(l=10, r=10, t=top, b=10, autoexpand=True), font=FONT,
                      plot_bgcolor="white", paper_bgcolor="white", hoverlabel=dict(font_size=13),
                      legend=dict(orientation="h", yanchor="bottom", y=1.01, x=0, xanchor="left"))
    fig.update_xaxes(showgrid=False, linecolor="#ccc", automargin=True)
    fig.update_yaxes(gridcolor="#eee", zeroline=False, automargin=True)
    return defuse(fig)
