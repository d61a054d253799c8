"""Following a growing events file: whole lines only, numbered as in the file."""

from __future__ import annotations

import os
from pathlib import Path

from ordercare.follow import TORN_PATIENCE, Follower


def test_a_torn_line_waits_for_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    path.write_bytes(b'{"a":1}\n{"b":2}\n{"c":')
    follow = Follower(path)
    assert follow.new_lines() == [(1, b'{"a":1}'), (2, b'{"b":2}')]
    with path.open("ab") as fh:
        fh.write(b'3}\n\n{"d":4}\n')
    assert follow.new_lines() == [(3, b'{"c":3}'), (4, b""), (5, b'{"d":4}')]
    assert follow.new_lines() == []


def test_a_last_line_without_newline_is_taken_once_the_file_stops_growing(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    path.write_bytes(b'{"a":1}\n{"b":2}')
    follow = Follower(path)
    assert follow.new_lines() == [(1, b'{"a":1}')]
    assert follow.new_lines() == [(2, b'{"b":2}')]  # a tick later, still the same size


def test_a_replaced_or_truncated_file_is_read_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    path.write_bytes(b'{"a":1}\n{"b":2}\n')
    follow = Follower(path)
    assert len(follow.new_lines()) == 2
    fresh = tmp_path / "rotated.jsonl"
    fresh.write_bytes(b'{"c":3}\n{"d":4}\n{"e":5}\n')
    os.replace(fresh, path)  # a new file under the same name (log rotation)
    assert follow.new_lines() == [(1, b'{"c":3}'), (2, b'{"d":4}'), (3, b'{"e":5}')]
    path.write_bytes(b'{"f":6}\n')  # truncated in place, then written again
    assert follow.new_lines() == [(1, b'{"f":6}')]


def test_a_missing_file_gives_nothing_yet(tmp_path: Path) -> None:
    assert Follower(tmp_path / "not-yet.jsonl").new_lines() == []


def _read_two_then(tmp_path: Path, more: bytes) -> tuple[Path, Follower]:
    """A follower that read the file's two lines; then ``more`` was written to it."""
    path = tmp_path / "live.jsonl"
    path.write_bytes(b'{"a":1}\n{"a":2}\n')
    follow = Follower(path)
    assert follow.new_lines() == [(1, b'{"a":1}'), (2, b'{"a":2}')]
    with path.open("ab") as fh:
        fh.write(more)
    return path, follow


def test_lines_written_just_before_a_rotation_are_read_from_the_old_file_first(tmp_path: Path) -> None:
    """logrotate's default: the file is renamed away and a new one created. What the old one
    got since the last tick (its last line even without a newline: it is finished) comes
    first, then the new file from its start."""
    path, follow = _read_two_then(tmp_path, b'{"a":3}\n{"a":4}')
    os.rename(path, tmp_path / "live.jsonl.1")
    path.write_bytes(b'{"b":1}\n')
    assert follow.new_lines() == [(3, b'{"a":3}'), (4, b'{"a":4}'), (1, b'{"b":1}')]
    assert follow.new_lines() == []
    follow.close()


def test_lines_written_just_before_a_copytruncate_are_read_from_the_copy(tmp_path: Path) -> None:
    """logrotate's ``copytruncate``: the file is copied to live.jsonl.1, then emptied in
    place (same inode). What it got since the last tick is in the copy: read from there,
    then the emptied file from its start."""
    path, follow = _read_two_then(tmp_path, b'{"a":3}\n{"a":4}\n')
    (tmp_path / "live.jsonl.1").write_bytes(path.read_bytes())
    with path.open("r+b") as fh:
        fh.truncate(0)
    with path.open("ab") as fh:
        fh.write(b'{"b":1}\n')
    assert follow.new_lines() == [(3, b'{"a":3}'), (4, b'{"a":4}'), (1, b'{"b":1}')]
    assert follow.new_lines() == []


def test_a_file_emptied_and_written_past_where_the_follower_stood_is_read_from_its_start(tmp_path: Path) -> None:
    """Emptied in place, then written again beyond the follower's offset before its next
    tick: its size alone does not show it; the bytes before the offset do."""
    path = tmp_path / "live.jsonl"
    path.write_bytes(b'{"a":1}\n')
    follow = Follower(path)
    assert follow.new_lines() == [(1, b'{"a":1}')]
    path.write_bytes(b'{"b":1}\n{"b":2}\n{"b":3}\n')
    assert follow.new_lines() == [(1, b'{"b":1}'), (2, b'{"b":2}'), (3, b'{"b":3}')]


def _restarted(follow: Follower, tmp_path: Path) -> Follower:
    """The follower as a restarted ``watch`` finds it: its place, saved in the store."""
    from ordercare import services
    db = services.open_store(f"sqlite:///{tmp_path}/store.db")
    try:
        follow.save(db)
        follow.close()
        again = Follower(follow.path)
        again.restore(db)
        return again
    finally:
        db.dispose()


def test_a_watch_restarted_after_a_rotation_reads_the_rest_of_the_old_file_first(tmp_path: Path) -> None:
    """The watch was stopped; meanwhile the file got two lines and was rotated away (renamed,
    a new one created). Restarted, it finds the old file by its identity and reads what it had
    not read, then the new file."""
    path, follow = _read_two_then(tmp_path, b'{"a":3}\n{"a":4}\n')
    follow = _restarted(follow, tmp_path)
    os.rename(path, tmp_path / "live.jsonl-20261125")
    path.write_bytes(b'{"b":1}\n')
    assert follow.new_lines() == [(3, b'{"a":3}'), (4, b'{"a":4}'), (1, b'{"b":1}')]


def test_a_watch_restarted_after_a_copytruncate_reads_the_rest_from_the_copy(tmp_path: Path) -> None:
    path, follow = _read_two_then(tmp_path, b'{"a":3}\n')
    follow = _restarted(follow, tmp_path)
    (tmp_path / "live.jsonl.1").write_bytes(path.read_bytes())
    path.write_bytes(b'{"b":1}\n{"b":2}\n{"b":3}\n')  # emptied, and written past the old offset
    assert follow.new_lines() == [(3, b'{"a":3}'), (1, b'{"b":1}'), (2, b'{"b":2}'), (3, b'{"b":3}')]


def test_a_producer_that_pauses_mid_line_for_ticks_gets_its_line_read_whole(tmp_path: Path) -> None:
    """The producer wrote half a line and stalled for a few ticks: the half is not taken as a
    line of its own (two dead letters for one event); the line is read once complete."""
    path = tmp_path / "live.jsonl"
    path.write_bytes(b'{"a":1}\n{"c":')
    follow = Follower(path)
    assert follow.new_lines() == [(1, b'{"a":1}')]
    assert follow.new_lines() == [] and follow.new_lines() == [], "half a line: not an event, waits"
    with path.open("ab") as fh:
        fh.write(b'3}\n')
    assert follow.new_lines() == [(2, b'{"c":3}')]


def test_a_torn_line_never_finished_is_taken_in_the_end_to_be_kept_as_a_dead_letter(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    path.write_bytes(b'{"a":1}\n{"c":')
    follow = Follower(path)
    assert follow.new_lines() == [(1, b'{"a":1}')]
    taken = [follow.new_lines() for _ in range(TORN_PATIENCE)]  # (ticks with the file not growing)
    assert taken[-1] == [(2, b'{"c":')] and not any(taken[:-1])


def test_a_file_holding_half_a_first_line_gives_no_line_yet(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    path.write_bytes(b'{"a":')
    assert Follower(path).new_lines() == [], "not an empty line 1"
