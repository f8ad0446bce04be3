"""The CUDA-graph code where no GPU is needed: cache keys, the fallback after a failed capture, the
backend rows behind the CUDA check, and that CPU calls never try to capture."""

from __future__ import annotations

import pytest
import torch

from rnnkit.nn import Recurrent, get_cell
from rnnkit.nn.backends import HAVE_TRITON, pick
from rnnkit.nn.kernels import cuda_graphs


def test_graph_key_separates_every_shape_dtype_and_flag():
    gi = torch.zeros(7, 3, 12)
    key = cuda_graphs.graph_key(gi, torch.zeros(12), None)
    assert key == (7, 3, 4, torch.float32, "cpu", True, False)
    others = [cuda_graphs.graph_key(torch.zeros(8, 3, 12), torch.zeros(12), None),
              cuda_graphs.graph_key(torch.zeros(7, 2, 12), torch.zeros(12), None),
              cuda_graphs.graph_key(torch.zeros(7, 3, 15), torch.zeros(15), None),
              cuda_graphs.graph_key(gi.double(), torch.zeros(12), None),
              cuda_graphs.graph_key(gi, None, None),
              cuda_graphs.graph_key(gi, torch.zeros(12), torch.ones(7, 3, 1))]
    assert len({key, *others}) == 7


def test_failed_capture_warns_once_and_is_not_retried():
    calls = []

    def build(key, *example):
        calls.append(key)
        if key == "bad":
            raise RuntimeError("operation not permitted when stream is capturing\nmore")
        return f"graph for {key}"

    cache = cuda_graphs.GraphCache(build, "a test loop")
    with pytest.warns(UserWarning, match="a test loop.*RuntimeError: operation not permitted"):
        assert cache.get("bad") is None
    assert cache.get("bad") is None  # remembered: no second capture, no second warning
    assert cache.get("good") == "graph for good"
    assert cache.get("good") == "graph for good"
    assert calls == ["bad", "good"]


def test_cache_keeps_the_most_recently_used_entries():
    built = []
    cache = cuda_graphs.GraphCache(lambda key: built.append(key) or key, "a test loop", max_entries=2)
    for key in ("a", "b", "a", "c", "a", "b"):
        cache.get(key)
    assert built == ["a", "b", "c", "b"]  # "b" was dropped when "c" came (least recently used), then rebuilt
    assert list(cache.entries) == ["a", "b"]


def test_cpu_never_captures(monkeypatch):
    monkeypatch.setenv(cuda_graphs.ENV, "1")

    def no_capture(*args, **kwargs):
        raise AssertionError("a CPU call tried to capture a CUDA graph")

    monkeypatch.setattr(cuda_graphs, "_capture", no_capture)
    monkeypatch.setattr(cuda_graphs, "_StepGraph", no_capture)
    layer = Recurrent("lstm", 3, 4, 2).eval()
    x = torch.randn(2, 3)
    state = layer.zero_state(2, like=x)
    with torch.no_grad():
        got = cuda_graphs.graphed_step(layer, x, state, get_cell("lstm").step)
        want = layer.step_layers(x, state, get_cell("lstm").step)
    torch.testing.assert_close(got[0], want[0])
    assert not cuda_graphs.can_capture(x)
    assert cuda_graphs.enabled() == torch.cuda.is_available()
    key = (get_cell("gru-reset-before"), "cpu", True, "native", True)
    assert pick(*key)[0] == "bptt"
    assert pick(get_cell("lstm"), "cpu", False, "fused", True, "step")[0] != "cuda-graph"


def test_graph_rows_are_opt_in_and_cuda_only(monkeypatch):
    rb, lstm = get_cell("gru-reset-before"), get_cell("lstm")
    pick.cache_clear()
    try:
        monkeypatch.setattr(cuda_graphs, "enabled", lambda: False)
        assert pick(rb, "cuda", True, "native", True)[0] == ("triton" if HAVE_TRITON else "bptt")
        assert pick(lstm, "cuda", False, "fused", True, "step")[0] == "fused"
        pick.cache_clear()
        monkeypatch.setattr(cuda_graphs, "enabled", lambda: True)
        assert pick(rb, "cuda", True, "native", True)[0] == ("triton-graph" if HAVE_TRITON else "bptt")
        assert pick(lstm, "cuda", False, "fused", True, "step")[0] == "cuda-graph"
        assert pick(lstm, "cuda", True, "fused", True, "step")[0] == "fused"  # graphs record no autograd graph
        assert pick(lstm, "cuda", False, "fused", True, "step", dropout=True)[0] == "fused"  # random masks
        assert pick(lstm, "cpu", False, "fused", True, "step")[0] != "cuda-graph"
    finally:
        pick.cache_clear()


REPLAY_CHECK = r"""
import json, os, types
os.environ["RNNKIT_CUDA_GRAPHS"] = "1"
import torch
from rnnkit.nn import Recurrent
from rnnkit.nn.kernels import cuda_graphs, fused
from rnnkit.nn.kernels.triton_gru import TritonGRUResetBefore
from functools import partial

# A stand-in for torch.cuda.graph: "capture" runs the loop once, "replay" runs it again into the same static
# buffers. Everything around the capture (copies in and out, intermediates kept per call, the buffer owner
# restored before a backward) then runs for real, with the Triton kernels in TRITON_INTERPRET mode.
cuda_graphs._capture = lambda run: (run(), types.SimpleNamespace(replay=run))[1]
cuda_graphs.can_capture = lambda *tensors: True
torch.manual_seed(0)
T, B, H = 4, 3, 40
lengths = torch.tensor([4, 2, 3])
mask = (torch.arange(T)[:, None] < lengths).unsqueeze(2).float()
args = [torch.randn(T, B, 3 * H), torch.randn(B, H), torch.randn(3 * H, H) * 0.2, torch.randn(3 * H)]
args = [a.requires_grad_(True) for a in args]
other = [(a * 0.5).detach().requires_grad_(True) for a in args]

def losses(apply):
    first = apply(*args, mask)  # two calls of one shape before either backward (a 2-layer net does this)
    second = apply(*other, mask)
    w = torch.linspace(-1, 1, first[0].numel()).view_as(first[0])
    loss = (first[0] * w).sum() + (first[1] ** 2).sum() + (second[0] * w.flip(0)).sum()
    return [first[0], first[1], second[0], *torch.autograd.grad(loss, args + other)]

graphed = losses(cuda_graphs.GraphedOrEager.apply)
eager = losses(TritonGRUResetBefore.apply)
errors = {"gru": max((a - b).abs().max().item() for a, b in zip(graphed, eager)),
          "gru_entries": len(cuda_graphs.GRU_GRAPHS.entries)}
layer = Recurrent("lstm", 5, 6, 2).eval()
x = torch.randn(7, 2, 5)
with torch.no_grad():
    want, _ = layer(x)
    state, got = layer.zero_state(2, like=x), []
    for t in range(7):
        out, state = cuda_graphs.graphed_step(layer, x[t], state, partial(fused.fused_step, "LSTM"))
        got.append(out)
errors["step"] = (torch.stack(got) - want).abs().max().item()
errors["step_entries"] = len(cuda_graphs._STEP_GRAPHS[layer].entries)
print(json.dumps(errors))
"""


@pytest.mark.skipif(not HAVE_TRITON, reason="triton is not installed")
def test_graph_buffers_copies_and_owner_with_a_stand_in_replay():
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, TRITON_INTERPRET="1")
    result = subprocess.run([sys.executable, "-c", REPLAY_CHECK], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    errors = json.loads(result.stdout.strip().splitlines()[-1])
    assert errors["gru_entries"] == 1 and errors["step_entries"] == 1  # one graph per shape, reused
    assert errors["gru"] < 1e-5, errors
    assert errors["step"] < 1e-6, errors


@pytest.mark.skipif(not HAVE_TRITON, reason="triton is not installed")
def test_gpu_session_script_runs_in_cpu_smoke_mode(tmp_path):
    """The prepared GPU script itself, on the CPU with tiny shapes (~20 s): every section runs and writes."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parent.parent / "benchmarks" / "gpu_session.py"
    result = subprocess.run([sys.executable, str(script), "--out", str(tmp_path), "--cpu-smoke"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    session = json.loads(next((tmp_path / "results").glob("gpu-session-*-smoke.json")).read_text())
    assert set(session) >= {"correctness", "layers", "streaming_us_per_step", "new_cells"} and not session["skipped"]
    assert max(session["correctness"]["triton_vs_cpu_bptt"].values()) < 1e-5
    assert max(session["correctness"]["graphed_vs_eager_triton"].values()) < 1e-5
    assert {r["candidate"] for r in session["layers"]} >= {"gru-reset-before Triton CUDA graph", "nn.GRU (cuDNN)"}
    assert "Outcome" in (tmp_path / "gpu-notes-outcome.md").read_text()
