"""What a station serves: the ``Work`` protocol a unit, a delivered lot and a shop task share.

A station queues an item, holds it on a server for its work time and passes it on; the one
thing every station may touch on the item itself is its true quality state, which a process
step spoils (``Station.finish``) and unit inspection reads. Everything else a station reads
belongs to a particular item type and is narrowed to it where used: a lot's and a task's
own ``work_h``, a lot's ``done`` call-back.

``Work`` lives in its own module, below ``station`` and beside ``part``, so that the stations,
the plant's parts and lots and the shop's tasks can all name it without importing each other.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Work"]


class Work(Protocol):
    """An item a station serves (``Part``, ``LotJob``, the shop's ``Task``), by structure."""

    #: The truth, whatever inspection concludes: a process station sets it at its defect rate,
    #: an inspection station reads it to decide on a unit.
    defective: bool
