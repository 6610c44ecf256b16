"""Keep-latest handoff between the subscription callback and the inference worker.

The callback never waits: a new frame replaces one the worker has not taken yet (counted as dropped), so a slow
model never builds a queue of stale frames.
"""

import threading
import time


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

    @property
    def holding(self) -> bool:
        return self._item is not None

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


class InferenceWorker:
    """The thread that takes frames from a LatestSlot and handles them one at a time.

    `stop` waits at most `timeout` seconds: a frame that hangs (a stalled GPU, a stuck detector call) must not
    hang deactivate or Ctrl-C. Such a thread is left behind as a daemon with its stop flag set, so it exits
    after its frame and hands nothing on (`current` tells the handler whether it is still wanted); `on_overstay`
    is told how long it had been busy.
    """

    def __init__(self, slot: LatestSlot, handle, on_error, on_overstay, name: str = "pmce_inference"):
        self.slot = slot
        self.handle, self.on_error, self.on_overstay = handle, on_error, on_overstay
        self.name = name
        self._thread: threading.Thread | None = None
        self._stopping: threading.Event | None = None
        self._busy_since: float | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the inference worker is already running")
        self.slot.reopen()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stopping,), name=self.name, daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        return self._busy_since is not None

    def current(self) -> bool:
        """Whether the calling worker thread has not been told to stop."""
        return self._stopping is not None and threading.current_thread() is self._thread and not self._stopping.is_set()

    def _run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            item = self.slot.take(timeout=0.5)
            if item is None or stopping.is_set():
                continue
            self._busy_since = time.monotonic()
            try:
                self.handle(item)
            except Exception as error:  # the worker must survive anything one frame can cause
                self.on_error(error)
            finally:
                self._busy_since = None

    def stop(self, timeout: float) -> bool:
        """Stops taking frames and waits up to `timeout` s for the frame in hand; False if it overstayed."""
        if self._thread is None:
            return True
        self._stopping.set()
        self.slot.close()
        self._thread.join(timeout)
        finished = not self._thread.is_alive()
        if not finished:
            busy = self._busy_since
            self.on_overstay(time.monotonic() - busy if busy is not None else timeout)
        self._thread, self._stopping = None, None
        return finished
