"""The self-service pages behind the links in our messages (``ordercare serve``).

``GET /choice/{case}/{choice}?t=...`` shows what the click will do and a button; it changes
nothing, because mail scanners and link previews open every link they see. ``POST`` on the
same address records the choice as a ``customer.choice`` event, through the same intake and
engine as ``ordercare replay``: deduplicated (a second click on the same button is harmless),
kept in the event log, and resolved by the desk's playbook. The page then shows the answer
the customer was sent. A link whose signature does not match its case and choice is refused.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

import anyio
from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import Engine

from ordercare import services
from ordercare.desk.dossier import build_dossier
from ordercare.notify.links import Links
from ordercare.store import repo
from ordercare.store.lock import StoreBusy
from ordercare.web.desk import add_desk
from ordercare.web.pages import page
from ordercare.web.seller import SellerKeys, add_seller_api

R = TypeVar("R", bound=Response)

LABELS = {
    "en": {"wait": "Keep waiting", "refund": "Refund me now", "replacement": "Send me a replacement",
           "title": "Your order {order}", "ask": "You are about to choose: <b>{label}</b>.",
           "confirm": "Confirm", "items": "Items", "promised": "Promised by", "news": "Last news of the parcel",
           "none": "not shipped yet", "done": "Done. Here is what we did:", "noted": "Noted: we keep watching "
           "your parcel and will write as soon as it moves. Changed your mind? The other links in our "
           "message still work.", "bad": "This link is not valid (or no longer is).",
           "busy": "We could not record your choice just now: we are busy. Nothing was changed; please press "
           "the button again in a minute."},
    "fr": {"wait": "J'attends", "refund": "Remboursez-moi maintenant", "replacement": "Envoyez-moi un remplacement",
           "title": "Votre commande {order}", "ask": "Vous allez choisir : <b>{label}</b>.",
           "confirm": "Confirmer", "items": "Articles", "promised": "Promis pour le",
           "news": "Dernières nouvelles du colis",
           "none": "pas encore expédié", "done": "C'est fait. Voici ce que nous avons fait :", "noted": "C'est noté : "
           "nous continuons à suivre votre colis et vous écrirons dès qu'il bouge. Vous changez d'avis ? "
           "Les autres liens de notre message fonctionnent toujours.",
           "bad": "Ce lien n'est pas (ou plus) valide.",
           "busy": "Nous n'avons pas pu enregistrer votre choix à l'instant : nous sommes occupés. Rien n'a été "
           "modifié ; merci d'appuyer à nouveau sur le bouton dans une minute."},
}


PROBLEMS = {
    "en": {"damaged": "It arrived damaged or faulty", "missing_item": "Something is missing",
           "not_as_described": "It is not as described", "wrong_item": "It is not what I ordered",
           "refund": "A refund", "replacement": "A replacement", "what": "What is wrong?",
           "which": "Which item?", "wish": "What would you like?", "next": "Continue",
           "report": "You are reporting: <b>{problem}</b> — {item}; you would like: <b>{wish}</b>."},
    "fr": {"damaged": "Il est arrivé abîmé ou défectueux", "missing_item": "Il manque quelque chose",
           "not_as_described": "Il ne correspond pas à la description",
           "wrong_item": "Ce n'est pas ce que j'ai commandé",
           "refund": "Un remboursement", "replacement": "Un remplacement", "what": "Quel est le problème ?",
           "which": "Quel article ?", "wish": "Que souhaitez-vous ?", "next": "Continuer",
           "report": "Vous signalez : <b>{problem}</b> — {item} ; vous souhaitez : <b>{wish}</b>."},
}
PROBLEM_KEYS = ("damaged", "missing_item", "not_as_described", "wrong_item")
WISHES = ("refund", "replacement")
LOCK_WAIT = 20.0  # seconds a click waits for the store's writer lock before "busy, press again"


def _busy(lang: str) -> HTMLResponse:
    page = _page("ordercare", f"<p>{LABELS[lang]['busy']}</p>", lang)
    page.status_code = 503
    page.headers["Retry-After"] = "60"
    return page


def _radios(name: str, options: list[tuple[str, str]]) -> str:
    return "".join(f"<label><input type='radio' name='{name}' value='{html.escape(v, quote=True)}'"
                   f"{' checked' if i == 0 else ''}> {html.escape(label)}</label><br>"
                   for i, (v, label) in enumerate(options))


STYLE = ("body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
         "button{font-size:1.1rem;padding:.6rem 1.4rem}pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}")


def _page(title: str, body: str, lang: str = "en") -> HTMLResponse:
    return page(title, body, STYLE, lang)


def _facts(store: Engine, case: dict[str, Any], words: dict[str, str]) -> str:
    """What the customer sees before choosing: the items concerned, the promise, and where
    the parcel was last seen (from the order's dossier; nothing else of the file)."""
    dossier = build_dossier(store, case["order_id"]) or {}
    lines = [ln for ln in dossier.get("lines", []) if ln["line_id"] in case.get("line_ids", [])]
    ships = {s["shipment_id"]: s for s in dossier.get("shipments", [])}
    last = [s["last_scan"] for ln in lines if (s := ships.get(ln.get("shipment_id") or "")) and s["last_scan"]]
    news = words["none"] if not last else ", ".join(
        f"{x['status']}{' — ' + x['location'] if x['location'] else ''} ({x['at'][:16].replace('T', ' ')})"
        for x in last)
    rows = [(words["items"], ", ".join(ln["title"] for ln in lines)),
            (words["promised"], (dossier.get("deliver_by") or "")[:10]), (words["news"], news)]
    return "<ul>" + "".join(f"<li>{k}: {html.escape(v)}</li>" for k, v in rows if v) + "</ul>"


def create_app(store: Engine, links: Links | None = None,
               clock: Callable[[], datetime] = lambda: datetime.now(UTC), lock_wait: float = LOCK_WAIT,
               desk_token: str | None = None, seller_keys: SellerKeys | None = None) -> FastAPI:
    """The self-service app on ``store``; ``clock`` gives the moment a click is recorded. The
    agents' console comes with it under ``/desk`` (``web/desk.py``; ``desk_token``, else
    ``ORDERCARE_DESK_TOKEN``, opens it), and the sellers' API under ``/seller/api``
(``web/seller.py``; ``seller_keys``, else ``ORDERCARE_SELLER_SECRET``, opens it).

    A click waits for the store's writer lock (another click, a ``watch`` tick, a replay in
    another process) at most ``lock_wait`` seconds, then gets a "busy, press again" page
    (503) with nothing recorded. Waiting clicks queue without holding a worker thread, so the
    pages keep answering while they wait.
    """
    links = links or Links.from_env()
    live = services.Live(store)  # one engine session kept between clicks while nobody else writes
    clicks = anyio.CapacityLimiter(1)  # one click in the engine at a time; the others wait here
    app = FastAPI(title="ordercare self-service", docs_url=None, redoc_url=None, openapi_url=None)

    def checked(case_id: str, choice: str, token: str) -> tuple[dict[str, Any], str]:
        if not links.verify(case_id, choice, token):
            raise HTTPException(status_code=404, detail=LABELS["en"]["bad"])
        found = services.list_cases(store, case_id)
        if not found:
            raise HTTPException(status_code=404, detail=LABELS["en"]["bad"])
        sent = services.list_messages(store, case_id)
        lang = sent[-1]["lang"] if sent and sent[-1]["lang"] in LABELS else "en"
        return found[0], lang

    def apply(event: dict[str, Any], now: datetime) -> None:
        """Record a click; the same button pressed again (a minute later: another moment, the
        same event id) changes nothing: the first press stands, and the page says it is done."""
        with store.connect() as conn:
            if repo.existing_events(conn, [event["id"]]):
                return
        record_events("self-service", [event], now)

    def record_events(source: str, events: list[dict[str, Any]], now: datetime) -> None:
        # services.replay holds the store's writer lock: two clicks at once (in this process
        # or another worker, or beside ``watch``) never load one order twice and write it back in turn.
        lines = [(n, json.dumps(event).encode()) for n, event in enumerate(events, 1)]
        report = services.replay(store, source, lines, now, live=live, wait=lock_wait)
        if report.rejected:
            raise HTTPException(status_code=409, detail=report.rejected[0]["reason"])

    async def queued(work: Callable[[], R], busy: Callable[[], R]) -> R:
        """Run ``work`` (which records something) in a worker thread, after the writes before
        it, within ``lock_wait``; else ``busy()`` (also in a worker thread)."""
        try:
            with anyio.fail_after(lock_wait):
                await clicks.acquire()
        except TimeoutError:
            return await anyio.to_thread.run_sync(busy)
        try:
            return await anyio.to_thread.run_sync(work)
        except StoreBusy:
            return await anyio.to_thread.run_sync(busy)
        finally:
            clicks.release()

    async def click(lang: Callable[[], str], work: Callable[[], HTMLResponse]) -> HTMLResponse:
        """A customer's click: the busy page in their ``lang`` when it cannot be recorded now."""
        return await queued(work, lambda: _busy(lang()))

    def ordered(order_id: str, token: str) -> tuple[dict[str, Any], str]:
        dossier = build_dossier(store, order_id) if links.verify_report(order_id, token) else None
        if dossier is None:
            raise HTTPException(status_code=404, detail=LABELS["en"]["bad"])
        lang = dossier["customer"].get("lang")
        return dossier, lang if lang in LABELS else "en"

    def answered(order_id: str, case_id: str | None, lang: str) -> HTMLResponse:
        """After a recorded click: the answer the customer was sent about ``case_id``."""
        replies = [m for m in services.list_messages(store, case_id) if m["kind"] == "reply"] if case_id else []
        said = f"<pre>{html.escape(replies[-1]['text'])}</pre>" if replies else ""
        words = LABELS[lang]
        return _page(words["title"].format(order=order_id), f"<p>{words['done']}</p>{said}", lang)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/choice/{case_id:path}/{choice}", response_class=HTMLResponse)
    def confirm(case_id: str, choice: str, t: str = Query(default="")) -> HTMLResponse:
        case, lang = checked(case_id, choice, t)
        words = LABELS[lang]
        action = html.escape(links.url(case_id, choice).removeprefix(links.base_url), quote=True)
        body = (_facts(store, case, words) + f"<p>{words['ask'].format(label=html.escape(words[choice]))}</p>"
                f"<form method='post' action='{action}'><button type='submit'>{words['confirm']}</button></form>")
        return _page(words["title"].format(order=case["order_id"]), body, lang)

    @app.post("/choice/{case_id:path}/{choice}", response_class=HTMLResponse)
    async def record(case_id: str, choice: str, t: str = Query(default="")) -> HTMLResponse:
        def work() -> HTMLResponse:
            case, lang = checked(case_id, choice, t)
            words = LABELS[lang]
            now = clock()
            event = {"id": f"choice-{case_id}-{choice}", "type": "customer.choice",
                     "at": now.isoformat(timespec="seconds"),
                     "data": {"order_id": case["order_id"], "case_id": case_id, "choice": choice}}
            apply(event, now)
            if choice == "wait":
                return _page(words["title"].format(order=case["order_id"]), f"<p>{words['noted']}</p>", lang)
            return answered(case["order_id"], case_id, lang)
        return await click(lambda: checked(case_id, choice, t)[1], work)

    @app.get("/report/{order_id:path}", response_class=HTMLResponse)
    def report_form(order_id: str, t: str = Query(default=""), line: str = Query(default=""),
                    problem: str = Query(default=""), wants: str = Query(default="refund")) -> HTMLResponse:
        """Step 1, the form (which item, what is wrong, what they would like); step 2, with
        the answers in the query, what will be recorded and a button. Neither changes anything."""
        dossier, lang = ordered(order_id, t)
        words, say = LABELS[lang], PROBLEMS[lang]
        title = words["title"].format(order=order_id)
        lines = [ln for ln in dossier["lines"] if ln["cancelled"] is None]
        here = html.escape(links.report_url(order_id).removeprefix(links.base_url).split("?")[0], quote=True)
        if problem not in PROBLEM_KEYS or wants not in WISHES:
            body = (f"<form method='get' action='{here}'><input type='hidden' name='t' value='{html.escape(t)}'>"
                    f"<p>{say['which']}</p>" + _radios("line", [(ln["line_id"], ln["title"]) for ln in lines])
                    + f"<p>{say['what']}</p>" + _radios("problem", [(k, say[k]) for k in PROBLEM_KEYS])
                    + f"<p>{say['wish']}</p>" + _radios("wants", [(k, say[k]) for k in WISHES])
                    + f"<p><button type='submit'>{say['next']}</button></p></form>")
            return _page(title, body, lang)
        item = next((ln["title"] for ln in lines if ln["line_id"] == line), ", ".join(ln["title"] for ln in lines))
        query = urlencode({"t": t, "line": line, "problem": problem, "wants": wants})
        body = (f"<p>{say['report'].format(problem=html.escape(say[problem]), item=html.escape(item), wish=say[wants])}"
                f"</p><form method='post' action='{here}?{html.escape(query, quote=True)}'>"
                f"<button type='submit'>{words['confirm']}</button></form>")
        return _page(title, body, lang)

    @app.post("/report/{order_id:path}", response_class=HTMLResponse)
    async def report_record(order_id: str, t: str = Query(default=""), line: str = Query(default=""),
                            problem: str = Query(default=""), wants: str = Query(default="refund")) -> HTMLResponse:
        def work() -> HTMLResponse:
            _, lang = ordered(order_id, t)
            if problem not in PROBLEM_KEYS or wants not in WISHES:
                raise HTTPException(status_code=422, detail="problem and wants are required")
            now = clock()
            data: dict[str, Any] = {"order_id": order_id, "problem": problem, "wants": wants}
            if line:
                data["line_id"] = line
            apply({"id": f"report-{order_id}-{line or '-'}-{problem}", "type": "customer.report",
                   "at": now.isoformat(timespec="seconds"), "data": data}, now)
            after = build_dossier(store, order_id) or {}
            mine = [c for c in after.get("cases", []) if c["origin"] == "customer"]
            return answered(order_id, mine[-1]["id"] if mine else None, lang)
        return await click(lambda: ordered(order_id, t)[1], work)

    def staff_busy() -> Response:
        return HTMLResponse("The store is busy: nothing was changed, try again in a minute.", status_code=503,
                            headers={"Retry-After": "60"})

    add_desk(app, store, lambda work: queued(work, staff_busy), live, clock, lock_wait, desk_token)
    def api_busy() -> Response:
        return JSONResponse({"detail": "the store is busy: nothing was recorded, try again in a minute"},
                            status_code=503, headers={"Retry-After": "60"})

    add_seller_api(app, store, lambda work: queued(work, api_busy),
                   lambda events, now: record_events("seller-api", events, now), clock,
                   seller_keys or SellerKeys.from_env())
    return app
