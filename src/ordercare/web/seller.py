"""The sellers' API (``ordercare serve``, under ``/seller/api``): what ordercare asks of a
third-party seller, and the seller's answers, without a person in between.

A marketplace's storefront tells its sellers about new orders; what only ordercare knows is
what it asked of them afterwards: a replacement or a re-sending with a ship-by of its own
(``ordercare requests``), a buyer's question (masked of contact details), and where the
seller stands against the health bars. Here a seller's program reads those and answers:

* ``GET  /seller/api/requests[?status=open|overdue|...]`` the requests addressed to the seller,
  each with the lines to send, where to (the request's address, else the order's) and by when;
* ``GET  /seller/api/orders/{order_id}`` the seller's part of an order: its lines, its parcels
  and their last scan, the promise, the requests (never the buyer's e-mail or phone);
* ``POST /seller/api/shipments`` ``{shipment_id, order_id, line_ids, carrier?, tracking?}``
  confirms a parcel (``shipment.created``, and ``shipment.shipped`` with its tracking): the
  watch follows it from then on, and a request it carries follows the parcel;
* ``GET  /seller/api/messages[?order_id=]`` the buyers' messages on the seller's orders and
  the seller's own, as the relay keeps them (masked);
* ``POST /seller/api/messages`` ``{message_id, order_id, text}`` answers the buyer through
  the platform (``buyer_seller.message`` from the seller: masked, counted as an answer);
* ``GET  /seller/api/notices?after=SEQ`` what ordercare told the seller, numbered (``sellers/notices.py``);
  ``PUT/GET/DELETE /seller/api/webhook`` has them pushed to the seller's own URL,
  ``POST /seller/api/webhook/redeliver`` sends its dead ones again;
* ``GET  /seller/api/standing`` the seller's metrics, status and history
  (``ordercare seller ID``).

Each write is an event in the log, through the same intake and engine as ``ordercare
replay`` (a replay of the log gives the same), under the store's writer lock. A repeated
POST (a retry after a lost answer) records nothing twice: the parcel or the message already
held is answered again with ``"already_recorded": true``.

A seller authenticates with ``Authorization: Bearer <token>``; the token names the seller and
carries an HMAC-SHA256 under the deployment's ``ORDERCARE_SELLER_SECRET``
(``ordercare seller SELLER --api-token`` issues it; a new secret revokes every token). Without a
secret the API is off (404). A seller only ever sees and touches its own lines.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

import msgspec
from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine

from ordercare.desk.dossier import build_dossier
from ordercare.domain.moments import to_us
from ordercare.notify.outbox import requeue_dead
from ordercare.notify.sender_config import http_url, private_webhooks_allowed, public_webhook
from ordercare.sellers import notices as seller_notices
from ordercare.sellers import service as sellers
from ordercare.sellers import tables as seller_tables
from ordercare.sellers.keys import SECRET_ENV, SellerKeys
from ordercare.store import repo

__all__ = ["SECRET_ENV", "SellerKeys", "add_seller_api"]

REQUEST_STATUSES = ("open", "overdue", "preparing", "shipped", "delivered", "cancelled")


class ShipmentIn(msgspec.Struct, forbid_unknown_fields=True):
    shipment_id: str
    order_id: str
    line_ids: list[str]
    carrier: str | None = None
    tracking: str | None = None


class WebhookIn(msgspec.Struct, forbid_unknown_fields=True):
    url: str


class MessageIn(msgspec.Struct, forbid_unknown_fields=True):
    message_id: str
    order_id: str
    text: str


Record = Callable[[list[dict[str, Any]], datetime], None]


def add_seller_api(app: FastAPI, store: Engine, run: Callable[[Callable[[], Response]], Awaitable[Response]],
                   record: Record, clock: Callable[[], datetime], keys: SellerKeys | None) -> None:
    """The sellers' routes on ``app``. ``run`` runs a write in a worker thread after the writes
    before it (or answers busy); ``record`` applies events through the app's engine session."""

    def seller(authorization: str | None) -> str:
        if keys is None:
            raise HTTPException(status_code=404, detail="the sellers' API is off (no ORDERCARE_SELLER_SECRET)")
        scheme, _, token = (authorization or "").partition(" ")
        who = keys.seller_of(token.strip()) if scheme.lower() == "bearer" else None
        if who is None:
            raise HTTPException(status_code=401, detail="a seller token is needed: Authorization: Bearer <token>",
                                headers={"WWW-Authenticate": "Bearer"})
        return who

    def body(raw: bytes, kind: type[Any]) -> Any:
        try:
            return msgspec.json.decode(raw, type=kind)
        except msgspec.ValidationError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None
        except msgspec.DecodeError:
            raise HTTPException(status_code=400, detail="the body is not JSON") from None

    def order_view(order_id: str, who: str) -> dict[str, Any]:
        """The seller's part of the order; 404 when none of its lines is the seller's."""
        file = build_dossier(store, order_id)
        mine = [ln for ln in (file or {}).get("lines", []) if ln["seller_id"] == who]
        if file is None or not mine:
            raise HTTPException(status_code=404, detail=f"no order {order_id!r} of yours")
        ids = {ln["line_id"] for ln in mine}
        return {
            "order_id": file["order_id"], "placed_at": file["placed_at"], "prime": file["prime"],
            "ship_by": file["ship_by"], "deliver_by": file["deliver_by"],
            "ship_to": _ship_to(file.get("address")),
            "lines": [{k: ln[k] for k in ("line_id", "sku", "title", "qty", "unit_price", "fulfilled_by",
                                          "ship_by", "deliver_by", "shipment_id", "sent_again_at", "cancelled")}
                      for ln in mine],
            "shipments": [{k: s[k] for k in ("shipment_id", "line_ids", "carrier", "tracking", "shipped_at",
                                             "delivered_at", "last_scan")}
                          for s in file["shipments"] if s["seller_id"] == who or ids & set(s["line_ids"])],
            "requests": [r for r in file["requests"] if r["to"] == who],
        }

    @app.get("/seller/api/requests")
    def requests(authorization: Annotated[str | None, Header()] = None,
                 status: Annotated[str | None, Query()] = None) -> list[dict[str, Any]]:
        who = seller(authorization)
        if status is not None and status not in REQUEST_STATUSES:
            raise HTTPException(status_code=422, detail=f"status is one of {', '.join(REQUEST_STATUSES)}")
        # Three reads whatever the number of requests: the requests, their orders' addresses,
        # the names of their items (not a whole order file per order).
        with store.connect() as conn:
            asked = repo.read_requests(conn, status, who)
            address = {o.order_id: o.address for o in repo.load_orders(conn, {rq["order_id"] for rq in asked})}
            titles = repo.titles(conn, {ln["sku"] for rq in asked for ln in rq["lines"]})
        return [{
            "id": rq["id"], "order_id": rq["order_id"], "kind": rq["kind"], "status": rq["status"],
            "requested_at": rq["requested_at"], "ship_by": rq["ship_by"], "deliver_by": rq["deliver_by"],
            "lines": [{**ln, "title": titles[ln["sku"]]} for ln in rq["lines"]],
            # a new address given for the replacement, else the order's own
            "ship_to": rq["ship_to"] or _ship_to(address.get(rq["order_id"])),
            "shipment_ids": rq["shipment_ids"]} for rq in asked]

    @app.get("/seller/api/orders/{order_id:path}")
    def order(order_id: str, authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        return order_view(order_id, seller(authorization))

    @app.post("/seller/api/shipments")
    async def ship(request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
        who = seller(authorization)
        given: ShipmentIn = body(await request.body(), ShipmentIn)
        if not given.line_ids or (given.tracking is None) != (given.carrier is None):
            raise HTTPException(status_code=422, detail="line_ids must name at least one line; carrier and "
                                "tracking come together")

        def work() -> Response:
            view = order_view(given.order_id, who)
            held = next((s for s in view["shipments"] if s["shipment_id"] == given.shipment_id), None)
            if held is not None:
                same = sorted(held["line_ids"]) == sorted(given.line_ids) and (
                    given.tracking is None or held["tracking"] is None
                    or (held["carrier"], held["tracking"]) == (given.carrier, given.tracking))
                if not same:
                    raise HTTPException(status_code=409, detail=f"parcel {given.shipment_id!r} is already recorded "
                                        "with other lines or tracking")
                if given.tracking is None or held["tracking"] is not None:
                    return JSONResponse({"already_recorded": True, "order": view})
            with store.connect() as conn:  # a parcel id or a tracking number is one parcel's
                other = repo.known_shipments(conn, [given.shipment_id]) if held is None else {}
                carried = repo.known_trackings(conn, [given.tracking]) if given.tracking else {}
            if other:
                raise HTTPException(status_code=409, detail=f"parcel {given.shipment_id!r} is not yours to record: "
                                    "choose another parcel id")
            if carried and carried[given.tracking or ""] != given.shipment_id:
                raise HTTPException(status_code=409, detail=f"tracking {given.tracking!r} is another parcel's")
            lines = {ln["line_id"]: ln for ln in view["lines"]}
            strange = [lid for lid in given.line_ids if lid not in lines]
            theirs = [lid for lid in given.line_ids if lid in lines and lines[lid]["fulfilled_by"] != "seller"]
            if strange or theirs:
                raise HTTPException(status_code=422, detail=(
                    f"not your lines on {given.order_id}: {', '.join(strange)}" if strange else
                    f"sent by our warehouse, not by you: {', '.join(theirs)}"))
            now = clock()
            at = now.isoformat(timespec="seconds")
            key = f"seller-api:{who}:{given.shipment_id}"
            events: list[dict[str, Any]] = []
            if held is None:
                events.append({"id": f"{key}:created", "type": "shipment.created", "at": at,
                               "data": {"shipment_id": given.shipment_id, "order_id": given.order_id,
                                        "seller_id": who, "line_ids": given.line_ids}})
            if given.tracking is not None:
                events.append({"id": f"{key}:shipped", "type": "shipment.shipped", "at": at,
                               "data": {"shipment_id": given.shipment_id, "carrier": given.carrier,
                                        "tracking": given.tracking}})
            record(events, now)
            return JSONResponse({"already_recorded": False, "order": order_view(given.order_id, who)},
                                status_code=201)

        return await run(work)

    @app.get("/seller/api/messages")
    def messages(authorization: Annotated[str | None, Header()] = None,
                 order_id: Annotated[str | None, Query()] = None) -> list[dict[str, Any]]:
        who = seller(authorization)
        with store.connect() as conn:
            rows = seller_tables.messages_of(conn, who)
        return [_relayed(r) for r in rows if order_id is None or r["order_id"] == order_id]

    @app.post("/seller/api/messages")
    async def answer(request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
        who = seller(authorization)
        given: MessageIn = body(await request.body(), MessageIn)
        if not given.message_id or not given.text.strip():
            raise HTTPException(status_code=422, detail="message_id and text are required")
        # The relay keys messages by id across buyers and sellers: the seller's own id, prefixed.
        message_id = f"{who}:{given.message_id}"

        def work() -> Response:
            order_view(given.order_id, who)
            with store.connect() as conn:
                held = seller_tables.relay_message(conn, message_id)
            if held is not None:
                if held["order_id"] != given.order_id:
                    raise HTTPException(status_code=409, detail=f"message {given.message_id!r} was sent on "
                                        f"order {held['order_id']}")
                return JSONResponse({"already_recorded": True, "message": _relayed(held)})
            now = clock()
            record([{"id": f"seller-api:{message_id}", "type": "buyer_seller.message",
                     "at": now.isoformat(timespec="seconds"),
                     "data": {"message_id": message_id, "order_id": given.order_id, "from": "seller",
                              "seller_id": who, "text": given.text}}], now)
            with store.connect() as conn:
                row = seller_tables.relay_message(conn, message_id)
            assert row is not None, "the relay logs every message the engine accepted"
            return JSONResponse({"already_recorded": False, "message": _relayed(row)}, status_code=201)

        return await run(work)

    @app.post("/seller/api/messages/{message_id:path}/no-reply-needed")
    async def no_reply_needed(message_id: str, authorization: Annotated[str | None, Header()] = None) -> Response:
        """A buyer's message that needs no answer ("thanks, got it!"): marked, it counts as
        answered now (response time, guarantee). Marking it again changes nothing."""
        who = seller(authorization)

        def work() -> Response:
            with store.connect() as conn:
                held = seller_tables.relay_message(conn, message_id)
            if held is None or held["sender"] != "buyer" or who not in held["seller_ids"]:
                raise HTTPException(status_code=404, detail=f"no buyer message {message_id!r} to you")
            if held.get("answered_us") or held.get("case_id"):
                return JSONResponse({"already_answered": True, "message": _relayed(held)})
            now = clock()
            record([{"id": f"seller-api:no-reply:{who}:{message_id}", "type": "buyer_seller.no_reply_needed",
                     "at": now.isoformat(timespec="seconds"),
                     "data": {"message_id": message_id, "order_id": held["order_id"], "seller_id": who}}], now)
            with store.connect() as conn:
                row = seller_tables.relay_message(conn, message_id)
            assert row is not None
            # (Its 48 hours may have run out before the mark: the guarantee took it over.)
            return JSONResponse({"already_answered": not row.get("answered_us"), "message": _relayed(row)})

        return await run(work)

    @app.get("/seller/api/notices")
    def notice_feed(authorization: Annotated[str | None, Header()] = None,
                    after: Annotated[int, Query(ge=0)] = 0,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
        """What we told the seller, numbered: read on from the last ``seq`` seen."""
        who = seller(authorization)
        with store.connect() as conn:
            found = seller_notices.feed(conn, who, after, limit)
        return {"notices": found, "next_after": found[-1]["seq"] if found else after}

    @app.get("/seller/api/webhook")
    def hook(authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        who = seller(authorization)
        with store.connect() as conn:
            found = seller_notices.webhook(conn, who)
        if found is None:
            raise HTTPException(status_code=404, detail="no webhook: PUT {\"url\": ...} to have notices pushed")
        return {**found, "signing": SIGNING}

    @app.put("/seller/api/webhook")
    async def set_hook(request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
        who = seller(authorization)
        given: WebhookIn = body(await request.body(), WebhookIn)
        try:
            http_url(given.url)
            if not private_webhooks_allowed():
                public_webhook(given.url, resolve=False)  # (a name is resolved at each delivery)
        except ValueError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from None

        def work() -> Response:
            now = clock()
            with store.begin() as conn:
                seller_notices.set_webhook(conn, who, given.url, now.isoformat(timespec="seconds"), to_us(now))
            with store.connect() as conn:
                found = seller_notices.webhook(conn, who)
            return JSONResponse({**(found or {}), "signing": SIGNING})

        return await run(work)

    @app.post("/seller/api/webhook/redeliver")
    async def redeliver(authorization: Annotated[str | None, Header()] = None) -> Response:
        """The seller fixed its server: what died after every attempt goes again."""
        who = seller(authorization)

        def work() -> Response:
            with store.connect() as conn:
                if seller_notices.webhook(conn, who) is None:
                    raise HTTPException(status_code=404, detail="no webhook: PUT {\"url\": ...} first")
            again = requeue_dead(store, clock(), box=seller_notices.SELLER_NOTICES,
                                 where=("seller_id = :seller", {"seller": who}))
            return JSONResponse({"requeued": again})

        return await run(work)

    @app.delete("/seller/api/webhook")
    async def drop_hook(authorization: Annotated[str | None, Header()] = None) -> Response:
        who = seller(authorization)

        def work() -> Response:
            with store.begin() as conn:
                dropped = seller_notices.drop_webhook(conn, who)
            if not dropped:
                raise HTTPException(status_code=404, detail="no webhook to remove")
            return Response(status_code=204)

        return await run(work)

    @app.get("/seller/api/standing")
    def standing(authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        who = seller(authorization)
        try:
            return sellers.seller_detail(store, who)
        except sellers.UnknownSeller:
            raise HTTPException(status_code=404, detail="no orders of yours yet") from None


SIGNING = ("POST, JSON body; header X-Ordercare-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed by "
           "your API token>; Idempotency-Key: the notice id (a retry repeats the same bytes)")


def _ship_to(address: dict[str, Any] | None) -> dict[str, Any] | None:
    """Where the order goes: the address and the name on it (the buyer's e-mail and phone
    stay with the platform: questions go through the relay)."""
    return dict(address) if address else None


def _relayed(row: dict[str, Any]) -> dict[str, Any]:
    answered = None
    if row.get("answered_us"):  # in the order's local time, like ``at``
        offset = datetime.fromisoformat(row["at"]).utcoffset()
        answered = repo.iso(row["answered_us"], int(offset.total_seconds() // 60) if offset else 0)
    return {"message_id": row["message_id"], "order_id": row["order_id"], "from": row["sender"],
            "at": row["at"], "text": row["text"], "masked": row["masked"], "answered_at": answered,
            "taken_over_by_guarantee": row["case_id"]}

