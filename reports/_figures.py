"""Plotly figures of the management-review report, and the only module that builds them.

plotly renders text (titles, labels, category names, hover text) as a subset of HTML, so
every string that may come from a user file goes through :func:`text` before it reaches a
figure. Figures use SVG traces only (no WebGL), so they render in a browser without a GPU
and print sharply.
"""

from __future__ import annotations

import html
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from shocktwin.interval import t_band
from shocktwin.kpis import SHARE_KPIS, base_kpi, kpi_label
from shocktwin.twin.journal.document import MtdStatus

__all__ = ["PALETTE", "ShockWindow", "distribution_figure", "figure_html", "mtd_figure",
           "pareto_figure", "plan_figure", "resilience_figure", "text"]

#: Colour-blind safe (Okabe–Ito), in the order shocks and runs are drawn.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000")
_TEMPLATE = "plotly_white"
#: Interactive chrome off: no plotly logo link, no cloud button; the print CSS hides the rest.
_CONFIG = {"displaylogo": False, "showSendToCloud": False,
           "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


def text(value: object) -> str:
    """A user-supplied string made safe for plotly's HTML-like text rendering."""
    return html.escape(str(value), quote=True)


def figure_html(fig: go.Figure, div_id: str) -> str:
    """The figure as an HTML fragment without plotly.js (the page embeds it once).

    A fixed ``div_id`` keeps the output deterministic (plotly's default is a random UUID).
    """
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id,
                       config=_CONFIG, validate=True)


@dataclass(frozen=True)
class ShockWindow:
    """When a shock was in force, over all replications (hours from the run's start)."""

    shock: str
    start_h: float
    end_h: float
    varies: bool  # the window differs between replications; the envelope is shaded


def resilience_figure(series: Mapping[str, np.ndarray], kpis: Sequence[str], *,
                      windows: Sequence[ShockWindow], warmup_h: float,
                      tolerances: Mapping[str, tuple[float | None, float | None]],
                      spans: Sequence[tuple[str, float, float]] = (),
                      shares: Collection[str] = ()) -> go.Figure | None:
    """KPI series over time: the mean over replications with its 95 % band, each shock's
    window shaded, the warm-up greyed and the tolerances drawn as dotted lines.

    ``spans`` are further shaded windows (label, start, end in hours; the label is escaped
    here); ``shares`` names series besides the share KPIs that are shares (0 to 1)."""
    reps = np.asarray(series["replication"], dtype=np.int64)
    buckets = np.asarray(series["bucket"], dtype=np.int64)
    ids = np.unique(reps)
    n_buckets = int(buckets.max()) + 1 if buckets.size else 0
    kpis = [k for k in kpis if k in series and np.isfinite(
        np.asarray(series[k], dtype=float)).any()]
    if not kpis or n_buckets == 0:
        return None
    row_of = np.searchsorted(ids, reps)
    t0 = np.full(n_buckets, np.nan)
    t1 = np.full(n_buckets, np.nan)
    t0[buckets] = np.asarray(series["t_start_h"], dtype=float)
    t1[buckets] = np.asarray(series["t_end_h"], dtype=float)
    horizon_h = float(np.nanmax(t1))
    scale, unit = (24.0, "days") if horizon_h >= 72 else (1.0, "hours")
    x = (t0 + t1) / 2 / scale
    fig = make_subplots(rows=len(kpis), cols=1, shared_xaxes=True, vertical_spacing=0.05,
                        subplot_titles=[text(kpi_label(k)) for k in kpis])
    for row, kpi in enumerate(kpis, start=1):
        matrix = np.full((ids.size, n_buckets), np.nan)
        matrix[row_of, buckets] = np.asarray(series[kpi], dtype=float)
        mean, low, high = t_band(matrix)
        # Every KPI is >= 0 and shares are <= 1: the t-band is shown within that range.
        low = np.maximum(low, 0.0)
        share = base_kpi(kpi) in SHARE_KPIS or kpi in shares
        if share:
            high = np.minimum(high, 1.0)
        band = np.isfinite(low) & np.isfinite(high)
        if band.any():
            fig.add_trace(go.Scatter(x=x[band], y=high[band], mode="lines", line={"width": 0},
                                     hoverinfo="skip", showlegend=False), row=row, col=1)
            fig.add_trace(go.Scatter(
                x=x[band], y=low[band], mode="lines", line={"width": 0}, fill="tonexty",
                fillcolor="rgba(0,114,178,0.18)", name="95 % CI", hoverinfo="skip",
                showlegend=row == 1, legendgroup="ci"), row=row, col=1)
        fig.add_trace(go.Scatter(
            x=x, y=mean, mode="lines", line={"color": PALETTE[0], "width": 1.6},
            name=f"mean of {ids.size} replications", legendgroup="mean", showlegend=row == 1,
            hovertemplate=f"{unit[:-1]} %{{x:.1f}}: %{{y:.4g}}<extra></extra>"),
            row=row, col=1)
        lo, hi = tolerances.get(kpi, (None, None))
        for bound, word in ((lo, "min"), (hi, "max")):
            if bound is not None:
                fig.add_hline(y=bound, row=row, col=1, line={"dash": "dot", "color": "#B00020",
                                                             "width": 1},
                              annotation_text=f"tolerance {word}",
                              annotation_font={"size": 10, "color": "#B00020"},
                              annotation_position="top left")
        if share:
            fig.update_yaxes(tickformat=".0%", row=row, col=1)
    shaded = [("warm-up (not measured)", 0.0, warmup_h, "#888888")] if warmup_h > 0 else []
    for i, w in enumerate(windows):
        end = max(w.end_h, w.start_h + horizon_h / 500)  # an instant still shows
        label = f"shock {text(w.shock)}" + (" (envelope over replications)" if w.varies
                                             else "")
        shaded.append((label, w.start_h, end, PALETTE[(i + 1) % len(PALETTE)]))
    for j, (label, start, end) in enumerate(spans):
        end = max(end, start + horizon_h / 500)
        shaded.append((text(label), start, end,
                       PALETTE[(len(windows) + j + 1) % len(PALETTE)]))
    for label, start, end, colour in shaded:
        fig.add_vrect(x0=start / scale, x1=end / scale, row="all", col=1, fillcolor=colour,
                      opacity=0.16, line_width=0, layer="below")
        # A legend entry names the shaded window (a shape has none of its own).
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=label,
                                 marker={"symbol": "square", "size": 13, "color": colour,
                                         "opacity": 0.35}, hoverinfo="skip"), row=1, col=1)
    fig.update_xaxes(title_text=f"time ({unit})", row=len(kpis), col=1)
    fig.update_layout(template=_TEMPLATE, height=170 + 210 * len(kpis),
                      margin={"l": 70, "r": 20, "t": 70, "b": 50},
                      legend={"orientation": "h", "y": -0.06 if len(kpis) > 2 else -0.15},
                      hovermode="x unified")
    return fig


def _axis_scale(unit: str, high: float) -> tuple[float, str]:
    if unit == "h":
        return (24.0, "days") if high >= 72 else (1.0, "hours")
    return 1.0, ""


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


#: What an MTD outside the searched range means, in words (mtd.json writes the tokens).
RANGE_WORDS = {
    "below_range": "below the searched range (the hypothesis fails at its lowest severity)",
    "above_range": "above the searched range (the hypothesis holds at its highest severity)",
}


def mtd_figure(shocks: Sequence[Mapping[str, object]]) -> go.Figure | None:
    """Each shock's MTD as a bar with its 95 % interval, the target as a marker and each
    replication's tolerable severity as a dot; one row per shock (axes differ)."""
    if not shocks:
        return None
    fig = make_subplots(rows=len(shocks), cols=1, vertical_spacing=0.42 / len(shocks) if
                        len(shocks) > 1 else 0.1)
    for row, s in enumerate(shocks, start=1):
        unit = str(s.get("unit") or "")
        low_high = [_number(v) for v in _list(s.get("range"))]
        high = max((v for v in low_high if v is not None), default=1.0)
        scale, unit_word = _axis_scale(unit, high)
        name = text(s.get("shock", "?"))
        mtd = _number(s.get("mtd"))
        ci = _list(s.get("ci95"))
        ci_low = _number(ci[0]) if ci else None
        ci_high = _number(ci[1]) if len(ci) > 1 else None
        if mtd is not None:
            minus = (mtd - ci_low) / scale if ci_low is not None else 0.0
            plus = (ci_high - mtd) / scale if ci_high is not None else 0.0
            fig.add_trace(go.Bar(
                x=[mtd / scale], y=[name], orientation="h", width=0.5,
                marker={"color": "rgba(0,114,178,0.45)", "line": {"color": PALETTE[0],
                                                                  "width": 1.5}},
                name="MTD (95 % CI)", showlegend=row == 1, legendgroup="mtd",
                error_x={"type": "data", "array": [plus], "arrayminus": [minus],
                         "color": "#333333", "thickness": 1.5, "width": 8},
                hovertemplate=f"MTD %{{x:.4g}} {unit_word}<extra>{name}</extra>"),
                row=row, col=1)
        else:
            status = (RANGE_WORDS.get(str(s.get("mtd")), str(s.get("mtd")))
                      if s.get("status") != MtdStatus.NOT_CONVERGED else "not converged")
            fig.add_annotation(x=0.5, xref="x domain" if row == 1 else f"x{row} domain",
                               y=0.5, yref="y domain" if row == 1 else f"y{row} domain",
                               text=text(f"{s.get('shock', '?')}: MTD {status}"),
                               showarrow=False)
        tolerable = [_number(t.get("tolerable")) for t in _list(s.get("thresholds"))
                     if isinstance(t, Mapping)]
        dots = [v / scale for v in tolerable if v is not None]
        if dots:
            fig.add_trace(go.Scatter(
                x=dots, y=[name] * len(dots), mode="markers",
                marker={"color": "rgba(30,30,30,0.55)", "size": 6, "symbol": "circle"},
                name="tolerable severity per replication", showlegend=row == 1,
                legendgroup="reps", hovertemplate="%{x:.4g}<extra>replication</extra>"),
                row=row, col=1)
        target = _number(s.get("target"))
        if target is not None:
            meets = s.get("meets_target")
            fig.add_trace(go.Scatter(
                x=[target / scale], y=[name], mode="markers",
                marker={"symbol": "diamond-tall", "size": 18,
                        "color": "#009E73" if meets else "#B00020",
                        "line": {"color": "#000000", "width": 1}},
                name="target", showlegend=row == 1, legendgroup="target",
                hovertemplate=f"target %{{x:.4g}} {unit_word}<extra>{name}</extra>"),
                row=row, col=1)
        axis = text(s.get("axis", "severity"))
        fig.update_xaxes(title_text=f"{axis} ({unit_word})" if unit_word else axis,
                         row=row, col=1, rangemode="tozero")
    fig.update_layout(template=_TEMPLATE, height=120 + 120 * len(shocks),
                      margin={"l": 140, "r": 30, "t": 30, "b": 50},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"})
    return fig


def distribution_figure(runs: Sequence[tuple[str, Mapping[str, np.ndarray]]],
                        kpis: Sequence[str]) -> go.Figure | None:
    """Each KPI's values over replications as box plots (one box per run), all points."""
    kpis = [k for k in kpis if any(k in values and np.isfinite(values[k]).any()
                                   for _, values in runs)]
    if not kpis:
        return None
    cols = 3
    rows = math.ceil(len(kpis) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[text(kpi_label(k)) for k in kpis],
                        vertical_spacing=0.5 / rows, horizontal_spacing=0.08)
    for i, kpi in enumerate(kpis):
        row, col = i // cols + 1, i % cols + 1
        for j, (label, values) in enumerate(runs):
            if kpi not in values:
                continue
            v = np.asarray(values[kpi], dtype=float)
            v = v[np.isfinite(v)]
            fig.add_trace(go.Box(
                y=v, name=text(label), boxpoints="all", jitter=0.4, pointpos=0,
                marker={"color": PALETTE[j % len(PALETTE)], "size": 5},
                line={"width": 1.2}, showlegend=False,
                hovertemplate="%{y:.4g}<extra>" + text(label) + "</extra>"), row=row, col=col)
        if base_kpi(kpi) in SHARE_KPIS:
            fig.update_yaxes(tickformat=".1%", row=row, col=col)
    fig.update_layout(template=_TEMPLATE, height=80 + 270 * rows,
                      margin={"l": 60, "r": 20, "t": 50, "b": 40})
    fig.update_xaxes(showticklabels=len(runs) > 1)
    return fig


def pareto_figure(points: Sequence[Mapping[str, float]], objectives: Sequence[str],
                  labels: Sequence[str], *, titles: Sequence[str] | None = None,
                  evaluated: Sequence[Mapping[str, float]] = ()) -> go.Figure | None:
    """The Pareto front: one scatter per pair of objectives (of the first four), the front
    joined in order, the dominated points evaluated on the way in grey."""
    titles = list(titles or objectives)[:4]
    objectives = list(objectives)[:4]
    if len(objectives) < 2 or not points:
        return None
    pairs = [(i, j) for i in range(len(objectives)) for j in range(i + 1, len(objectives))]
    cols = min(len(pairs), 3)
    rows = math.ceil(len(pairs) / cols)
    fig = make_subplots(rows=rows, cols=cols, horizontal_spacing=0.1,
                        vertical_spacing=0.45 / rows)
    hover = [text(label) for label in labels]
    for n, (i, j) in enumerate(pairs):
        a, b = objectives[i], objectives[j]
        row, col = n // cols + 1, n % cols + 1
        if evaluated:
            fig.add_trace(go.Scatter(
                x=[p.get(a, math.nan) for p in evaluated],
                y=[p.get(b, math.nan) for p in evaluated], mode="markers",
                marker={"color": "rgba(120,120,120,0.35)", "size": 6}, name="evaluated",
                showlegend=n == 0, hoverinfo="skip"), row=row, col=col)
        xs = [p.get(a, math.nan) for p in points]
        ys = [p.get(b, math.nan) for p in points]
        order = np.argsort(np.asarray(xs, dtype=float), kind="stable")
        fig.add_trace(go.Scatter(
            x=[xs[k] for k in order], y=[ys[k] for k in order], mode="markers+lines",
            line={"color": "rgba(0,114,178,0.35)", "dash": "dot"}, name="Pareto front",
            marker={"color": PALETTE[0], "size": 9, "line": {"color": "#ffffff", "width": 1}},
            text=[hover[k] for k in order], showlegend=n == 0,
            hovertemplate="%{text}<br>" + text(a) + " %{x:.4g}<br>" + text(b)
                          + " %{y:.4g}<extra></extra>"), row=row, col=col)
        fig.update_xaxes(title_text=text(titles[i]), row=row, col=col)
        fig.update_yaxes(title_text=text(titles[j]), row=row, col=col)
    fig.update_layout(template=_TEMPLATE, height=80 + 380 * rows,
                      margin={"l": 70, "r": 20, "t": 40, "b": 60},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"})
    return fig


def plan_figure(categories: Sequence[str], before: Sequence[float],
                after: Sequence[float], title: str) -> go.Figure | None:
    """Lots inspected per replication under each plan, before and after a rule change."""
    if not categories:
        return None
    names = [text(c) for c in categories]
    fig = go.Figure([
        go.Bar(x=names, y=list(before), name="before the change", marker_color=PALETTE[0],
               hovertemplate="%{y:.3g} lots<extra>before</extra>"),
        go.Bar(x=names, y=list(after), name="after the change", marker_color=PALETTE[1],
               hovertemplate="%{y:.3g} lots<extra>after</extra>"),
    ])
    fig.update_layout(template=_TEMPLATE, barmode="group", height=340, title=text(title),
                      yaxis_title="lots per replication", xaxis_title="sampling plan",
                      margin={"l": 60, "r": 20, "t": 50, "b": 60},
                      legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1,
                              "xanchor": "right"})
    return fig
