"""The KPI vocabulary: each whole-run KPI's name, unit, direction and how it is shown.

One table, read by the scenario format (tolerances), the run output, the resilience
analysis (which way is worse), the report and the stress gate, so a KPI is added in one
place and shown alike everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["KPI_TABLE", "LOWER_IS_BETTER", "MAX_PRODUCTS_SHOWN", "PRODUCT_KPIS", "QUALITY_KPIS",
           "SHARE_KPIS", "TIME_KPIS", "Direction", "Kpi", "KpiInfo", "KpiUnit", "base_kpi",
           "format_kpi", "kpi_key", "kpi_label", "kpis_to_show", "product_of"]


class Kpi(StrEnum):
    """Whole-run KPIs, measured over [warm-up, horizon]."""

    THROUGHPUT = "throughput_per_h"
    OTD = "otd"
    RELEASE_LEAD_TIME_MEAN = "release_lead_time_mean"
    RELEASE_LEAD_TIME_P95 = "release_lead_time_p95"
    ORDER_LEAD_TIME_MEAN = "order_lead_time_mean"
    RELEASE_SLA_MET = "release_sla_met"
    ESCAPED_PPM = "escaped_ppm"
    INSPECTION_UTILISATION = "inspection_utilisation"
    WIP_MEAN = "wip_mean"
    SCRAP = "scrap"
    STOCKOUT_HOURS = "stockout_hours"
    COST_PER_UNIT = "cost_per_unit"
    # The quality system's (a plant with plant.quality only).
    TIME_TO_VALID_QUALITY_SYSTEM = "time_to_valid_quality_system"
    QUALITY_BACKLOG_PEAK = "quality_backlog_peak"
    QUALITY_BACKLOG_MEAN = "quality_backlog_mean"
    FALLBACK_RELEASE_SHARE = "fallback_release_share"
    RELEASE_TIME_P50 = "release_time_p50"
    RELEASE_TIME_P95 = "release_time_p95"


class KpiUnit(StrEnum):
    HOURS = "h"
    SHARE = "share"  # 0 to 1, shown as a percentage
    PER_HOUR = "per_h"
    PPM = "ppm"
    UNITS = "units"
    COST = "cost"


class Direction(StrEnum):
    """Which way a KPI moves when performance falls."""

    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"


@dataclass(frozen=True)
class KpiInfo:
    unit: KpiUnit
    direction: Direction
    description: str


_UP, _DOWN = Direction.HIGHER_IS_BETTER, Direction.LOWER_IS_BETTER

KPI_TABLE: dict[Kpi, KpiInfo] = {
    Kpi.THROUGHPUT: KpiInfo(KpiUnit.PER_HOUR, _UP, "units released per hour"),
    Kpi.OTD: KpiInfo(KpiUnit.SHARE, _UP, "share of orders delivered by their due date"),
    Kpi.RELEASE_LEAD_TIME_MEAN: KpiInfo(KpiUnit.HOURS, _DOWN, "mean quality-release lead time"),
    Kpi.RELEASE_LEAD_TIME_P95: KpiInfo(KpiUnit.HOURS, _DOWN, "95th percentile of the "
                                       "quality-release lead time"),
    Kpi.ORDER_LEAD_TIME_MEAN: KpiInfo(KpiUnit.HOURS, _DOWN, "mean order lead time"),
    Kpi.RELEASE_SLA_MET: KpiInfo(KpiUnit.SHARE, _UP, "share of releases within the SLA"),
    Kpi.ESCAPED_PPM: KpiInfo(KpiUnit.PPM, _DOWN, "defective units released per million"),
    Kpi.INSPECTION_UTILISATION: KpiInfo(KpiUnit.SHARE, _UP, "share of inspection capacity "
                                        "in use"),
    Kpi.WIP_MEAN: KpiInfo(KpiUnit.UNITS, _DOWN, "mean work in progress"),
    Kpi.SCRAP: KpiInfo(KpiUnit.UNITS, _DOWN, "units rejected at inspection"),
    Kpi.STOCKOUT_HOURS: KpiInfo(KpiUnit.HOURS, _DOWN, "hours with a buffer at zero stock, "
                                "summed over buffers"),
    Kpi.COST_PER_UNIT: KpiInfo(KpiUnit.COST, _DOWN, "delivery cost per unit released"),
    Kpi.TIME_TO_VALID_QUALITY_SYSTEM: KpiInfo(KpiUnit.HOURS, _DOWN, (
        "from the onset of the shock to every rule it invalidated regenerated and "
        "re-reviewed (the longest such stretch in the run; none: 0; not valid again by the "
        "horizon: not measured)")),
    Kpi.QUALITY_BACKLOG_PEAK: KpiInfo(KpiUnit.UNITS, _DOWN, "most quality-work tasks waiting "
                                      "or in work at once"),
    Kpi.QUALITY_BACKLOG_MEAN: KpiInfo(KpiUnit.UNITS, _DOWN, "mean quality-work tasks waiting "
                                      "or in work"),
    Kpi.FALLBACK_RELEASE_SHARE: KpiInfo(KpiUnit.SHARE, _DOWN, "share of units released while "
                                        "the plant ran under a rule set's fallback"),
    Kpi.RELEASE_TIME_P50: KpiInfo(KpiUnit.HOURS, _DOWN, "median release time per unit "
                                  "(arrival at quality release to release)"),
    Kpi.RELEASE_TIME_P95: KpiInfo(KpiUnit.HOURS, _DOWN, "95th percentile of the release "
                                  "time per unit (arrival at quality release to release)"),
}

#: KPIs of the quality system, measured only for a plant that declares one.
QUALITY_KPIS = frozenset({Kpi.TIME_TO_VALID_QUALITY_SYSTEM, Kpi.QUALITY_BACKLOG_PEAK,
                          Kpi.QUALITY_BACKLOG_MEAN, Kpi.FALLBACK_RELEASE_SHARE,
                          Kpi.RELEASE_TIME_P50, Kpi.RELEASE_TIME_P95})

#: KPIs measured in hours; their tolerances are written as durations.
TIME_KPIS = frozenset(k for k, i in KPI_TABLE.items() if i.unit is KpiUnit.HOURS)
#: KPIs that are shares (0 to 1).
SHARE_KPIS = frozenset(k for k, i in KPI_TABLE.items() if i.unit is KpiUnit.SHARE)
#: KPIs whose performance falls when their value rises.
LOWER_IS_BETTER = frozenset(k for k, i in KPI_TABLE.items() if i.direction is _DOWN)


#: KPIs also measured per product in a plant that makes several (``otd[valve_a]``).
PRODUCT_KPIS = (Kpi.THROUGHPUT, Kpi.OTD, Kpi.RELEASE_LEAD_TIME_MEAN, Kpi.RELEASE_LEAD_TIME_P95,
                Kpi.ORDER_LEAD_TIME_MEAN, Kpi.RELEASE_SLA_MET, Kpi.ESCAPED_PPM, Kpi.SCRAP)


def kpi_key(kpi: str, product: str | None = None) -> str:
    """The name a KPI is kept under: ``otd``, or ``otd[valve_a]`` for one product."""
    return kpi if product is None else f"{kpi}[{product}]"


def base_kpi(name: str) -> str:
    """The KPI of a name kept per product: ``otd[valve_a]`` -> ``otd``."""
    cut = name.find("[")
    return name if cut < 0 else name[:cut]


#: The most products whose KPIs are shown one by one (CLI, report); beyond it, only the
#: products a tolerance names.
MAX_PRODUCTS_SHOWN = 6


def product_of(name: str) -> str | None:
    """The product of a KPI kept per product (``otd[valve_a]`` -> ``valve_a``), else None."""
    cut = name.find("[")
    return name[cut + 1:-1] if cut >= 0 and name.endswith("]") else None


def kpis_to_show(names: Iterable[str], named: Collection[str]) -> tuple[list[str], int]:
    """The KPI names worth showing one by one, and how many products were left out: every
    product's KPIs for up to :data:`MAX_PRODUCTS_SHOWN` products, beyond that only those of
    the products in ``named`` (those a tolerance bounds)."""
    names = list(names)
    products = {p for p in map(product_of, names) if p is not None}
    shown = products if len(products) <= MAX_PRODUCTS_SHOWN else products & set(named)
    kept = [n for n in names if product_of(n) is None or product_of(n) in shown]
    return kept, len(products) - len(shown)


def kpi_label(name: str) -> str:
    """A KPI's name with its unit where it is not obvious: ``otd (share)``."""
    base = base_kpi(name)
    if base in TIME_KPIS:
        return f"{name} (h)"
    if base in SHARE_KPIS:
        return f"{name} (share)"
    return name


def format_kpi(name: str, value: float | None, sep: str = "") -> str:
    """A KPI value for people: durations with units (``sep`` between number and unit),
    shares as percentages."""
    if value is None or not math.isfinite(value):
        return "–"
    name = base_kpi(name)
    if name in TIME_KPIS:
        from shocktwin.units import format_hours

        return format_hours(value, sep)
    if name in SHARE_KPIS:
        return f"{value:.2%}"
    return f"{value:,.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
