"""The deadline index: orders ordered by the next instant they need looking at.

A binary heap of ``(due, order_id)`` with lazy invalidation and lazy re-arming. Each order
has at most one live entry (``armed``); re-arming it *earlier* pushes a new entry (the old
one goes stale and is skipped when popped), re-arming it *later* pushes nothing: when its
earlier entry pops, the order's current ``next_due_us`` is read and the entry moves on to it.
Deadlines mostly move later (each scan pushes the stall deadline on), so most re-arms cost
nothing. A tick costs O(k log n) for k deadlines falling due, whatever the number of open
orders; nothing is ever scanned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from heapq import heappop, heappush


class DeadlineIndex:
    def __init__(self) -> None:
        self.heap: list[tuple[int, str]] = []
        self.armed: dict[str, int] = {}  # order -> the due of its live entry in the heap

    def __len__(self) -> int:
        return len(self.heap)

    def arm(self, order_id: str, due_us: int | None) -> None:
        if due_us is None:
            return
        armed = self.armed.get(order_id)
        if armed is not None and armed <= due_us:
            return  # its earlier entry pops first, and moves on to the order's due then
        self.armed[order_id] = due_us
        heappush(self.heap, (due_us, order_id))

    def pop_due(self, until_us: int, current: Callable[[str], int | None],
                inclusive: bool) -> Iterator[tuple[int, str]]:
        """Yield (due, order_id) for live entries due before ``until_us`` (or at it)."""
        heap, armed = self.heap, self.armed
        while heap and (heap[0][0] < until_us or (inclusive and heap[0][0] == until_us)):
            due, order_id = heappop(heap)
            if armed.get(order_id) != due:
                continue  # stale: the order was re-armed earlier since
            now_due = current(order_id)
            if now_due is not None and now_due > due:  # re-armed later: move on
                armed[order_id] = now_due
                heappush(heap, (now_due, order_id))
                continue
            del armed[order_id]
            if now_due == due:
                yield due, order_id
