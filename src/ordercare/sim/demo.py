"""``ordercare demo``: a simulated marketplace played through the whole system, scored.

1. The simulator builds the world (seeded): customers, sellers, warehouses, carriers, and
   every order's story with its faults; the ground truth stays on the simulator's side.
2. ordercare watches the world: its events are replayed up to the end of the horizon, and
   we read the messages the system sent, as the customers' inboxes would.
3. The customers react: those nobody told write to the help desk some time after they
   notice their problem, sometimes twice; those we told first mostly do not. The twin world
   has the same customers and the same problems, and no ordercare: everyone finds out alone.
4. ordercare plays the world again with the customers' contacts arriving when they were
   written (a fresh store: the one the demo leaves behind for ``ordercare cases``...), a
   day at a time: after each day the warehouse and the sellers read ordercare's requests
   to send lines again (the replacements the desk promised) and send them, or not, as they
   would (``sim/resend.py``).
5. The scorecard compares the store's cases and messages with the truth, and the insights
   name the systemic causes from the store alone. An HTML report gathers the charts.
"""

from __future__ import annotations

import heapq
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ordercare import services
from ordercare.insights.causes import insights, read_orders
from ordercare.sellers import notices as seller_notices
from ordercare.sim.clock import DAY, iso, local_dt
from ordercare.sim.marketplace import SimWorld, serialise, simulate
from ordercare.sim.people import NO_MESSAGES, Click, Contact, Inbox, react
from ordercare.sim.resend import Senders
from ordercare.sim.scorecard import Scorecard, flag_check, inbox_of, score

DEFAULT_DB_FILE = "ordercare-demo.db"
DEFAULT_REPORT = "ordercare-demo.html"


class DemoError(RuntimeError):
    """The demo cannot run as asked (say, a database that already holds other data)."""


def contact_lines(contacts: list[Contact], tz: dict[str, int],
                  clicks: list[Click] = ()) -> list[tuple[int, str, dict[str, Any], int]]:  # type: ignore[assignment]
    """The customers' contacts as ``contact.received`` events, and their clicks on our
    messages' links as the ``customer.choice`` and ``customer.report`` events ``ordercare
    serve`` records."""
    events = []
    for c in contacts:
        data: dict[str, Any] = {"contact_id": c.contact_id, "customer_id": c.customer_id,
                                "channel": c.channel, "text": c.text}
        if c.with_order:
            data["order_id"] = c.order_id
        events.append((c.at - c.at % 1_000_000, "contact.received", data, tz.get(c.customer_id, 120)))
    for k in clicks:
        who = k.problem.customer_id
        if k.report:
            data = {"order_id": k.order_id, "problem": k.problem.kind, "line_id": k.problem.line_ids[0],
                    "wants": k.choice, "customer_id": who}
            events.append((k.at, "customer.report", data, tz.get(who, 120)))
        else:
            data = {"order_id": k.order_id, "case_id": k.case_id, "choice": k.choice, "customer_id": who}
            events.append((k.at, "customer.choice", data, tz.get(who, 120)))
    return events


def play(db: Any, world: SimWorld, lines: list[tuple[int, bytes]], source: str) -> services.ReplayReport:
    """Replay ``lines`` in one go up to the end of the horizon, deadlines included: the same
    path as ``ordercare replay FILE --until END``."""
    return services.replay(db, source, lines, local_dt(world.end_us, 120))


def play_answering(db: Any, world: SimWorld, timed: list[tuple[int, bytes]], source: str,
                   senders: Senders) -> services.ReplayReport:
    """Replay ``timed`` (event time, line), a day at a time up to the end of the horizon, in
    one kept session (as ``watch`` would): after each day the senders answer the requests
    ordercare made that day, and the parcels they send join the events still to come.
    The days cut nothing: each pass plays its events in time order and fires the deadlines
    up to its end, as one pass over all of them would (tests/e2e/test_demo_resend.py)."""
    live = services.Live(db)
    total = services.ReplayReport()
    queue = sorted(timed, key=lambda x: x[0])
    sent_later: list[tuple[int, int, bytes]] = []  # (time, line number, line): the senders' parcels
    next_no, pos, day = len(queue) + 1, 0, 0
    waiting: list[tuple[int, bytes]] = []  # deferred by a pass: an event whose order comes later
    start = world.start_us - world.start_us % DAY
    cut = start
    while cut < world.end_us:
        day += 1
        cut = min(start + day * DAY, world.end_us)
        chunk = list(waiting)
        while pos < len(queue) and queue[pos][0] <= cut:
            chunk.append((pos + 1, queue[pos][1]))
            pos += 1
        while sent_later and sent_later[0][0] <= cut:
            _, n, raw = heapq.heappop(sent_later)
            chunk.append((n, raw))
        report = services.replay(db, source, chunk, local_dt(cut, 120), live=live)
        waiting = report.deferred_lines
        total.applied += report.applied
        total.duplicates += report.duplicates
        total.rejected += report.rejected
        total.deadlines_fired += report.deadlines_fired
        total.clock = report.clock
        sent = senders.answer(services.list_requests(db), cut)  # (the new ones: open, or overdue already)
        for (at, _, _, _), (_, raw) in zip(sent, serialise(sent, f"r{day}"), strict=True):
            heapq.heappush(sent_later, (at, next_no, raw))
            next_no += 1
    live.drop()
    total.deferred_lines = waiting + [(i + 1, raw) for i, (_, raw) in enumerate(queue[pos:], pos)] + [
        (n, raw) for _, n, raw in sorted(sent_later)]
    return total


def consistency(first: Inbox, final: Inbox, world: SimWorld, contacts: list[Contact],
                clicks: list[Click] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    """Did the customers react to what ordercare really sent? For each problem, the first
    message about it in the watch pass against the final run (contacts included), up to the
    customer's first contact or click: they must agree, or the feedback loop was fed a wrong
    inbox. (What answers the customer's own words or clicks is not in the watch pass.)"""
    first_contact: dict[tuple[str, str], int] = {}
    acts = [(c.order_id, c.problem, c.at) for c in contacts] + [(k.order_id, k.problem, k.at) for k in clicks]
    for order_id, problem, at in acts:
        if problem is not None:
            key = (order_id, problem.family)
            first_contact[key] = min(first_contact.get(key, at), at)
    same = total = 0
    for p in world.problems:
        key = (p.order_id, p.family)
        horizon = first_contact.get(key, world.end_us)
        a = [t for t in first.by_family.get(key, []) if t < horizon][:1]
        b = [t for t in final.by_family.get(key, []) if t < horizon][:1]
        total += 1
        same += a == b
    return {"problems": total, "same_first_message": same / total if total else None}


def _fresh_sqlite(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        p = Path(f"{path}{suffix}")
        if p.exists():
            p.unlink()
    return f"sqlite:///{path}"


def _event_count(db: Any) -> int:
    from sqlalchemy import text
    with db.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM events")).scalar() or 0)


@contextmanager
def _progress(enabled: bool, console: Console) -> Iterator[Callable[[str, float], None]]:
    if not enabled:
        yield lambda _label, _amount: None
        return
    with Progress(TextColumn("{task.description:<44}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task("starting", total=100)

        def step(label: str, amount: float) -> None:
            bar.update(task, description=label, advance=amount)

        yield step
        bar.update(task, description="done", completed=100)


# Share of the bar each stage takes (about its share of the run time).
_STAGES = {"world": 10, "watch": 15, "react": 2, "replay": 62, "score": 5, "insights": 5, "report": 1}


def run_demo(orders: int = 20_000, days: int = 60, seed: int = 7, db_url: str | None = None,
             report_path: str | None = None, progress: bool = True,
             console: Console | None = None) -> Scorecard:
    """Simulate, play through ordercare, score; write the HTML report; return the scorecard."""
    console = console or Console(stderr=True)
    timings: dict[str, float] = {}
    started, cpu = time.perf_counter(), time.process_time()

    cpu_mark = [time.process_time()]

    def lap(name: str, since: float) -> float:
        now, cpu_now = time.perf_counter(), time.process_time()
        timings[name] = round(now - since, 2)
        timings[f"{name}_cpu"] = round(cpu_now - cpu_mark[0], 2)
        cpu_mark[0] = cpu_now
        return now

    given = db_url or os.environ.get("ORDERCARE_DB")  # (CONTRACT §2: every command's default)
    url = given or _fresh_sqlite(Path.cwd() / DEFAULT_DB_FILE)
    store = services.open_store(url)
    if given and _event_count(store):
        raise DemoError(f"{given!r} already holds events: the demo needs an empty database "
                        "(or neither --db nor ORDERCARE_DB, for a fresh SQLite file)")
    with _progress(progress, console) as step:
        t = time.perf_counter()
        step("building the marketplace", 0)
        world = simulate(orders, days, seed)
        step("ordercare watches the world", _STAGES["world"])
        t = lap("simulate", t)
        # What ordercare tells every customer, played on the world alone. All the orders: the
        # early warning learns its transit times from every parcel, and the orders of a SKU
        # share its stock, so a subset would not hear the same messages (meta.feedback checks).
        watched = {o.order_id for o in world.orders}
        with tempfile.TemporaryDirectory(prefix="ordercare-demo-") as tmp:
            scratch = services.open_store(f"sqlite:///{tmp}/watch.db")
            play(scratch, world, world.lines_of(watched), "world")
            first = inbox_of(services.list_cases(scratch), services.list_messages(scratch))
            scratch.dispose()
        step("ordercare watches the world", _STAGES["watch"])
        t = lap("watch", t)
        step("customers react (and their twins)", 0)
        contacts, clicks = react(world.orders, first, seed, world.end_us, "k-")
        twin, _ = react(world.orders, NO_MESSAGES, seed, world.end_us, "t-")
        tz = {c.customer_id: c.tz_min for c in world.market.customers}
        events = contact_lines(contacts, tz, clicks)
        said = serialise(events, "c")
        merged = sorted(zip(world.times + [e[0] for e in events],
                            [b for _, b in world.lines] + [b for _, b in said], strict=True),
                        key=lambda x: x[0])
        step("replaying the world with the contacts", _STAGES["react"])
        t = lap("react", t)
        senders = Senders(world)
        report = play_answering(store, world, merged, "demo", senders)
        step("replaying the world with the contacts", _STAGES["replay"])
        t = lap("replay", t)
        step("scoring against the ground truth", 0)
        cases, messages = services.list_cases(store), services.list_messages(store)
        card = score(world, cases, messages, contacts, twin, clicks, senders.done.values())
        card.meta["feedback"] = consistency(first, inbox_of(cases, messages), world, contacts, clicks)
        card.meta["watched_orders"] = len(watched)
        card.meta.update({"events": len(world.lines), "contact_events": len(contacts),
                          "rejected": len(report.rejected), "db": url,
                          "horizon": f"{iso(world.start_us, 120)} → {iso(world.end_us, 120)}",
                          "exception_messages_first_pass": sum(len(v) for v in first.by_family.values())})
        step("insights from the store", _STAGES["score"])
        t = lap("score", t)
        orders_now = read_orders(store)
        rows = insights(store, orders_now)
        card.flags = flag_check(rows, world)
        card.meta["insights"] = [r for r in rows if r["dimension"] in ("carrier", "seller", "fc")][:12]
        card.meta["insights_all"] = [r for r in rows if r["dimension"] != "sku" or r["systemic"]]
        card.early_warning = _early_warning(store, world, orders_now)
        with store.connect() as conn:  # what the sellers were told (their feed; a webhook pushes it)
            card.meta["seller_notices"] = seller_notices.counts(conn)
        card.meta["requests_to_sellers"] = sum(1 for rq in services.list_requests(store) if rq["to"] != "platform")
        step("writing the report", _STAGES["insights"])
        t = lap("insights", t)
        path = Path(report_path or Path.cwd() / DEFAULT_REPORT)
        card.seconds = timings
        timings["total"] = round(time.perf_counter() - started, 2)
        from ordercare.sim.report import write_report
        write_report(card, world, contacts, twin, path)
        card.report_path = str(path)
        lap("report", t)
        timings["total"] = round(time.perf_counter() - started, 2)
        timings["cpu"] = round(time.process_time() - cpu, 2)
        step("done", _STAGES["report"])
    store.dispose()
    return card


def _early_warning(store: Any, world: SimWorld, orders: dict[str, Any]) -> dict[str, Any] | None:
    """What the engine's early warning told customers, judged against the truth, with the
    offline evaluation of the same model (refreshed weekly) beside it."""
    from ordercare.insights.trending import evaluate
    from ordercare.policy import load_policies
    from ordercare.sim.scorecard import early_warning
    found = early_warning(world, services.list_cases(store))
    found["threshold"] = load_policies().watch.trending_late.threshold
    found["offline"] = evaluate(store, world.start_us, world.end_us, orders=orders)
    return found


def default_report_path() -> str:
    return os.path.join(os.getcwd(), DEFAULT_REPORT)
