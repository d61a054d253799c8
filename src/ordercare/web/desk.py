"""The agents' console (``ordercare serve``, under ``/desk``): what a person on the help desk
needs on one screen, and the buttons to act.

``/desk`` lists the callbacks due, the replacements whose sender missed the ship-by, and the
open cases; ``/desk/case/{id}`` shows a case with its order's file (lines, parcels and their
last scan, what we promised, what we wrote, what was asked of the warehouse or the seller)
and two forms: act on the case (``ordercare act``: a refund, a replacement, a new address...)
and record a callback (``ordercare callback-done``). Both go through the same services as the
command line: an event in the log, applied by the desk's own code, told to the customer.

The console is for staff: it answers only with the desk's token (``ORDERCARE_DESK_TOKEN``),
given once at ``/desk/login?t=...`` and kept in a same-site cookie; without a token set, it
is off (404). Forms are posted as ``application/x-www-form-urlencoded`` and parsed here; a
post is taken only from the console's own pages (same origin, and the key its forms carry).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from ordercare import services
from ordercare.desk.dossier import build_dossier
from ordercare.domain.events import AGENT_ACTIONS
from ordercare.web.pages import page

COOKIE = "ordercare_desk"
ACTION_LABELS = {"refund": "Refund (no return)", "refund_with_return": "Refund against a return",
                 "replace": "Send a replacement", "reship": "Send again",
                 "cancel_unshipped": "Cancel what has not shipped",
                 "update_address": "New address for every parcel on its way", "intercept": "Stop the parcels",
                 "guarantee_claim": "Claim from the seller (guarantee)", "resolve": "Close the case"}
OUTCOMES = (("reached", "Reached them"), ("no_answer", "No answer (stays due)"),
            ("resolved", "Reached them and settled it"))
STYLE = ("body{font-family:system-ui,sans-serif;max-width:64rem;margin:1.5rem auto;padding:0 1rem;line-height:1.45}"
         "table{border-collapse:collapse;width:100%;margin-bottom:1.2rem}td,th{border-bottom:1px solid #ddd;"
         "padding:.3rem .5rem;text-align:left;vertical-align:top}form{background:#f6f6f6;padding:.8rem 1rem;"
         "margin:1rem 0}.flash{background:#e8f5e9;padding:.6rem 1rem}.error{background:#fdecea;padding:.6rem 1rem}"
         "pre{white-space:pre-wrap}")


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _page(title: str, body: str) -> HTMLResponse:
    return page(title, body, STYLE, header="<p><a href='/desk'>Desk</a></p>")


def _table(head: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f"<p>{_e(empty)}</p>"
    return ("<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"
            + "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows) + "</table>")


def _case_link(case_id: str) -> str:
    return f"<a href='/desk/case/{quote(case_id, safe='')}'>{_e(case_id)}</a>"


def add_desk(app: FastAPI, store: Engine, run: Callable[[Callable[[], Response]], Awaitable[Response]],
             live: services.Live, clock: Callable[[], datetime], lock_wait: float,
             token: str | None = None) -> None:
    """The console's routes on ``app``. ``run`` runs a write (after the writes before it,
    within the lock wait) in a worker thread; ``live`` is the app's kept engine session."""
    secret = token if token is not None else os.environ.get("ORDERCARE_DESK_TOKEN")
    # Every form carries this key: a page elsewhere that posts to the console (another app on
    # the same site sends the cookie along) cannot know it.
    form_key = hmac.new((secret or "").encode(), b"ordercare desk form", hashlib.sha256).hexdigest()
    hidden = f"<input type='hidden' name='csrf' value='{form_key}'>"

    def allowed(request: Request) -> None:
        given = request.cookies.get(COOKIE, "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            raise HTTPException(status_code=404 if not secret else 401,
                                detail="the desk console is off" if not secret else "log in at /desk/login?t=...")

    @app.get("/desk/login")
    def login(t: str = Query(default="")) -> Response:
        if not secret or not hmac.compare_digest(t.encode(), secret.encode()):
            raise HTTPException(status_code=404 if not secret else 401, detail="not a desk token")
        page = RedirectResponse("/desk", status_code=303)
        page.set_cookie(COOKIE, t, httponly=True, samesite="strict")
        return page

    @app.get("/desk", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        allowed(request)
        calls = services.list_callbacks(store)
        late = services.list_requests(store, status="overdue")
        open_cases = services.open_cases(store, limit=200)
        body = "<h2>Callbacks due</h2>" + _table(
            ["case", "due", "why", "customer", "order"],
            [[_case_link(c["case_id"]), _e(c["due_at"]), _e(c["reason"]),
              _e(c["customer"].get("name") or c["customer_id"]) + " " + _e(c["customer"].get("phone") or ""),
              _e(c["order_id"] or "(none)")] for c in calls], "No callback is due.")
        body += "<h2>Replacements not sent by their ship-by</h2>" + _table(
            ["request", "order", "asked of", "items", "ship-by", "case"],
            [[_e(r["id"]), _e(r["order_id"]), _e(r["to"]),
              _e(", ".join(f"{x['qty']} × {x['sku']}" for x in r["lines"])), _e(r["ship_by"]),
              _case_link(r["case_id"]) if r["case_id"] else ""] for r in late],
            "Every replacement asked for is on time.")
        body += "<h2>Open cases</h2>" + _table(
            ["case", "opened", "reason", "origin", "status", "order"],
            [[_case_link(c["id"]), _e(c["opened_at"]), _e(c["reason"]), _e(c["origin"]), _e(c["status"]),
              _e(c["order_id"] or "(none)")] for c in open_cases], "No open case.")
        return _page("Desk", body)

    @app.get("/desk/case/{case_id:path}", response_class=HTMLResponse)
    def case_page(request: Request, case_id: str, done: str = Query(default=""),
                  error: str = Query(default="")) -> HTMLResponse:
        allowed(request)
        found = services.list_cases(store, case_id)
        if not found:
            raise HTTPException(status_code=404, detail=f"no case {case_id!r}")
        case = found[0]
        body = (f"<p class='flash'>{_e(done)}</p>" if done else "")
        body += f"<p class='error'>{_e(error)}</p>" if error else ""
        resolved = f" · resolved {_e(case['resolved_at'])}" if case["resolved_at"] else ""
        body += (f"<p><b>{_e(case['reason'])}</b> · {_e(case['origin'])} · {_e(case['status'])} · opened "
                 f"{_e(case['opened_at'])}{resolved}</p>")
        if case.get("restock_expected_at"):  # what the customer waiting for stock was last told
            body += f"<p>New stock told to the customer as expected around {_e(case['restock_expected_at'])}</p>"
        file = build_dossier(store, case["order_id"]) if case["order_id"] else None
        lines: list[dict[str, Any]] = []
        if file is not None:
            cust = file["customer"]
            body += (f"<p>Customer: {_e(cust.get('name') or cust['customer_id'])} · "
                     f"{_e(cust.get('phone') or 'no phone')} · {_e(cust.get('email'))} · "
                     f"speaks {_e(cust.get('lang'))} · {_e(cust.get('orders'))} orders, "
                     f"{_e(cust.get('refunds'))} refunds</p>")
            body += (f"<p>Order {_e(file['order_id'])} placed {_e(file['placed_at'])} · Prime: {_e(file['prime'])} · "
                     f"paid {_e(file['paid'])} {_e(file['currency'])}, refunded {_e(file['refunded'])} · promised "
                     f"ship-by {_e(file['ship_by'])}, deliver-by {_e(file['deliver_by'])}</p>")
            ships = {s["shipment_id"]: s for s in file["shipments"]}
            lines = [ln for ln in file["lines"] if ln["line_id"] in case["line_ids"]] or file["lines"]
            body += "<h2>Lines</h2>" + _table(
                ["line", "item", "seller", "parcel", "last scan", "owed by"],
                [[_e(ln["line_id"]), f"{_e(ln['qty'])} × {_e(ln['title'])}", _e(ln["seller_id"]),
                  _e(ln["shipment_id"] or "not made"),
                  _e(_scan(ships.get(ln["shipment_id"] or ""))) + (" (cancelled)" if ln["cancelled"] else ""),
                  _e(ln["deliver_by"]) + (f" (sent again {_e(ln['sent_again_at'])})" if ln["sent_again_at"] else "")]
                 for ln in file["lines"]], "")
            if file["requests"]:
                body += "<h2>Asked of the warehouse or the seller</h2>" + _table(
                    ["request", "to", "items", "ship-by", "status"],
                    [[_e(r["id"]), _e(r["to"]), _e(", ".join(x["line_id"] for x in r["lines"])), _e(r["ship_by"]),
                      _e(r["status"])] for r in file["requests"]], "")
        body += "<h2>What happened</h2>" + _table(
            ["at", "action", "lines", "by / rule", "note"],
            [[_e(a["at"]), _e(a["type"]), _e(", ".join(a.get("line_ids") or [])), _e(a.get("rule") or ""),
              _e(a.get("note") or "")] for a in case["actions"]], "Nothing yet.")
        sent = services.list_messages(store, case_id)
        body += "<h2>What we wrote</h2>" + _table(
            ["at", "kind", "subject"], [[_e(m["at"]), _e(m["kind"]), _e(m["subject"])] for m in sent], "Nothing yet.")
        here = f"/desk/case/{quote(case_id, safe='')}"
        if case["order_id"]:
            options = "".join(f"<option value='{a}'>{_e(ACTION_LABELS[a])}</option>" for a in AGENT_ACTIONS)
            boxes = "".join(f"<label><input type='checkbox' name='line' value='{_e(ln['line_id'])}'> "
                            f"{_e(ln['line_id'])} {_e(ln['title'])}</label> " for ln in lines)
            # One key per form shown: the same form sent twice (a double click, a reload that
            # posts again) is one act, not an address changed twice with two mails.
            once = f"<input type='hidden' name='submission' value='{secrets.token_hex(16)}'>"
            body += (f"<form method='post' action='{here}/act'><h2>Act</h2>{hidden}{once}"
                     f"<p><label>You <input name='agent' required></label> "
                     f"<label>Action <select name='action'>{options}</select></label></p>"
                     f"<p>Lines (none ticked: those still owed) {boxes}</p>"
                     "<p>New address: <input name='line1' placeholder='street'> <input name='postcode' "
                     "placeholder='postcode' size='8'> <input name='city' placeholder='city'> <input name='country' "
                     "value='FR' size='3'></p><p><label>Note <input name='note' size='60'></label> "
                     "<label><input type='checkbox' name='silent' value='1'> do not write to the customer</label></p>"
                     "<button type='submit'>Do it</button></form>")
        outcomes = "".join(f"<label><input type='radio' name='outcome' value='{k}'{' checked' if i == 0 else ''}> "
                           f"{_e(label)}</label> " for i, (k, label) in enumerate(OUTCOMES))
        body += (f"<form method='post' action='{here}/callback'><h2>A call made</h2>{hidden}"
                 f"<p><label>You <input name='agent' required></label> {outcomes}</p>"
                 "<p><label>Note <input name='note' size='60'></label></p>"
                 "<button type='submit'>Record the call</button></form>")
        return _page(f"Case {case_id}", body)

    async def form(request: Request) -> dict[str, list[str]]:
        """A posted form, only from the console's own pages: same origin, and its key."""
        allowed(request)
        origin, site = request.headers.get("origin"), request.headers.get("sec-fetch-site")
        if (origin is not None and urlsplit(origin).netloc != request.headers.get("host")) or (
                site is not None and site not in ("same-origin", "none")):
            raise HTTPException(status_code=403, detail="a form from another origin")
        fields = parse_qs((await request.body()).decode("utf-8"), keep_blank_values=False)
        if not hmac.compare_digest((fields.get("csrf") or [""])[0].encode(), form_key.encode()):
            raise HTTPException(status_code=403, detail="a form the console did not make")
        return fields

    def back(case_id: str, **said: str) -> RedirectResponse:
        return RedirectResponse(f"/desk/case/{quote(case_id, safe='')}?{urlencode(said)}", status_code=303)

    @app.post("/desk/case/{case_id:path}/act")
    async def act(request: Request, case_id: str) -> Response:
        f = await form(request)
        one = lambda k: (f.get(k) or [""])[0].strip()  # noqa: E731
        action, agent = one("action"), one("agent")
        if action not in AGENT_ACTIONS or not agent:
            return back(case_id, error="choose an action and say who you are")
        address = None
        if action == "update_address":
            if not (one("line1") and one("postcode") and one("city")):
                return back(case_id, error="a new address needs a street, a postcode and a city")
            address = {"name": "", "line1": one("line1"), "postcode": one("postcode"), "city": one("city"),
                       "country": one("country") or "FR"}

        def work() -> Response:
            try:
                report = services.record_agent_action(store, case_id, agent, action, f.get("line") or None, address,
                                                      one("note") or None, not one("silent"), now=clock(),
                                                      live=live, wait=lock_wait,
                                                      submission=one("submission") or None)
            except (LookupError, ValueError) as exc:
                return back(case_id, error=str(exc.args[0]))
            if report.rejected:
                return back(case_id, error=report.rejected[0]["reason"])
            if report.duplicates:
                return back(case_id, done=f"{ACTION_LABELS[action]}: done already")
            if not report.done:
                return back(case_id, error=f"{ACTION_LABELS[action]}: nothing to do (its lines are made good "
                                           "already, or what was sent again is still to come)")
            return back(case_id, done=f"{ACTION_LABELS[action]}: done ({', '.join(report.done)})")
        return await run(work)

    @app.post("/desk/case/{case_id:path}/callback")
    async def called(request: Request, case_id: str) -> Response:
        f = await form(request)
        agent, outcome = (f.get("agent") or [""])[0].strip(), (f.get("outcome") or ["reached"])[0]
        if not agent or outcome not in dict(OUTCOMES):
            return back(case_id, error="say who called and how it went")

        def work() -> Response:
            try:
                note = (f.get("note") or [""])[0].strip() or None
                services.record_callback(store, case_id, agent, outcome, note, now=clock(), live=live, wait=lock_wait)
            except (LookupError, ValueError) as exc:
                return back(case_id, error=str(exc.args[0]))
            return back(case_id, done=f"call recorded: {dict(OUTCOMES)[outcome]}")
        return await run(work)


def _scan(ship: dict[str, Any] | None) -> str:
    if ship is None:
        return ""
    last = ship["last_scan"]
    if last is None:
        return "shipped, no scan yet" if ship["shipped_at"] else "not shipped"
    return f"{last['status']} {last['at'][:16].replace('T', ' ')} {last['location'] or ''}".strip()
