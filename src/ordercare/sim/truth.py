"""Ground truth: what really went wrong with each simulated order, kept aside from ordercare.

A problem has a *kind* (what the world did), a *family* (how ordercare files it: every
trouble getting the parcel home is one ``delivery`` case per order), the moment the world
broke its promise, its cause (a seller, a warehouse, a carrier, a product, the customer),
and when the customer would notice it on their own. Only the scorecard reads this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Problems whose every fact reaches the platform as events: ordercare is meant to catch them.
PLATFORM_KINDS = ("never_shipped", "late_shipment", "partial", "no_scan", "stalled",
                  "carrier_exception", "late_delivery", "seller_cancellation", "stockout")
# Problems only the customer can see (they are in the parcel, or in the customer's head).
CUSTOMER_KINDS = ("damaged", "not_as_described", "wrong_item", "wrong_address")

FAMILY = {
    "never_shipped": "delivery", "late_shipment": "delivery", "partial": "delivery",
    "no_scan": "delivery", "stalled": "delivery", "carrier_exception": "delivery",
    "late_delivery": "delivery", "seller_cancellation": "seller_cancellation", "stockout": "out_of_stock",
    "damaged": "damaged_or_defective", "not_as_described": "not_as_described",
    "wrong_item": "not_as_described", "wrong_address": "wrong_address",
}
# What each kind means, and the case reason ordercare is expected to open with.
DESCRIPTION = {
    "never_shipped": ("the seller or warehouse never ships a parcel", "late_shipment"),
    "late_shipment": ("the parcel leaves after its ship-by", "late_shipment"),
    "partial": ("one seller of a multi-seller order never ships", "late_shipment / partial_delivery"),
    "no_scan": ("handed over (or label printed) but no carrier scan", "no_carrier_scan"),
    "stalled": ("the parcel stops moving for days", "stalled_in_transit"),
    "carrier_exception": ("the carrier scans an exception or a return", "carrier_exception"),
    "late_delivery": ("shipped on time, delivered after the deliver-by", "late_delivery"),
    "seller_cancellation": ("the seller cancels lines (out of stock)", "seller_cancellation"),
    "stockout": ("a platform line finds no stock at its order (it waits for a receipt)", "out_of_stock"),
    "damaged": ("defective product (a printing with missing pages, breakage)", "damaged_or_defective"),
    "not_as_described": ("the product is not what the listing says", "not_as_described"),
    "wrong_item": ("the seller sends the wrong item", "not_as_described"),
    "wrong_address": ("the customer typed a wrong address", "wrong_address"),
}


@dataclass
class Problem:
    order_id: str
    customer_id: str
    kind: str
    broken_at: int                  # µs: when the world broke a promise (see ``broken_at`` rules)
    cause: tuple[str, str]          # ("seller" | "fc" | "carrier" | "sku" | "customer", id)
    line_ids: list[str]
    notice_at: int | None = None    # µs: when the customer notices on their own (None: never)
    settled_at: int | None = None   # µs: when the world itself ends it (the parcel arrives)
    amount: float = 0.0
    also: list[str] = field(default_factory=list)  # other kinds in the same trouble
    title: str = ""
    carrier: str | None = None
    tracking: str | None = None

    def __post_init__(self) -> None:
        # Events carry whole seconds: so does the truth, so that "at the same instant" holds.
        self.broken_at -= self.broken_at % 1_000_000
        if self.notice_at is not None:
            self.notice_at -= self.notice_at % 1_000_000
        if self.settled_at is not None:
            self.settled_at -= self.settled_at % 1_000_000

    @property
    def family(self) -> str:
        return FAMILY[self.kind]

    @property
    def visible(self) -> bool:
        return self.kind in PLATFORM_KINDS


@dataclass
class ParcelFacts:
    shipment_id: str
    source: tuple[str, str]         # ("seller", id) or ("fc", id)
    line_ids: list[str]
    carrier: str | None = None
    tracking: str | None = None
    shipped_at: int | None = None   # the shipment.shipped event (label printed, handed over)
    delivered_at: int | None = None
    region: str = ""


@dataclass
class OrderFacts:
    order_id: str
    customer_id: str
    lang: str
    tz_min: int
    placed_at: int
    deliver_by: int
    amount: float
    prime: bool
    parcels: list[ParcelFacts] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skus: list[str] = field(default_factory=list)
    sellers: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    line_amounts: dict[str, float] = field(default_factory=dict)
    cancelled_by_customer: bool = False

    def delivered_at(self) -> int | None:
        """When the whole order was home (None if some parcel never arrived or none left)."""
        times = [p.delivered_at for p in self.parcels]
        if not times or any(t is None for t in times):
            return None
        return max(t for t in times if t is not None)
