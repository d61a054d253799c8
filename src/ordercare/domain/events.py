"""The contract's events (CONTRACT §1) as typed msgspec models.

One decode validates an event: the envelope's ``type`` is the tag that picks the model, so
an unknown type, a missing field or a wrong type fails with a one-line reason naming the
field (``Expected `int`, got `str` - at `$.data.qty```). msgspec decodes and validates in
about a microsecond, which keeps intake far inside the hot path's budget.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, get_args

import msgspec
from msgspec import Meta, Struct

AwareDatetime = Annotated[datetime, Meta(tz=True)]
Lang = Literal["fr", "en"]
NotifyPolicy = Literal["every_step", "milestones", "exceptions"]
NonEmpty = Annotated[str, Meta(min_length=1)]
# Quantities and counts are bounded: an integer that does not fit the store's 64-bit columns
# (``"qty": 1e30`` written out) is a bad line, rejected at intake, not a crash at the flush.
Qty = Annotated[int, Meta(ge=1, le=1_000_000)]
Count = Annotated[int, Meta(ge=0, le=1_000_000)]
Money = Annotated[float, Meta(ge=0)]


class _Data(Struct, frozen=True, forbid_unknown_fields=False):
    """Payloads accept extra fields: producers may send more than we read."""


# ---- payloads ---------------------------------------------------------------------------


class CustomerRegisteredData(_Data, frozen=True):
    customer_id: NonEmpty
    email: str
    lang: Lang
    phone: str | None = None
    name: str | None = None
    prime_until: date | None = None
    notify: NotifyPolicy = "milestones"


class SellerRegisteredData(_Data, frozen=True):
    seller_id: NonEmpty
    name: str
    handling_days: Annotated[int, Meta(ge=0, le=30)] = 2
    # extension: where the seller's notices are e-mailed when it has no webhook, in its language
    email: str | None = None
    lang: Lang | None = None


class SkuRegisteredData(_Data, frozen=True):
    sku: NonEmpty
    title: str
    weight_g: Annotated[float, Meta(ge=0)]
    seller_id: str | None = None
    prime_eligible: bool = False
    supplier_id: str | None = None
    lead_time_days: Annotated[int, Meta(ge=0, le=3650)] | None = None


class FcRegisteredData(_Data, frozen=True):
    fc_id: NonEmpty
    name: str
    lat: float
    lon: float


class SupplierRegisteredData(_Data, frozen=True):
    supplier_id: NonEmpty
    name: str
    lat: float
    lon: float
    ready_from: str | None = None
    ready_until: str | None = None
    dock_minutes: Count | None = None


class InventoryReceivedData(_Data, frozen=True):
    fc_id: NonEmpty
    sku: NonEmpty
    qty: Annotated[int, Meta(ge=-1_000_000_000, le=1_000_000_000)]  # negative: a stock correction
    seller_id: str | None = None
    po_id: str | None = None  # extension: the purchase order this receipt delivers


class PurchaseLineData(_Data, frozen=True):
    sku: NonEmpty
    qty: Qty


class PurchaseOrderPlacedData(_Data, frozen=True):
    """Extension: stock ordered from a supplier for a fulfilment centre, on order until an
    ``inventory.received`` with this ``po_id`` delivers it (``reorder`` counts it)."""

    po_id: NonEmpty
    supplier_id: NonEmpty
    fc_id: NonEmpty
    lines: Annotated[list[PurchaseLineData], Meta(min_length=1)]
    expected_at: AwareDatetime | None = None  # with its UTC offset, as every instant


class PurchaseOrderCancelledData(_Data, frozen=True):
    """Extension: the supplier will not deliver (all that is outstanding, or these lines'
    quantities): ``reorder`` stops counting it as on order."""

    po_id: NonEmpty
    reason: str | None = None
    lines: list[PurchaseLineData] | None = None


class PurchaseOrderUpdatedData(_Data, frozen=True):
    """Extension: the supplier gave a new date for what is still outstanding: customers
    waiting for that stock are told at once if it moves their date."""

    po_id: NonEmpty
    expected_at: AwareDatetime
    reason: str | None = None


class OrderLineData(_Data, frozen=True):
    line_id: NonEmpty
    sku: NonEmpty
    seller_id: NonEmpty
    qty: Qty
    unit_price: Money
    fulfilled_by: Literal["platform", "seller"]


class AddressData(_Data, frozen=True):
    name: str
    line1: str
    city: str
    postcode: str
    country: str


class PromiseData(_Data, frozen=True):
    ship_by: AwareDatetime
    deliver_by: AwareDatetime


class OrderPlacedData(_Data, frozen=True):
    order_id: NonEmpty
    customer_id: NonEmpty
    lines: Annotated[list[OrderLineData], Meta(min_length=1)]
    currency: str
    prime: bool = False
    address: AddressData | None = None
    promise: PromiseData | None = None


class PaymentCapturedData(_Data, frozen=True):
    order_id: NonEmpty
    amount: Money


class ShipmentCreatedData(_Data, frozen=True):
    shipment_id: NonEmpty
    order_id: NonEmpty
    seller_id: NonEmpty
    line_ids: Annotated[list[str], Meta(min_length=1)]


class ShipmentPackedData(_Data, frozen=True):
    shipment_id: NonEmpty
    weight_g: Annotated[float, Meta(ge=0)]
    station: str | None = None
    fc_id: str | None = None


class InspectionCompletedData(_Data, frozen=True):
    shipment_id: NonEmpty
    outcome: Literal["ok", "repacked", "wrong_item", "missing_item"]
    note: str | None = None


class ShipmentShippedData(_Data, frozen=True):
    shipment_id: NonEmpty
    carrier: NonEmpty
    tracking: NonEmpty


ScanStatus = Literal["accepted", "in_transit", "out_for_delivery", "delivered", "exception",
                     "returned"]


class CarrierScanData(_Data, frozen=True):
    tracking: NonEmpty
    status: ScanStatus
    location: str | None = None


class OrderCancelledData(_Data, frozen=True):
    order_id: NonEmpty
    by: Literal["customer", "seller", "platform"]
    reason: str
    line_ids: list[str] | None = None


class ContactReceivedData(_Data, frozen=True):
    contact_id: NonEmpty
    customer_id: NonEmpty
    channel: Literal["email", "chat", "phone", "callback_request"]
    text: str
    order_id: str | None = None
    phone: str | None = None


class CustomerChoiceData(_Data, frozen=True):
    """A customer's answer to the choices a proactive message offered (a self-service link):
    wait for the parcel, a refund now, or a replacement. Extension of the contract."""
    order_id: NonEmpty
    case_id: NonEmpty
    choice: Literal["wait", "refund", "replacement"]
    customer_id: str | None = None


class CustomerReportData(_Data, frozen=True):
    """A problem the customer reports in one click from our delivery message (the item came
    damaged, a line is missing, it is not what was ordered), with what they would like.
    Extension of the contract: read by the desk as the same complaint in words would be."""
    order_id: NonEmpty
    problem: Literal["damaged", "missing_item", "not_as_described", "wrong_item"]
    line_id: str | None = None
    wants: Literal["refund", "replacement"] | None = None
    customer_id: str | None = None


class CallbackDoneData(_Data, frozen=True):
    """A person called the customer back about ``case_id`` (``ordercare callback-done``):
    reached them (the callback is done), got no answer (it stays due), or reached them and
    settled it (the case is resolved, unless its parcel is still in trouble: the watch keeps
    that case). ``order_id`` names the case's order; a case about no order names the
    ``customer_id`` instead. Extension of the contract."""
    case_id: NonEmpty
    agent: NonEmpty
    outcome: Literal["reached", "no_answer", "resolved"] = "reached"
    note: str | None = None
    order_id: str | None = None
    customer_id: str | None = None


AgentActionKind = Literal["refund", "refund_with_return", "replace", "reship", "cancel_unshipped", "update_address",
                          "intercept", "guarantee_claim", "resolve"]
AGENT_ACTIONS: tuple[str, ...] = get_args(AgentActionKind)


class AgentActionData(_Data, frozen=True):
    """A person acted on ``case_id`` (``ordercare act``): one of the desk's own actions,
    chosen by the agent (on the phone, say) instead of the playbook, on ``line_ids`` (default:
    the case's lines still owed), with a new ``address`` for ``update_address``. The customer
    is told what was done unless ``tell_customer`` is false; ``resolve`` only closes the case
    (a delivery case whose parcel is still in trouble stays with the watch). ``order_id``
    names the case's order. Extension of the contract."""
    case_id: NonEmpty
    order_id: NonEmpty
    agent: NonEmpty
    action: AgentActionKind
    line_ids: list[str] | None = None
    address: AddressData | None = None
    note: str | None = None
    tell_customer: bool = True


class BuyerSellerMessageData(_Data, frozen=True):
    message_id: NonEmpty
    order_id: NonEmpty
    from_: Literal["buyer", "seller"] = msgspec.field(name="from")
    text: str  # (required, CONTRACT §1: a message without its words is a dead letter)
    # The thread's seller (extension): a buyer's message to one seller of the order, or that
    # seller's answer. Without it (or naming none of the order's sellers), the thread is
    # with every seller of the order and any of them answers it.
    seller_id: str | None = None


class FeedbackLeftData(_Data, frozen=True):
    order_id: NonEmpty
    seller_id: NonEmpty
    rating: Annotated[int, Meta(ge=1, le=5)]
    text: str | None = None


class ChargebackFiledData(_Data, frozen=True):
    order_id: NonEmpty
    amount: Money
    # The seller the dispute is about (extension: the platform that read the bank's reason
    # code, "item not received" from one seller of the order). Without it (or naming none of
    # the order's sellers), the chargeback is held against every seller on the order.
    seller_id: str | None = None


class NoReplyNeededData(_Data, frozen=True):
    """(Extension.) The seller marks a buyer's message as needing no reply ("thanks, got
    it!"): it counts as answered then, for the seller's response time and the guarantee."""
    message_id: NonEmpty  # the buyer's message
    order_id: NonEmpty
    seller_id: NonEmpty


class SellerDefectRemovedData(_Data, frozen=True):
    """(Extension.) A defect of the order no longer counts against the seller: the platform
    removed the feedback (about a delivery the platform made, or abusive), or decided the
    claim or the chargeback in the seller's favour."""
    order_id: NonEmpty
    seller_id: NonEmpty
    kind: Literal["negative_feedback", "guarantee_claim", "chargeback"]
    reason: str | None = None


class CsatReceivedData(_Data, frozen=True):
    order_id: NonEmpty
    rating: Annotated[int, Meta(ge=1, le=5)]
    case_id: str | None = None
    text: str | None = None


class ReturnReceivedData(_Data, frozen=True):
    order_id: NonEmpty
    line_ids: Annotated[list[str], Meta(min_length=1)]
    condition: Literal["sellable", "damaged"]
    fc_id: str | None = None


# ---- envelopes: the `type` field is the tag --------------------------------------------


class _Event(Struct, frozen=True, tag_field="type", forbid_unknown_fields=False):
    id: NonEmpty
    at: AwareDatetime


class CustomerRegistered(_Event, tag="customer.registered", frozen=True):
    data: CustomerRegisteredData


class SellerRegistered(_Event, tag="seller.registered", frozen=True):
    data: SellerRegisteredData


class SkuRegistered(_Event, tag="sku.registered", frozen=True):
    data: SkuRegisteredData


class FcRegistered(_Event, tag="fc.registered", frozen=True):
    data: FcRegisteredData


class SupplierRegistered(_Event, tag="supplier.registered", frozen=True):
    data: SupplierRegisteredData


class InventoryReceived(_Event, tag="inventory.received", frozen=True):
    data: InventoryReceivedData


class PurchaseOrderPlaced(_Event, tag="purchase_order.placed", frozen=True):
    data: PurchaseOrderPlacedData


class PurchaseOrderUpdated(_Event, tag="purchase_order.updated", frozen=True):
    data: PurchaseOrderUpdatedData


class PurchaseOrderCancelled(_Event, tag="purchase_order.cancelled", frozen=True):
    data: PurchaseOrderCancelledData


class OrderPlaced(_Event, tag="order.placed", frozen=True):
    data: OrderPlacedData


class PaymentCaptured(_Event, tag="payment.captured", frozen=True):
    data: PaymentCapturedData


class ShipmentCreated(_Event, tag="shipment.created", frozen=True):
    data: ShipmentCreatedData


class ShipmentPacked(_Event, tag="shipment.packed", frozen=True):
    data: ShipmentPackedData


class InspectionCompleted(_Event, tag="inspection.completed", frozen=True):
    data: InspectionCompletedData


class ShipmentShipped(_Event, tag="shipment.shipped", frozen=True):
    data: ShipmentShippedData


class CarrierScan(_Event, tag="carrier.scan", frozen=True):
    data: CarrierScanData


class OrderCancelled(_Event, tag="order.cancelled", frozen=True):
    data: OrderCancelledData


class ContactReceived(_Event, tag="contact.received", frozen=True):
    data: ContactReceivedData


class CustomerChoice(_Event, tag="customer.choice", frozen=True):
    data: CustomerChoiceData


class CustomerReport(_Event, tag="customer.report", frozen=True):
    data: CustomerReportData


class CallbackDone(_Event, tag="callback.done", frozen=True):
    data: CallbackDoneData


class AgentAction(_Event, tag="agent.action", frozen=True):
    data: AgentActionData


class BuyerSellerMessage(_Event, tag="buyer_seller.message", frozen=True):
    data: BuyerSellerMessageData


class FeedbackLeft(_Event, tag="feedback.left", frozen=True):
    data: FeedbackLeftData


class ChargebackFiled(_Event, tag="chargeback.filed", frozen=True):
    data: ChargebackFiledData


class NoReplyNeeded(_Event, tag="buyer_seller.no_reply_needed", frozen=True):
    data: NoReplyNeededData


class SellerDefectRemoved(_Event, tag="seller_defect.removed", frozen=True):
    data: SellerDefectRemovedData


class CsatReceived(_Event, tag="csat.received", frozen=True):
    data: CsatReceivedData


class ReturnReceived(_Event, tag="return.received", frozen=True):
    data: ReturnReceivedData


Event = (
    CustomerRegistered | SellerRegistered | SkuRegistered | FcRegistered | SupplierRegistered
    | InventoryReceived | OrderPlaced | PaymentCaptured | ShipmentCreated | ShipmentPacked
    | InspectionCompleted | ShipmentShipped | CarrierScan | OrderCancelled | ContactReceived
    | BuyerSellerMessage | FeedbackLeft | ChargebackFiled | CsatReceived | ReturnReceived
    | PurchaseOrderPlaced | PurchaseOrderUpdated | PurchaseOrderCancelled | CustomerChoice | CustomerReport
    | CallbackDone | AgentAction | SellerDefectRemoved | NoReplyNeeded
)

EVENT_TYPES: dict[str, type[_Event]] = {
    cls.__struct_config__.tag: cls
    for cls in Event.__args__
}

TAG_OF: dict[type, str] = {cls: tag for tag, cls in EVENT_TYPES.items()}

# Within one instant, apply facts in the order the world produces them (an order exists
# before it is paid, a parcel is created before it ships), so same-time events never depend
# on the order of lines in a file.
TYPE_RANK: dict[str, int] = {name: i for i, name in enumerate([
    "customer.registered", "seller.registered", "sku.registered", "fc.registered",
    "supplier.registered", "purchase_order.placed", "purchase_order.updated", "inventory.received",
    "purchase_order.cancelled",
    "order.placed", "payment.captured",
    "shipment.created", "shipment.packed", "inspection.completed", "shipment.shipped",
    "carrier.scan", "order.cancelled", "buyer_seller.message", "buyer_seller.no_reply_needed", "contact.received",
    "customer.choice", "customer.report", "feedback.left", "chargeback.filed", "seller_defect.removed",
    "return.received", "csat.received",
    "callback.done", "agent.action",
])}
RANK_OF: dict[type, int] = {cls: TYPE_RANK[tag] for cls, tag in TAG_OF.items()}
