"""Keep-latest handoff between the subscription callback and the inference worker.

The callback never waits: a new frame replaces one the worker has not taken yet (counted as dropped), so a slow
model never builds a queue of stale frames.
"""

import threading


class LatestSlot:
    def __init__(self):
        self._condition = threading.Condition()
        self._item = None
        self._closed = False
        self.dropped = 0

    def put(self, item) -> None:
        with self._condition:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._condition.notify()

    def take(self, timeout: float | None = None):
        """The newest item, waiting up to `timeout` s; None on timeout or once closed."""
        with self._condition:
            self._condition.wait_for(lambda: self._item is not None or self._closed, timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    def reopen(self) -> None:
        with self._condition:
            self._closed = False
            self._item = None
