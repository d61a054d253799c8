"""What is on order from suppliers, and when a waiting line can expect its units."""

from __future__ import annotations

from ordercare.fulfil.on_order import OnOrder

DAY = 86_400_000_000


def book() -> OnOrder:
    b = OnOrder()
    b.placed("PO-1", "FC", [("LAMP", 3), ("MUG", 10)], {"LAMP": 2 * DAY, "MUG": 2 * DAY})
    b.placed("PO-2", "FC", [("LAMP", 4)], {"LAMP": 5 * DAY})
    return b


def test_the_queue_is_served_by_the_purchase_orders_in_date_order():
    b = book()
    assert b.expected("LAMP", 3, 0, 9 * DAY) == 2 * DAY, "three waiting: the first order brings them"
    assert b.expected("LAMP", 4, 0, 9 * DAY) == 5 * DAY, "the fourth waits for the second"
    assert b.expected("LAMP", 8, 0, 9 * DAY) == 9 * DAY, "beyond what is on order: the lead time from now"
    assert b.expected("LAMP", 8, 0, None) is None, "and without a lead time, no date at all"
    assert b.expected("SOFA", 1, DAY, 9 * DAY) == 10 * DAY


def test_receipts_and_cancellations_take_units_off_order():
    b = book()
    b.received("PO-1", "LAMP", 2)
    assert b.expected("LAMP", 1, 0, 9 * DAY) == 2 * DAY and b.expected("LAMP", 2, 0, 9 * DAY) == 5 * DAY
    b.received(None, "LAMP", 50)  # a receipt naming no purchase order: nothing comes off
    assert b.cancelled("PO-2", [("LAMP", 3)]) == ["LAMP"], "the SKU that now comes in fewer units"
    assert b.expected("LAMP", 2, 0, 9 * DAY) == 5 * DAY and b.expected("LAMP", 3, 0, 9 * DAY) == 9 * DAY
    assert b.cancelled("PO-1", None) == ["LAMP", "MUG"], "all PO-1 still brought: a lamp and the mugs"
    assert b.expected("LAMP", 1, 0, 9 * DAY) == 5 * DAY and b.expected("MUG", 1, 0, 9 * DAY) == 9 * DAY


def test_a_purchase_order_past_its_date_gives_no_date():
    """Late, it may come any hour or never: not "around today" again and again."""
    b = book()
    assert b.expected("LAMP", 1, 3 * DAY, 9 * DAY) == 5 * DAY
    assert b.expected("LAMP", 1, 6 * DAY, 9 * DAY) == 15 * DAY


def test_the_book_survives_a_round_trip_through_the_store():
    b = book()
    b.received("PO-2", "LAMP", 1)
    again = OnOrder.loads(b.dumps())
    assert again.expected("LAMP", 6, 0, None) == 5 * DAY and again.expected("LAMP", 7, 0, None) is None


def test_a_new_date_from_the_supplier_moves_what_the_purchase_order_brings():
    b = book()
    assert b.revised("PO-1", 6 * DAY) == ["LAMP", "MUG"], "both its SKUs now come later"
    assert b.expected("LAMP", 3, 0, 9 * DAY) == 5 * DAY, "PO-2 is now the first to come"
    assert b.revised("PO-1", 4 * DAY) == [], "earlier: nobody's date is later"
    assert b.revised("PO-9", 4 * DAY) == [], "a purchase order we never heard of changes nothing"
