"""Dynamic batching: concurrent predict requests to one model share one batched forward pass.

Each served model owns one worker thread, and every forward pass of that model runs on it, so the event
loop never blocks on the network and the model is never entered by two threads at once. Jobs wait in one
queue, in arrival order:

    request A: predict ["a1", "a2"] ─┐
    request B: predict ["b1"]        ├─> worker: model.predict(["a1", "a2", "b1", "c1"]) ─> split back: A, B, C
    request C: predict ["c1"]       ─┘           (one padded (B=4, T) batch through the recurrent layer)
    request D: trace "d"            ───> worker: runs alone, after the batch (any other job is a plain call)

When the worker takes a predict job it keeps taking the predict jobs behind it until the group holds
``max_batch`` inputs, a different kind of job is next, or ``max_wait`` seconds have passed since it took the
first one (the bounded wait: at most this much latency is added to buy a bigger batch). The wait is only
spent while company is on its way — the event loop is still reading more predict requests than the group
holds (``Arrivals``) — so a lone client pays nothing for it, and a group runs as soon as everyone who has
arrived is in it. With batching off every predict job runs alone, on the same thread, so the two modes differ only in
the grouping.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from rnnkit.serve.cancel import Abandoned, Cancellation

log = logging.getLogger("rnnkit.serve")

POLL = 0.0005  # seconds between looks at the arrivals while a group waits for company
PredictMany = Callable[[list[str]], list[dict[str, Any]]]


@dataclass
class _Job:
    """One request's work: ``inputs`` for a predict job, or ``call`` for anything else."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    inputs: list[str] = field(default_factory=list)
    call: Callable[[], Any] | None = None
    abandoned: threading.Event = field(default_factory=threading.Event)  # the request timed out or went away


class Arrivals:
    """How many requests to one path the server is handling (from their first byte to their answer): the
    worker compares it with the jobs it holds to tell whether more are on their way. ``middleware`` counts."""

    def __init__(self, path: str = "/api/predict") -> None:
        self.path = path
        self.count = 0  # written on the event loop, read by the worker threads (an int read is atomic)

    def middleware(self, app: Callable) -> Callable:
        """An ASGI app that counts this path's requests around ``app``."""

        async def counted(scope: dict, receive: Callable, send: Callable) -> None:
            if scope["type"] != "http" or scope["path"] != self.path:
                await app(scope, receive, send)
                return
            self.count += 1
            try:
                await app(scope, receive, send)
            finally:
                self.count -= 1

        return counted


def _resolve(future: asyncio.Future, result: Any = None, error: BaseException | None = None) -> None:
    """Set a future from the event loop's thread (a future that was cancelled meanwhile is left alone)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _resolve_all(answers: list[tuple[asyncio.Future, Any]]) -> None:
    """:func:`_resolve` for every request of a batched forward pass: one wake-up of the event loop for all."""
    for future, result in answers:
        _resolve(future, result)


class ModelWorker:
    """The one thread that runs a model: batched predicts plus any other call, in arrival order.

    Args:
        name: the model's served name (names the thread and the log lines).
        predict_many: texts -> one result dict per text, in order (one batched forward pass).
        batching: group concurrent predict jobs (False: each runs alone).
        max_batch: most inputs in one forward pass.
        max_wait: seconds the first job of a group may wait for more (the bound on the added latency).
        arriving: how many predict requests the server is handling now, queued or not (``Arrivals.count``).
        networks: the model's networks; a job whose requests are all abandoned stops at their next step
            (``cancel.Cancellation``), so a timed-out request frees the model for the next one.
    """

    def __init__(self, name: str, predict_many: PredictMany | None, *, batching: bool = True, max_batch: int = 64,
                 max_wait: float = 0.005, arriving: Callable[[], int] | None = None,
                 networks: Sequence[torch.nn.Module] = ()) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        if not 0 <= max_wait <= 1:
            raise ValueError(f"max_wait must be in [0, 1] seconds, got {max_wait}")
        self.name = name
        self.predict_many = predict_many
        self.batching = batching
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.arriving = arriving
        self._jobs: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._batch_sizes: Counter[int] = Counter()  # requests per forward pass -> how many passes
        self._inputs = 0
        self._last_group = 0  # requests in the latest forward pass
        self._calls = 0
        self._stopped = 0  # jobs stopped part-way because their requests were abandoned
        self.cancel = Cancellation()
        self.cancel.watch(networks)
        self._thread = threading.Thread(target=self._run, name=f"rnnkit-serve-{name}", daemon=True)
        self._thread.start()

    # ── the event loop's side ──────────────────────────────────────────────────────────────────────────
    async def predict(self, inputs: Sequence[str], timeout: float | None = None) -> list[dict[str, Any]]:
        """One result per input, computed in a (possibly shared) batched forward pass.

        Raises:
            TimeoutError: not done within ``timeout`` seconds (the job is dropped if it has not started).
            ValueError: the model refused an input (the message names the input's position).
        """
        if self.predict_many is None:
            raise ValueError(f"model {self.name} does not predict labels")
        return await self._submit(list(inputs), None, timeout)

    async def call(self, fn: Callable[[], Any], timeout: float | None = None) -> Any:
        """Run ``fn()`` on the model's thread (after the jobs ahead of it) and return its result."""
        return await self._submit([], fn, timeout)

    def submit_call(self, fn: Callable[[], Any]) -> tuple[asyncio.Future, threading.Event]:
        """Queue ``fn()`` without waiting: its future, and the event that tells ``fn`` to stop early."""
        job = self._enqueue([], fn)
        return job.future, job.abandoned

    async def _submit(self, inputs: list[str], fn: Callable[[], Any] | None, timeout: float | None) -> Any:
        job = self._enqueue(inputs, fn)
        try:  # on a timeout or cancellation the job's future is cancelled: the worker then leaves it alone
            return await asyncio.wait_for(job.future, timeout)
        except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
            job.abandoned.set()
            raise TimeoutError(f"model {self.name} did not answer within {timeout} s") from None
        except asyncio.CancelledError:
            job.abandoned.set()
            raise

    def _enqueue(self, inputs: list[str], fn: Callable[[], Any] | None) -> _Job:
        loop = asyncio.get_running_loop()
        job = _Job(loop=loop, future=loop.create_future(), inputs=inputs, call=fn)
        with self._cond:
            if self._closed:
                raise RuntimeError(f"model {self.name} is shutting down")
            self._jobs.append(job)
            self._cond.notify()
        return job

    def stats(self) -> dict[str, Any]:
        """Counters: forward passes by the number of requests they served, inputs, other calls."""
        with self._cond:
            sizes = dict(sorted(self._batch_sizes.items()))
            passes = sum(sizes.values())
            requests = sum(size * count for size, count in sizes.items())
            return {"batching": self.batching, "max_batch": self.max_batch, "max_wait_ms": self.max_wait * 1000,
                    "predict_requests": requests, "forward_passes": passes, "inputs": self._inputs,
                    "largest_group": max(sizes, default=0), "requests_per_pass": {str(k): v for k, v in sizes.items()},
                    "other_calls": self._calls, "stopped_abandoned": self._stopped, "queued": len(self._jobs)}

    def close(self, timeout: float = 30.0) -> None:
        """Finish the queued jobs, then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)
        self.cancel.unwatch()

    # ── the worker thread's side ───────────────────────────────────────────────────────────────────────
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._jobs and not self._closed:
                    self._cond.wait()
                if not self._jobs:
                    return  # closed and drained
                job = self._jobs.popleft()
            if job.abandoned.is_set():
                continue
            group = [job] if job.call is not None else self._gather(job)
            try:
                with self.cancel.running([member.abandoned for member in group]):
                    if job.call is not None:
                        self._run_call(job)
                    else:
                        self._run_group(group)
            except Abandoned:  # nobody waits for these results: drop them (and their tensors) and go on
                with self._cond:
                    self._stopped += 1
                log.info("model %s: stopped a job whose %d request(s) were abandoned", self.name, len(group))

    def _gather(self, first: _Job) -> list[_Job]:
        """``first`` and the predict jobs queued behind it, within ``max_batch`` inputs and ``max_wait``."""
        group = [first]
        if not self.batching:
            return group
        size = len(first.inputs)
        deadline = time.monotonic() + self.max_wait
        with self._cond:
            while size < self.max_batch:
                if self._jobs:
                    nxt = self._jobs[0]
                    if nxt.call is not None or size + len(nxt.inputs) > self.max_batch:
                        break  # keep the order: a different job, or one that does not fit, goes next
                    self._jobs.popleft()
                    if not nxt.abandoned.is_set():
                        group.append(nxt)
                        size += len(nxt.inputs)
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed or not self._more_coming(len(group)):
                    break
                self._cond.wait(min(remaining, POLL))  # woken by a new job; polls the arrivals
        return group

    def _more_coming(self, held: int) -> bool:
        """Whether another predict request is on its way: the server is still reading more requests than
        the group holds (or, without that count, the previous pass served several)."""
        if self.arriving is not None:
            return self.arriving() > held
        return self._last_group > 1

    def _run_group(self, group: list[_Job]) -> None:
        texts = [text for job in group for text in job.inputs]
        try:
            results = self.predict_many(texts)
        except Exception as exc:  # noqa: BLE001 - delivered to the request(s) it belongs to
            if len(group) > 1:
                for job in group:  # one bad request must not fail the others it was grouped with
                    self._run_group([job])
                return
            self._deliver(group[0], error=exc)
            return
        with self._cond:
            self._last_group = len(group)
            self._batch_sizes[len(group)] += 1
            self._inputs += len(texts)
        answers: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future, Any]]] = {}
        start = 0
        for job in group:
            answers.setdefault(job.loop, []).append((job.future, results[start:start + len(job.inputs)]))
            start += len(job.inputs)
        for loop, pairs in answers.items():  # one call per event loop, not per request: each call wakes the loop
            try:
                loop.call_soon_threadsafe(_resolve_all, pairs)
            except RuntimeError:
                pass  # the event loop has closed: nobody is waiting any more

    def _run_call(self, job: _Job) -> None:
        try:
            result = job.call()
        except Exception as exc:  # noqa: BLE001 - delivered to the request it belongs to
            self._deliver(job, error=exc)
            return
        with self._cond:
            self._calls += 1
        self._deliver(job, result=result)

    def _deliver(self, job: _Job, result: Any = None, error: BaseException | None = None) -> None:
        if error is not None and not isinstance(error, ValueError):
            log.error("model %s: %s", self.name, error, exc_info=error)
        try:
            job.loop.call_soon_threadsafe(_resolve, job.future, result, error)
        except RuntimeError:
            pass  # the event loop has closed: nobody is waiting any more
