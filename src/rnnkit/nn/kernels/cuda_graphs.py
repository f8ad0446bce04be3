"""CUDA graphs for the launch-bound paths: the Triton reset-before GRU and streaming ``step()``.

Why: a Triton forward+backward of the reset-before GRU at B64 T256 H512 keeps the H200 busy 17.5 ms but
takes 60 ms of wall time, the CPU launching 5·T small kernels from Python (issue 18). A CUDA graph records
those launches once and replays them with one call. Likewise a streaming ``step()`` at batch 1 is a few
µs of GPU work behind ~20 launches.

How: per shape, static buffers are allocated and the launch loops captured once (after a warm-up run
that compiles the Triton kernels); each call copies its inputs into the static buffers, replays, and
returns copies of the outputs. Graphs are cached by :func:`graph_key` — (T, B, H, dtype, device) plus the
flags that change the launches (bias, mask) — for the GRU, and per layer by batch, dtype, device and the
weights' addresses for ``step()``. If capture fails for a key (an unsupported op, too little memory) the
failure is remembered, a warning says so once, and that key runs the eager kernels from then on.

Opt-in until measured: the rows in :mod:`rnnkit.nn.backends` run only on CUDA with ``RNNKIT_CUDA_GRAPHS=1``
(``benchmarks/gpu_session.py`` sets it, checks graphed = eager, and times both). CPU calls never capture.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Hashable
from typing import Any

import torch
from torch import Tensor
from torch.utils.weak import WeakIdKeyDictionary

from rnnkit.nn.state import State, map_state

ENV = "RNNKIT_CUDA_GRAPHS"


def enabled() -> bool:
    """True when CUDA is present and ``RNNKIT_CUDA_GRAPHS=1`` asks for graphs."""
    return os.environ.get(ENV) == "1" and torch.cuda.is_available()


def can_capture(*tensors: Tensor) -> bool:
    """Only CUDA tensors are ever captured (a CPU call never reaches the capture code)."""
    return enabled() and all(t.is_cuda for t in tensors)


def graph_key(gi: Tensor, bias: Tensor | None, mask: Tensor | None) -> tuple:
    """(T, B, H, dtype, device, has_bias, has_mask): everything a captured GRU launch loop depends on."""
    T, B, G = gi.shape
    return (T, B, G // 3, gi.dtype, str(gi.device), bias is not None, mask is not None)


class GraphCache:
    """Entries built on first use by ``build(key, *example)``; a key whose build raised is remembered as
    failed (one warning) and :meth:`get` returns ``None`` for it from then on: the caller runs eagerly.

    At most ``max_entries`` are kept, the least recently used dropped first (with its buffers: a GRU entry
    at B64 T256 H512 holds ~0.5 GB), so batches of many different lengths cannot exhaust the memory."""

    def __init__(self, build: Callable[..., Any], what: str, max_entries: int = 8) -> None:
        self.build = build
        self.what = what
        self.max_entries = max_entries
        self.entries: dict[Hashable, Any] = {}  # in order of use, the most recent last
        self.failed: dict[Hashable, str] = {}

    def get(self, key: Hashable, *example: Any) -> Any:
        if key in self.failed:
            return None
        entry = self.entries.get(key)
        if entry is None:
            try:
                entry = self.build(key, *example)
            except Exception as exc:  # capture is an optimisation: any failure means "run eagerly"
                self.failed[key] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                warnings.warn(f"rnnkit: capturing {self.what} in a CUDA graph failed for {key} "
                              f"({self.failed[key]}); running it without a graph", stacklevel=3)
                return None
            if len(self.entries) >= self.max_entries:
                del self.entries[next(iter(self.entries))]
        else:
            del self.entries[key]  # re-inserted below: now the most recently used
        self.entries[key] = entry
        return entry


def _capture(run: Callable[[], None]) -> torch.cuda.CUDAGraph:
    """Warm ``run`` up on a side stream (compiles Triton kernels, settles allocations), then capture it."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        run()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        run()
    return graph


# ------------------------------------------------------------------ the Triton reset-before GRU


class _GRUGraphs:
    """Static buffers of one shape and the two captured loops (forward: 2T launches; backward: 3T)."""

    def __init__(self, key: tuple, gi: Tensor) -> None:
        from rnnkit.nn.kernels.triton_gru import backward_loop, forward_loop  # Triton: an optional extra

        T, B, H, dtype, _, self.has_bias, self.has_mask = key
        new = partial_empty(gi)
        self.gi, self.w, self.b = new(T, B, 3 * H), new(3 * H, H), new(3 * H)
        self.m = new(T, B)
        self.hs = new(T + 1, B, H)
        self.rs, self.zs, self.ns, self.rh, self.out = (new(T, B, H) for _ in range(5))
        self.d_out, self.dh, self.dh_acc, self.d_gi = new(T, B, H), new(B, H), new(B, H), new(T, B, 3 * H)
        for t in (self.gi, self.w, self.b, self.m, self.hs, self.d_out, self.dh):
            t.zero_()
        self.owner: object = None  # the forward call whose intermediates the buffers hold now
        self.forward = _capture(lambda: forward_loop(
            self.gi, self.w, self.b, self.m, self.hs, self.rs, self.zs, self.ns, self.rh, self.out, self.has_bias,
            self.has_mask))
        self.backward = _capture(lambda: backward_loop(
            self.d_out, self.dh, self.m, self.hs, self.rs, self.zs, self.ns, self.w, self.d_gi, self.dh_acc,
            self.has_mask))


def partial_empty(like: Tensor) -> Callable[..., Tensor]:
    """``new(*shape)``: an uninitialised tensor on ``like``'s device and dtype."""
    return lambda *shape: like.new_empty(shape)


GRU_GRAPHS = GraphCache(_GRUGraphs, "the Triton reset-before GRU")


class GraphedGRUResetBefore(torch.autograd.Function):
    """:class:`~rnnkit.nn.kernels.triton_gru.TritonGRUResetBefore` with both launch loops replayed from a
    CUDA graph; same interface and function. Only reached through :func:`gru_reset_before`."""

    @staticmethod
    def forward(ctx, gi: Tensor, h0: Tensor, weight_hh: Tensor, bias_hh: Tensor | None, mask: Tensor | None,
                graphs: _GRUGraphs) -> tuple[Tensor, Tensor]:
        T, B, _ = gi.shape
        graphs.gi.copy_(gi)
        graphs.w.copy_(weight_hh)
        if bias_hh is not None:
            graphs.b.copy_(bias_hh)
        if mask is not None:
            graphs.m.copy_(mask.reshape(T, B))
        graphs.hs[0].copy_(h0)
        graphs.forward.replay()
        token = object()
        graphs.owner = token
        if any(ctx.needs_input_grad[:4]):
            # Another call of the same shape (the next layer, the other direction) replays over these buffers
            # before this backward runs: keep this call's intermediates.
            saved = [t.clone() for t in (graphs.hs, graphs.rs, graphs.zs, graphs.ns, graphs.rh)]
            ctx.save_for_backward(*saved, weight_hh, mask)
        ctx.graphs, ctx.token, ctx.has_bias = graphs, token, bias_hh is not None
        return graphs.out.clone(), graphs.hs[T].clone()

    @staticmethod
    def backward(ctx, d_out: Tensor, d_hT: Tensor):
        from rnnkit.nn.kernels.triton_gru import weight_gradient  # Triton: an optional extra

        hs, rs, zs, ns, rh, weight_hh, mask = ctx.saved_tensors
        graphs: _GRUGraphs = ctx.graphs
        T, B, H = rs.shape
        if graphs.owner is not ctx.token:  # the buffers hold another call's intermediates: restore ours
            for static, mine in zip((graphs.hs, graphs.rs, graphs.zs, graphs.ns, graphs.rh), (hs, rs, zs, ns, rh),
                                    strict=True):
                static.copy_(mine)
            graphs.w.copy_(weight_hh)
            if mask is not None:
                graphs.m.copy_(mask.reshape(T, B))
            graphs.owner = ctx.token
        graphs.d_out.copy_(d_out)
        graphs.dh.copy_(d_hT)
        graphs.backward.replay()
        d_gi = graphs.d_gi.clone()
        d_w = weight_gradient(d_gi, hs, rh)
        d_b = d_gi.reshape(T * B, 3 * H).sum(0) if ctx.has_bias else None
        return d_gi, graphs.dh.clone(), d_w, d_b, None, None


def gru_reset_before(gi: Tensor, h0: Tensor, weight_hh: Tensor, bias_hh: Tensor | None,
                     mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """gi (T, B, 3H), h0 (B, H), weight_hh (3H, H), bias_hh (3H,) | None, mask (T, B, 1) | None → (out, h_T),
    from a CUDA graph where possible, else the eager Triton kernels (same function)."""
    from rnnkit.nn.kernels.triton_gru import TritonGRUResetBefore  # Triton: an optional extra

    graphs = None
    if can_capture(gi) and gi.dtype == torch.float32:
        graphs = GRU_GRAPHS.get(graph_key(gi, bias_hh, mask), gi.contiguous())
    if graphs is None:
        return TritonGRUResetBefore.apply(gi, h0, weight_hh, bias_hh, mask)
    return GraphedGRUResetBefore.apply(gi, h0, weight_hh, bias_hh, mask, graphs)


class GraphedOrEager:
    """What :func:`rnnkit.nn.kernels.bptt_gru.gru_reset_before_sequence` takes as ``function``: its ``apply``
    replays a graph when one exists (or can be captured) for the shape, else runs the eager kernels."""

    apply = staticmethod(gru_reset_before)


# ------------------------------------------------------------------ streaming step()


class _StepGraph:
    """One captured ``layer.step_layers`` call: static x (B, I) and state in, static top output and state out."""

    def __init__(self, key: tuple, layer: Any, x: Tensor, state: State, step: Callable) -> None:
        self.x = x.detach().clone()
        self.state = map_state(lambda s: s.detach().clone(), state)
        with torch.no_grad():
            out, new_state = layer.step_layers(self.x, self.state, step)  # eager once: the outputs' shapes
            self.out = out.clone()
            self.new_state = map_state(lambda s: s.clone(), new_state)

            def run() -> None:
                out, new_state = layer.step_layers(self.x, self.state, step)
                self.out.copy_(out)
                map_state(lambda static, s: static.copy_(s), self.new_state, new_state)

            self.graph = _capture(run)

    def __call__(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        self.x.copy_(x)
        map_state(lambda static, s: static.copy_(s), self.state, state)
        self.graph.replay()
        return self.out.clone(), map_state(lambda s: s.clone(), self.new_state)


_STEP_GRAPHS: WeakIdKeyDictionary = WeakIdKeyDictionary()  # layer → GraphCache of its step graphs


def step_key(layer: Any, x: Tensor) -> tuple:
    """(B, I, dtype, device, the weights' addresses): a graph reads the weights where they were captured."""
    return (x.shape[0], x.shape[1], x.dtype, str(x.device), tuple(p.data_ptr() for p in layer._flat_weights()))


def graphed_step(layer: Any, x: Tensor, state: State, step: Callable) -> tuple[Tensor, State]:
    """``layer.step_layers(x, state, step)`` replayed from a CUDA graph for this layer and shape (inference
    only: no autograd graph is recorded), or run eagerly where capture is impossible or failed."""
    parts = state if isinstance(state, tuple) else (state,)
    if torch.is_grad_enabled() or not can_capture(x, *parts):
        return layer.step_layers(x, state, step)
    cache = _STEP_GRAPHS.get(layer)
    if cache is None:
        cache = GraphCache(lambda key, *example: _StepGraph(key, *example), f"{type(layer).__name__}.step()")
        _STEP_GRAPHS[layer] = cache
    entry = cache.get(step_key(layer, x), layer, x, state, step)
    if entry is None:
        return layer.step_layers(x, state, step)
    return entry(x, state)
