"""Cases, the actions taken on them, and the messages they send (CONTRACT §2–3)."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

REASONS = (
    "late_shipment", "no_carrier_scan", "stalled_in_transit", "late_delivery",
    "partial_delivery", "carrier_exception", "seller_cancellation", "missing_item",
    "damaged_or_defective", "not_as_described", "not_received", "wrong_address",
    "where_is_my_order", "refund_request", "cancel_request", "weight_mismatch",
    "seller_unresponsive", "other",
    # extensions beyond the contract's list (adding is allowed): an item we cannot supply,
    # and a seller's standing (warning, suspension, reinstatement); a parcel in transit that
    # will probably miss its deliver-by (the early warning, before the promise breaks)
    "out_of_stock", "seller_performance", "trending_late",
)
ACTION_TYPES = (
    "message_customer", "refund", "replace", "reship", "update_address", "intercept",
    "schedule_callback", "escalate", "guarantee_claim", "divert_for_inspection",
    "seller_warning", "seller_suspension",
)
# Problems with getting the parcel to the customer are one trouble seen by several
# detectors: they share one case per order, so the customer hears once, not five times.
DELIVERY_FAMILY = frozenset({
    "late_shipment", "no_carrier_scan", "stalled_in_transit", "late_delivery",
    "partial_delivery", "carrier_exception", "trending_late",
})

OUT_OF_STOCK = "out_of_stock"  # the warehouse's case: a line waits for stock (its message said so at once)


def restock_in_time(expected_us: int | None, ship_by_us: int) -> bool:
    """Stock expected a day or more before a line's ship-by: the line may still leave on time
    (a day to receive, pick and pack it; "around" a date is no closer than that)."""
    return expected_us is not None and expected_us + 86_400_000_000 <= ship_by_us

Origin = Literal["proactive", "customer", "warehouse", "seller"]
Status = Literal["open", "waiting", "resolved"]


def family_of(reason: str) -> str:
    return "delivery" if reason in DELIVERY_FAMILY else reason


class Action(Struct, omit_defaults=True):
    type: str
    at_us: int
    line_ids: list[str] | None = None
    shipment_ids: list[str] | None = None
    amount: float | None = None
    return_required: bool | None = None
    rule: str | None = None
    note: str | None = None  # what a person wrote down (a callback made)


# A case about no order of the customer's: its family, its callback rule, and the party kind
# under which a customer's such cases are kept (a second contact joins the open one).
ORDERLESS = "orderless"


class Case(Struct, omit_defaults=True):
    id: str
    order_id: str | None  # none: a contact about no order of the customer's (a person takes it)
    reason: str
    origin: str
    opened_us: int
    status: str = "open"
    family: str = ""
    reasons: list[str] = []
    line_ids: list[str] = []
    shipment_ids: list[str] = []
    first_customer_message_us: int | None = None  # our first message to the customer
    first_contact_us: int | None = None  # the customer's first contact with us
    resolved_us: int | None = None
    actions: list[Action] = []
    escalations: list[str] = []
    messages_sent: int = 0
    channel: str = "proactive"
    priority: str = "normal"
    first_response_due_us: int | None = None
    resolution_due_us: int | None = None
    paused_us: int = 0  # time spent waiting (carrier, customer): the resolution clock stops
    waiting_since_us: int | None = None
    survey_sent_us: int | None = None
    survey_skipped_us: int | None = None  # not asked: a survey about the same order went out just before
    csat: int | None = None
    csat_text: str | None = None
    choice: str | None = None  # the customer's self-service choice (wait, refund, replacement)
    contact_events: list[str] = []  # a case with no order: its contact.received events, for its dossier
    expected_us: int | None = None  # a stock-out: when we told the customer new stock is expected
    overdue_for_us: int | None = None  # ... the date we last said sorry for, once it had passed

    def set_status(self, status: str, now: int) -> None:
        """Every status change goes through here, so the service-level pause is exact."""
        if self.status == "waiting" and status != "waiting" and self.waiting_since_us is not None:
            self.paused_us += now - self.waiting_since_us
            self.waiting_since_us = None
        if status == "waiting" and self.status != "waiting":
            self.waiting_since_us = now
        self.status = status
        if status == "resolved":
            self.resolved_us = now
        else:
            self.resolved_us = None  # (reopened: not resolved any more)

    def add_action(self, action: Action) -> None:
        self.actions.append(action)

    def has_action(self, kind: str) -> bool:
        return any(action.type == kind for action in self.actions)

    def callback_pending(self) -> bool:
        """A callback booked and not made yet (made: a ``callback_done`` since the booking;
        called off: a ``callback_withdrawn``)."""
        return self.pending_callback() is not None

    def pending_callback(self) -> Action | None:
        """The booking of the callback pending on this case, if one is."""
        for action in reversed(self.actions):
            if action.type in ("callback_done", "callback_withdrawn"):
                return None
            if action.type == "schedule_callback":
                return action
        return None


class Message(Struct):
    id: str
    customer_id: str
    order_id: str | None
    case_id: str | None
    kind: str
    channel: str
    lang: str
    at_us: int
    tz_min: int
    text: str
    subject: str = ""
