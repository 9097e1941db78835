"""Charts as PNG images, drawn with matplotlib's Agg backend (no display, no pyplot state).

A chart is described by a plain JSON spec (so it can wait in the outbox and be drawn when it is
delivered) and drawn in a worker thread: drawing is CPU-bound and synchronous. Sizes are bounded
(at most 4 panels of 1000 × 260 px, 2,000 points per line, 8 named bar series plus "others").
What was plotted is written into the PNG itself (a ``Description`` text chunk holding the series as
JSON), so whoever receives the file, a test included, can check the picture against the numbers.

Spec shapes::

    {"kind": "lines", "title": str, "panels": [{"title": str, "unit": str,
        "series": [{"name": str, "x": [epoch seconds], "y": [number]}]}]}
    {"kind": "bars", "title": str, "unit": str, "categories": [str],
        "series": [{"name": str, "values": [decimal string]}]}
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
from datetime import UTC, datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot; the bot never shows a window

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure

WIDTH_IN, PANEL_IN, DPI = 10.0, 2.6, 100
MAX_PANELS, MAX_POINTS, MAX_BAR_SERIES = 4, 2000, 8
#: A legend entry or title longer than this is cut with "…": a 64-character server label (or the
#: ~200 characters a panel label can hold) would leave the plot itself no room at all.
MAX_NAME, MAX_TITLE = 40, 120
METADATA_KEY = "Description"
_DRAWING = threading.Lock()  # matplotlib's font and text caches are not documented as thread-safe


def _clip(text: Any, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _named(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**s, "name": _clip(s.get("name", ""), MAX_NAME)} for s in series]


def bounded(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec cut to the size limits (what will really be drawn and recorded)."""
    spec = {**spec, "title": _clip(spec.get("title", ""), MAX_TITLE)}
    if spec.get("kind") == "lines":
        panels = []
        for panel in spec.get("panels", [])[:MAX_PANELS]:
            series = [{**s, "x": list(s["x"])[-MAX_POINTS:], "y": list(s["y"])[-MAX_POINTS:]}
                      for s in panel.get("series", [])]  # fmt: skip
            panels.append({**panel, "title": _clip(panel.get("title", ""), MAX_TITLE), "series": _named(series)})
        return {**spec, "panels": panels}
    if spec.get("kind") == "bars":
        series = list(spec.get("series", []))
        if len(series) > MAX_BAR_SERIES + 1:
            rest = series[MAX_BAR_SERIES:]
            merged = [str(sum(float(s["values"][i]) for s in rest)) for i in range(len(spec["categories"]))]
            series = [*series[:MAX_BAR_SERIES], {"name": f"{len(rest)} others", "values": merged}]
        return {**spec, "series": _named(series)}
    raise ValueError(f"unknown chart kind {spec.get('kind')!r}")


def draw(spec: dict[str, Any]) -> bytes:
    """The PNG for ``spec`` (synchronous; call ``draw_async`` from the event loop)."""
    chart = bounded(spec)
    with _DRAWING:
        figure = _lines(chart) if chart["kind"] == "lines" else _bars(chart)
        buffer = io.BytesIO()
        FigureCanvasAgg(figure)
        figure.savefig(buffer, format="png", dpi=DPI, metadata={METADATA_KEY: json.dumps(chart)})
    return buffer.getvalue()


async def draw_async(spec: dict[str, Any]) -> bytes:
    return await asyncio.to_thread(draw, spec)


def _lines(chart: dict[str, Any]) -> Figure:
    panels = chart["panels"] or [{"title": "no data", "unit": "", "series": []}]
    figure = Figure(figsize=(WIDTH_IN, PANEL_IN * len(panels)), layout="constrained")
    figure.suptitle(chart.get("title", ""))
    for axes, panel in zip(figure.subplots(len(panels), 1, squeeze=False)[:, 0], panels, strict=True):
        for series in panel["series"]:
            times = [datetime.fromtimestamp(float(t), tz=UTC) for t in series["x"]]
            axes.plot(times, [float(v) for v in series["y"]], label=series["name"], linewidth=1.2)
        axes.set_title(panel["title"], fontsize=10, loc="left")
        axes.set_ylabel(panel.get("unit", ""))
        axes.xaxis.set_major_formatter(DateFormatter("%H:%M", tz=UTC))
        axes.grid(alpha=0.3)
        if len(panel["series"]) > 1:
            axes.legend(fontsize=8, loc="upper left")
    return figure


def _bars(chart: dict[str, Any]) -> Figure:
    figure = Figure(figsize=(WIDTH_IN, PANEL_IN * 1.5), layout="constrained")
    axes = figure.subplots()
    categories = chart["categories"]
    bottom = [0.0] * len(categories)
    for series in chart["series"]:
        values = [float(v) for v in series["values"]]
        axes.bar(categories, values, bottom=bottom, label=series["name"])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_title(chart.get("title", ""), fontsize=11, loc="left")
    axes.set_ylabel(chart.get("unit", ""))
    axes.tick_params(axis="x", labelrotation=60, labelsize=7)
    axes.grid(axis="y", alpha=0.3)
    if chart["series"]:
        axes.legend(fontsize=8, loc="upper left")
    return figure
