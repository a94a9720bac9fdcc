"""An executor for the callbacks' deadlines (bot/platforms/answering.py) on a scripted clock: each
job runs in a thread of its own, but the test says when, on the adapter's clock, it is done.

Waiting on a job's future moves that clock instead of the wall clock: `result(timeout=0.5)` on a
job scripted to take 0.9 s returns TimeoutError at once, the next `result(timeout=1.5)` lets the
job run and returns its outcome. So a deadline test takes as long as its work, not its margins.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any


class ScriptedExecutor(concurrent.futures.Executor):
    def __init__(self) -> None:
        self.waited = 0.0  # seconds the adapter has waited in all, on the scripted clock
        self._next_takes: float | None = 0.0
        self._gates: list[threading.Event] = []
        self._threads: list[threading.Thread] = []

    def next_job_takes(self, seconds: float | None) -> None:
        """The next job submitted is done `seconds` after it; None: held until `release()`, as by a
        database that hangs. Other jobs are done at once."""
        self._next_takes = seconds

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        takes, self._next_takes = self._next_takes, 0.0
        gate = threading.Event()
        future = _ScriptedFuture(self, gate, takes)

        def run() -> None:
            gate.wait()
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as err:  # handed to whoever waits on the future, as a pool does
                future.set_exception(err)
            else:
                future.set_result(result)  # runs the done callbacks (the late answer) in this thread

        thread = threading.Thread(target=run, daemon=True)
        self._gates.append(gate)
        self._threads.append(thread)
        thread.start()
        return future

    def release(self) -> None:
        """Let every job held back run now (the hung database answers after all)."""
        for gate in self._gates:
            gate.set()

    def settle(self, timeout: float = 10) -> None:
        """Wait until every job that may run has run, its done callbacks included."""
        for gate, thread in zip(self._gates, self._threads, strict=True):
            if gate.is_set():
                thread.join(timeout)
                assert not thread.is_alive(), "a job did not finish"


class _ScriptedFuture(concurrent.futures.Future):
    def __init__(self, executor: ScriptedExecutor, gate: threading.Event, takes: float | None) -> None:
        super().__init__()
        self._executor, self._gate, self._takes = executor, gate, takes
        self._elapsed = 0.0

    def result(self, timeout: float | None = None) -> Any:
        if timeout is None or self._gate.is_set():
            return super().result(timeout if timeout is None else 10)
        if self._takes is not None and self._elapsed + timeout >= self._takes:
            self._executor.waited += self._takes - self._elapsed
            self._gate.set()  # done within this wait: the job runs now, at the wall clock's pace
            return super().result(10)
        self._elapsed += timeout
        self._executor.waited += timeout
        raise concurrent.futures.TimeoutError
