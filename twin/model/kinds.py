"""The kinds the model is built from: station kinds, the moments a cascaded shock follows
and the ways a shop replays its log.

The scenario format uses these same enums for its ``kind`` and ``mode`` fields, so the file,
the model and the rules that check a rule set against a plant speak one vocabulary.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CascadeOn", "ReplayMode", "StationKind"]


class StationKind(StrEnum):
    """What a station does with the work it serves."""

    PROCESS = "process"
    INSPECTION = "inspection"
    RELEASE = "release"


class CascadeOn(StrEnum):
    """What in another shock's course starts a cascaded shock."""

    STARTED = "started"  # the other shock begins
    ENDED = "ended"  # its full effect ends (recovery begins)
    STOCKOUT = "stockout"  # the first stock-out of any buffer after it began


class ReplayMode(StrEnum):
    """How a shop replays its MES log."""

    TRACE = "trace"  # the recorded cases, releases, work and waits exactly
    BOOTSTRAP = "bootstrap"  # recorded days of releases resampled per replication
    FIT = "fit"  # fitted distributions for arrivals, work and waits; recorded routings
