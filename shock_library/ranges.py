"""Default severity ranges per shock type: what a campaign tests when a suite asks for "every
shock in the library that applies to this plant" (``shocks: all``), and what
``shocktwin shocks show`` prints under "campaign default".

Each range is on the type's own severity axis (hours for time axes, the magnitude itself
otherwise), wide enough to bracket what the plant can take and narrow enough that a search
settles in a few bisection steps: the resolution is 1/16 of the range. A type whose severity
is a magnitude lasts ``duration`` at full strength. A few types are left out of the sweep,
each with its reason (a regulation needs the rule set it brings; an expedited order is a
response, not a disruption).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["LIBRARY_RANGES", "NOT_IN_SWEEP", "RESOLUTION_STEPS", "SeverityRange",
           "default_range"]

#: A default range's resolution is its width divided by this.
RESOLUTION_STEPS = 16


@dataclass(frozen=True)
class SeverityRange:
    """A shock type's default search range and the parameters it is built with.

    ``low`` and ``high`` are written as in a scenario's mtd block: durations with their unit
    (``"1h"``, ``"30d"``) for time axes, numbers for magnitudes. ``duration`` is how long a
    magnitude shock lasts (a time axis is itself the duration). ``parameters`` are the other
    required fields, at a middle value.
    """

    low: float | str
    high: float | str
    duration: str = "7d"
    parameters: dict[str, Any] = field(default_factory=dict)

    def text(self, axis: str) -> str:
        """``duration 1h … 30d`` or ``cut 0.05 … 1 (lasting 14d)``."""
        span = f"{axis} {self.low} … {self.high}"
        if isinstance(self.low, str):
            return span
        return f"{span} (lasting {self.duration})"


LIBRARY_RANGES: dict[str, SeverityRange] = {
    "supplier_outage": SeverityRange("1h", "30d"),
    "partial_capacity_cut": SeverityRange(0.05, 1.0, "14d", {"cut": 0.5}),
    "quality_drift": SeverityRange(1.05, 50.0, "14d", {"factor": 5.0}),
    "lead_time_inflation": SeverityRange(1.1, 10.0, "14d", {"factor": 2.0}),
    "toolchain_switch": SeverityRange("1h", "14d"),
    "staff_shortage": SeverityRange(0.05, 1.0, "7d", {"absent": 0.3}),
    "breakdown_burst": SeverityRange(1.5, 50.0, "7d", {"factor": 5.0}),
    "power_outage": SeverityRange("1h", "7d"),
    "demand_surge": SeverityRange(1.05, 5.0, "14d", {"factor": 1.5}),
    "contaminated_batch": SeverityRange(0.001, 0.5, "14d", {"defective_share": 0.05}),
    "border_closure": SeverityRange("1h", "30d"),
    "site_disaster": SeverityRange("1h", "60d"),
    "heat_wave": SeverityRange(0.001, 0.2, "14d", {"added_defect_rate": 0.02}),
    "flood_logistics": SeverityRange("1h", "30d"),
    "ai_model_drift": SeverityRange(0.01, 1.0, "14d", {"detection_loss": 0.3}),
    "supplier_insolvency": SeverityRange("1h", "60d"),
    "allocation_cut": SeverityRange(0.05, 1.0, "14d", {"cut": 0.5}),
    "export_control": SeverityRange("1h", "60d"),
    "tariff_shock": SeverityRange(0.05, 2.0, "30d", {"tariff": 0.25}),
    "mes_outage": SeverityRange("1h", "7d"),
    "cyber_incident": SeverityRange("1h", "7d"),
    "customer_recall": SeverityRange("1d", "60d", "2d", {"lookback": "14d"}),
    "regional_earthquake": SeverityRange("1h", "60d"),
    "typhoon": SeverityRange("1h", "14d"),
    "port_closure": SeverityRange("1h", "30d"),
    "embargo": SeverityRange("1h", "90d"),
    "price_spike": SeverityRange(0.05, 3.0, "30d"),
    "pandemic": SeverityRange(0.05, 0.8, "30d"),
    "tool_vendor_cutoff": SeverityRange("1h", "30d"),
}

#: Types a library sweep leaves out, and why (the suite may still list them by id).
NOT_IN_SWEEP: dict[str, str] = {
    "regulation_change": "a regulation needs the rule set it makes mandatory; write the "
                         "shock into the scenario and list it in the suite",
    "expedited_order": "an emergency purchase is a response, not a disruption",
}


def default_range(shock_type: str) -> SeverityRange | None:
    """The default range of ``shock_type``; None for a type left out of the sweep or one
    without a default (a plug-in's), which a sweep then skips and says so."""
    return LIBRARY_RANGES.get(shock_type)
