"""The deadline index: orders ordered by the next instant they need looking at.

A binary heap of ``(due, order_id)`` with lazy invalidation: re-arming an order pushes a new
entry, and a popped entry that no longer matches the order's current ``next_due_us`` is
skipped. A tick therefore costs O(k log n) for k deadlines falling due, whatever the number
of open orders; nothing is ever scanned.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator


class DeadlineIndex:
    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []

    def __len__(self) -> int:
        return len(self._heap)

    def arm(self, order_id: str, due_us: int | None) -> None:
        if due_us is not None:
            heapq.heappush(self._heap, (due_us, order_id))

    def peek(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, until_us: int, current: Callable[[str], int | None],
                inclusive: bool) -> Iterator[tuple[int, str]]:
        """Yield (due, order_id) for live entries due before ``until_us`` (or at it)."""
        heap = self._heap
        while heap and (heap[0][0] < until_us or (inclusive and heap[0][0] == until_us)):
            due, order_id = heapq.heappop(heap)
            if current(order_id) == due:
                yield due, order_id
