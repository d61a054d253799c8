"""The demo's final run goes a day at a time, so that the warehouse and the sellers can
answer ordercare's requests to send lines again as they come (sim/resend.py). Cutting the
horizon into days must change nothing else: the same world played in one pass and in daily
passes of one kept session gives the same cases and the same messages."""

from __future__ import annotations

from ordercare import services
from ordercare.sim.demo import play, play_answering
from ordercare.sim.marketplace import simulate
from ordercare.sim.resend import Senders


class Deaf(Senders):
    """Senders that never answer: the daily passes alone."""

    def answer(self, requests, seen_at):  # type: ignore[no-untyped-def]
        return []


def test_daily_passes_give_what_one_pass_gives(tmp_path):
    world = simulate(1200, 16, 3)
    one = services.open_store(f"sqlite:///{tmp_path}/one.db")
    daily = services.open_store(f"sqlite:///{tmp_path}/daily.db")
    whole = play(one, world, world.lines, "world")
    report = play_answering(daily, world, list(zip(world.times, [raw for _, raw in world.lines], strict=True)),
                            "world", Deaf(world))
    assert not report.rejected and (report.applied, report.deferred) == (whole.applied, whole.deferred)
    assert report.deadlines_fired == whole.deadlines_fired and report.clock == whole.clock
    cases = services.list_cases(one)
    assert len(cases) > 20, "a world with trouble in it"
    assert services.list_cases(daily) == cases
    assert services.list_messages(daily) == services.list_messages(one)
