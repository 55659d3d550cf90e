"""The hot path's copies of a constructor stay the constructor: an order built by the plant's
fast path has every slot ``Order.__init__`` gives it, with the same values."""

from __future__ import annotations

from shocktwin.twin.model.part import Order, new_order


def test_new_order_sets_what_the_constructor_sets() -> None:
    route = object()
    slow = Order(7, 1.5, 25.5, 3, route)
    fast = new_order(7, 1.5, 25.5, 3, route)
    assert type(fast) is Order
    for slot in Order.__slots__:
        assert hasattr(slow, slot), slot  # a slot the constructor sets, so the copy must too
        assert getattr(fast, slot) == getattr(slow, slot), slot
