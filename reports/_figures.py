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
from shocktwin.kpis import SHARE_KPIS, TIME_KPIS, base_kpi
from shocktwin.reports._i18n import kpi_name, num, t, unit, word
from shocktwin.twin.journal.document import MtdStatus

__all__ = ["PALETTE", "RANGE_SHORT", "RANGE_WORDS", "STATE_COLOURS", "ShockWindow",
           "distribution_figure", "figure_html", "heatmap_figure", "mtd_figure",
           "pareto_figure", "plan_figure", "resilience_figure", "text", "trend_figure"]

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


def kpi_label(name: str) -> str:
    """A KPI's name with its unit where it is not obvious, in the language being written."""
    base = base_kpi(name)
    label = kpi_name(name)
    if base in TIME_KPIS:
        return f"{label} ({unit('h')})"
    if base in SHARE_KPIS:
        return f"{label} ({t('share')})"
    return label


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
                fillcolor="rgba(0,114,178,0.18)", name=t("95 % interval"), hoverinfo="skip",
                showlegend=row == 1, legendgroup="ci"), row=row, col=1)
        fig.add_trace(go.Scatter(
            x=x, y=mean, mode="lines", line={"color": PALETTE[0], "width": 1.6},
            name=t("mean of {n} replications", n=num(ids.size)), legendgroup="mean",
            showlegend=row == 1,
            hovertemplate=f"{t(unit)} %{{x:.1f}}: %{{y:.4g}}<extra></extra>"),
            row=row, col=1)
        lo, hi = tolerances.get(kpi, (None, None))
        for bound, side in ((lo, "min"), (hi, "max")):
            if bound is not None:
                fig.add_hline(y=bound, row=row, col=1, line={"dash": "dot", "color": "#B00020",
                                                             "width": 1},
                              annotation_text=t(f"tolerance {side}"),
                              annotation_font={"size": 10, "color": "#B00020"},
                              annotation_position="top left")
        if share:
            fig.update_yaxes(tickformat=".0%", row=row, col=1)
    shaded = ([(t("warm-up (not measured)"), 0.0, warmup_h, "#888888")] if warmup_h > 0
              else [])
    for i, w in enumerate(windows):
        end = max(w.end_h, w.start_h + horizon_h / 500)  # an instant still shows
        label = t("shock {name}", name=text(w.shock)) + (
            " " + t("(envelope over replications)") if w.varies else "")
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
    fig.update_xaxes(title_text=t("time ({unit})", unit=t(unit)), row=len(kpis), col=1)
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
RANGE_SHORT = {"below_range": "below the searched range",
               "above_range": "above the searched range"}
#: A state's colour in charts (as the badges: green, red, amber, grey).
STATE_COLOURS = {"ok": "#0a7d4f", "bad": "#b00020", "warn": "#c77c00", "na": "#8a939e"}


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
                name=t("MTD (95 % interval)"), showlegend=row == 1, legendgroup="mtd",
                error_x={"type": "data", "array": [plus], "arrayminus": [minus],
                         "color": "#333333", "thickness": 1.5, "width": 8},
                hovertemplate=f"MTD %{{x:.4g}} {t(unit_word)}<extra>{name}</extra>"),
                row=row, col=1)
        else:
            status = (t(RANGE_WORDS.get(str(s.get("mtd")), str(s.get("mtd"))))
                      if s.get("status") != MtdStatus.NOT_CONVERGED else t("not converged"))
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
                name=t("tolerable severity per replication"), showlegend=row == 1,
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
                name=t("target"), showlegend=row == 1, legendgroup="target",
                hovertemplate=f"{t('target')} %{{x:.4g}} {t(unit_word)}<extra>{name}</extra>"),
                row=row, col=1)
        axis = text(word(str(s.get("axis", "severity"))))
        fig.update_xaxes(title_text=f"{axis} ({t(unit_word)})" if unit_word else axis,
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
                marker={"color": "rgba(120,120,120,0.35)", "size": 6}, name=t("evaluated"),
                showlegend=n == 0, hoverinfo="skip"), row=row, col=col)
        xs = [p.get(a, math.nan) for p in points]
        ys = [p.get(b, math.nan) for p in points]
        order = np.argsort(np.asarray(xs, dtype=float), kind="stable")
        fig.add_trace(go.Scatter(
            x=[xs[k] for k in order], y=[ys[k] for k in order], mode="markers+lines",
            line={"color": "rgba(0,114,178,0.35)", "dash": "dot"}, name=t("Pareto front"),
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
        go.Bar(x=names, y=list(before), name=t("before the change"), marker_color=PALETTE[0],
               hovertemplate="%{y:.3g}<extra>" + t("before the change") + "</extra>"),
        go.Bar(x=names, y=list(after), name=t("after the change"), marker_color=PALETTE[1],
               hovertemplate="%{y:.3g}<extra>" + t("after the change") + "</extra>"),
    ])
    fig.update_layout(template=_TEMPLATE, barmode="group", height=340, title=text(title),
                      yaxis_title=t("lots per replication"), xaxis_title=t("sampling plan"),
                      margin={"l": 60, "r": 20, "t": 50, "b": 60},
                      legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1,
                              "xanchor": "right"})
    return fig


def heatmap_figure(rows: Sequence[str], cols: Sequence[str],
                   cells: Mapping[tuple[str, str], tuple[str, str]]) -> go.Figure | None:
    """Shock (rows) × scenario (columns): each cell coloured by its state class (ok, bad,
    warn, na) and labelled with its text; an empty cell is a shock the scenario does not
    test. Labels are escaped here."""
    if not rows or not cols or not cells:
        return None
    classes = ("ok", "warn", "bad", "na")
    code = {c: i for i, c in enumerate(classes)}
    z: list[list[float | None]] = []
    labels: list[list[str]] = []
    for r in rows:
        z.append([code[cells[(r, c)][0]] if (r, c) in cells else None for c in cols])
        labels.append([text(cells[(r, c)][1]) if (r, c) in cells else "" for c in cols])
    n = len(classes)
    scale = []
    for i, c in enumerate(classes):
        scale += [[i / n, STATE_COLOURS[c]], [(i + 1) / n, STATE_COLOURS[c]]]
    fig = go.Figure(go.Heatmap(
        z=z, x=[text(c) for c in cols], y=[text(r) for r in rows], zmin=-0.5,
        zmax=n - 0.5, colorscale=scale, showscale=False, xgap=3, ygap=3, text=labels,
        texttemplate="%{text}", textfont={"color": "#ffffff", "size": 12},
        hovertemplate="%{y} · %{x}<br>%{text}<extra></extra>"))
    fig.update_layout(template=_TEMPLATE, height=max(160, 70 + 46 * len(rows)),
                      margin={"l": 160, "r": 20, "t": 30, "b": 30},
                      xaxis={"side": "top", "showgrid": False},
                      yaxis={"autorange": "reversed", "showgrid": False})
    return fig


def trend_figure(series: Mapping[str, Sequence[tuple[str, float | None, float | None,
                                                     float | None]]],
                 reviews: Sequence[str], *, title: str, percent: bool = False,
                 targets: Mapping[str, float] | None = None) -> go.Figure | None:
    """One line per key over the reviews (label, value, low, high), with its interval as
    error bars and its target as a dotted line of the same colour."""
    keys = [k for k, points in series.items() if any(v is not None for _, v, _, _ in points)]
    if not keys or not reviews:
        return None
    fig = go.Figure()
    for i, key in enumerate(keys):
        colour = PALETTE[i % len(PALETTE)]
        points = {label: (v, lo, hi) for label, v, lo, hi in series[key]}
        ys = [points.get(r, (None, None, None))[0] for r in reviews]
        plus = [(hi - v) if v is not None and hi is not None else 0.0
                for v, _, hi in (points.get(r, (None, None, None)) for r in reviews)]
        minus = [(v - lo) if v is not None and lo is not None else 0.0
                 for v, lo, _ in (points.get(r, (None, None, None)) for r in reviews)]
        fig.add_trace(go.Scatter(
            x=[text(r) for r in reviews], y=ys, mode="lines+markers", name=text(key),
            line={"color": colour, "width": 2}, marker={"size": 8},
            error_y={"type": "data", "array": plus, "arrayminus": minus, "thickness": 1.2,
                     "width": 6, "color": colour},
            connectgaps=False,
            hovertemplate="%{x}: %{y:" + (".1%" if percent else ".4g") + "}<extra>"
                          + text(key) + "</extra>"))
        target = (targets or {}).get(key)
        if target is not None:
            fig.add_trace(go.Scatter(
                x=[text(r) for r in reviews], y=[target] * len(reviews), mode="lines",
                line={"color": colour, "dash": "dot", "width": 1}, showlegend=False,
                hoverinfo="skip"))
    fig.update_layout(template=_TEMPLATE, height=320, title=text(title),
                      margin={"l": 70, "r": 20, "t": 50, "b": 40},
                      legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(type="category", title_text=t("review"))
    if percent:
        fig.update_yaxes(tickformat=".0%")
    return fig
