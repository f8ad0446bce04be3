"""One prepared script for a session with a lent GPU (≤ 8 minutes; device time is scarce, all tries together).

    python3 benchmarks/gpu_session.py --out "$OUT"        # on the device machine, from the repo root
    python3 benchmarks/gpu_session.py --out /tmp/s --cpu-smoke   # tiny shapes on the CPU: tests the script

1. correctness: the Triton reset-before GRU against the native kernel on the CPU (fp32), outputs and every
   gradient, with variable lengths; the CUDA-graphed GRU and graphed step() against their eager runs;
2. issue 18's shapes, forward+backward, next to nn.GRU / nn.LSTM (cuDNN) in one interleaved run: the
   Triton kernels eager and replayed from CUDA graphs, and the eager reference loop;
3. streaming at batch 1, H=1024: µs per step of step() eager, graphed and as the backend table picks it,
   vs nn.GRU / nn.LSTM on the whole sequence;
4. the cells torch.nn cannot run (LayerNorm-LSTM, zoneout, variational dropout) next to nn.LSTM
   (``benchmarks/bench_new_cells.py``).
Writes, under --out: results/gpu-session-<card>.json and results/new-cells-<card>.json (after every section,
so a timeout keeps what finished) and gpu-notes-outcome.md, the text to append to benchmarks/gpu-notes.md.
Needs torch + triton only (no librosa/soundfile). Sections are skipped once 7 minutes have passed.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch

from rnnkit.bench.timing import machine_info, machine_tag, time_interleaved
from rnnkit.nn import Recurrent
from rnnkit.nn.kernels import bptt_gru, cuda_graphs, fused

SHAPES = [dict(B=64, T=256, E=256, H=512), dict(B=128, T=64, E=512, H=1024)]
SMOKE_SHAPES = [dict(B=4, T=8, E=8, H=16)]
BUDGET_S = 7 * 60
STREAM = dict(T=512, E=256, H=1024)
SMOKE_STREAM = dict(T=6, E=8, H=16)


def _errors(names: list[str], a: list[torch.Tensor], b: list[torch.Tensor]) -> dict[str, float]:
    return {n: (x.detach().cpu() - y.detach().cpu()).abs().max().item() for n, x, y in zip(names, a, b, strict=True)}


def _gru_problem(T: int, B: int, H: int, device: str) -> tuple[list[torch.Tensor], torch.Tensor]:
    torch.manual_seed(0)
    lengths = torch.randint(1, T + 1, (B,))
    mask = (torch.arange(T)[:, None] < lengths).unsqueeze(2).float().to(device)
    tensors = [torch.randn(T, B, 3 * H), torch.randn(B, H), torch.randn(3 * H, H) * 0.05, torch.randn(3 * H)]
    return [t.to(device).requires_grad_(True) for t in tensors], mask


def _run_gru(apply: Callable, args: list[torch.Tensor], mask: torch.Tensor) -> list[torch.Tensor]:
    out, h_T = apply(*args, mask)
    weights = torch.linspace(-1, 1, out.numel(), device=out.device).view_as(out)
    return [out, h_T, *torch.autograd.grad((out * weights).sum() + (h_T ** 2).sum(), args)]


def correctness(device: str, smoke: bool) -> dict:
    """Max abs errors: Triton vs the CPU ``bptt`` kernel; graphed vs eager Triton (two calls of one shape
    before their backwards, as a 2-layer or bidirectional net does); graphed vs eager step()."""
    from rnnkit.nn.kernels.triton_gru import TritonGRUResetBefore

    T, B, H = (5, 3, 40) if smoke else (33, 19, 200)
    names = ["out", "h_T", "d_gi", "d_h0", "d_weight_hh", "d_bias_hh"]
    args, mask = _gru_problem(T, B, H, "cpu")
    expected = _run_gru(bptt_gru.GRUResetBeforeSequence.apply, args, mask)
    dev_args, dev_mask = _gru_problem(T, B, H, device)
    result = {"triton_vs_cpu_bptt": _errors(names, _run_gru(TritonGRUResetBefore.apply, dev_args, dev_mask),
                                            expected)}
    first = cuda_graphs.GraphedOrEager.apply(*dev_args, dev_mask)
    second = cuda_graphs.GraphedOrEager.apply(*(a * 0.5 for a in dev_args), dev_mask)  # overwrites the buffers
    weights = torch.linspace(-1, 1, first[0].numel(), device=device).view_as(first[0])
    loss = (first[0] * weights).sum() + (first[1] ** 2).sum() + 0.0 * second[0].sum()
    graphed = [first[0], first[1], *torch.autograd.grad(loss, dev_args)]
    result["graphed_vs_eager_triton"] = _errors(names, graphed, _run_gru(TritonGRUResetBefore.apply, dev_args,
                                                                         dev_mask))
    result["gru_graphs_built"] = len(cuda_graphs.GRU_GRAPHS.entries)
    result["gru_graph_failures"] = dict((str(k), v) for k, v in cuda_graphs.GRU_GRAPHS.failed.items())
    layer = Recurrent("lstm", 8, 16, 2).to(device).eval()
    x = torch.randn(4, 3, 8, device=device)
    with torch.no_grad():
        want, _ = layer(x)
        state, got = None, []
        for t in range(4):
            state = state if state is not None else layer.zero_state(3, like=x)
            out, state = cuda_graphs.graphed_step(layer, x[t], state, partial(fused.fused_step, "LSTM"))
            got.append(out)
    result["graphed_step_vs_forward"] = (torch.stack(got) - want).abs().max().item()
    return result


def _fwd_bwd(run: Callable[[], tuple]) -> Callable[[], None]:
    return lambda: run()[0].sum().backward()


def layer_times(device: str, shapes: list[dict], repeats: int, sync: Callable[[], None]) -> list[dict]:
    """Forward+backward of one layer: cuDNN, Triton eager, Triton graphed, the reference loop."""
    from rnnkit.nn.kernels.triton_gru import TritonGRUResetBefore

    records = []
    for shape in shapes:
        B, T, E, H = shape["B"], shape["T"], shape["E"], shape["H"]
        x = torch.randn(T, B, E, device=device, requires_grad=True)
        rb = Recurrent("gru-reset-before", E, H, backend="native").to(device)
        reference = Recurrent("gru-reset-before", E, H, backend="reference").to(device)
        gru, lstm = torch.nn.GRU(E, H).to(device), torch.nn.LSTM(E, H).to(device)
        eager = partial(bptt_gru.gru_reset_before_sequence, function=TritonGRUResetBefore)
        graphed = partial(bptt_gru.gru_reset_before_sequence, function=cuda_graphs.GraphedOrEager)
        h0 = rb.zero_state(B, like=x)
        candidates = {"nn.GRU (cuDNN)": _fwd_bwd(partial(gru, x)), "nn.LSTM (cuDNN)": _fwd_bwd(partial(lstm, x)),
                      "gru-reset-before Triton eager": _fwd_bwd(partial(rb.run_directions, x, h0, None, eager)),
                      "gru-reset-before Triton CUDA graph": _fwd_bwd(partial(rb.run_directions, x, h0, None, graphed)),
                      "gru-reset-before reference loop": _fwd_bwd(partial(reference, x))}
        t = time_interleaved(candidates, warmup=2, repeats=repeats, sync=sync)
        anchor = t["nn.GRU (cuDNN)"]["median_s"]
        records += [{**shape, "candidate": k, **v, "time_vs_nn_gru": v["median_s"] / anchor} for k, v in t.items()]
        print(shape, {k: round(v["median_s"] * 1e3, 2) for k, v in t.items()}, flush=True)
    return records


def _per_step(run: Callable[[int], None], T: int, sync: Callable[[], None]) -> float:
    """µs per step of ``run(t)`` over t < T, the second of two rounds."""
    for _ in range(2):
        sync()
        start = time.perf_counter()
        for t in range(T):
            run(t)
        sync()
    return (time.perf_counter() - start) / T * 1e6


@torch.no_grad()
def streaming(device: str, T: int, E: int, H: int, sync: Callable[[], None]) -> dict:
    """µs per step at batch 1: cuDNN on the whole sequence; step() eager, CUDA-graphed, and as the table picks."""
    x = torch.randn(T, 1, E, device=device)
    result = {}
    twins = (("nn.GRU whole sequence", torch.nn.GRU(E, H)), ("nn.LSTM whole sequence", torch.nn.LSTM(E, H)))
    for name, module in twins:
        module.to(device)
        result[name] = _per_step(lambda t, m=module: m(x), 1, sync) / T  # one call for all T steps
    for cell in ("lstm", "gru", "gru-reset-before", "lstm-layernorm"):
        layer = Recurrent(cell, E, H).to(device).eval()
        step = partial(fused.fused_step, layer.cell.kernels.fused) if layer.backend == "fused" else layer.cell.step
        box = {"state": layer.zero_state(1, like=x)}

        def eager(t: int, layer: Recurrent = layer, step: Callable = step, box: dict = box) -> None:
            box["state"] = layer.step_layers(x[t], box["state"], step)[1]

        def graphed(t: int, layer: Recurrent = layer, step: Callable = step, box: dict = box) -> None:
            box["state"] = cuda_graphs.graphed_step(layer, x[t], box["state"], step)[1]

        def table(t: int, layer: Recurrent = layer, box: dict = box) -> None:
            box["state"] = layer.step(x[t], box["state"])[1]

        result[f"{cell} step() eager"] = _per_step(eager, T, sync)
        result[f"{cell} step() CUDA graph"] = _per_step(graphed, T, sync)
        result[f"{cell} step() as picked ({layer.last_backend or 'none yet'})"] = _per_step(table, T, sync)
    return result


def outcome_text(payload: dict, tag: str) -> str:
    """The lines for benchmarks/gpu-notes.md: what ran, on which card, and the ratios the issue asks for."""
    lines = [f"\n## Outcome, {time.strftime('%Y-%m-%d')} on {tag} (benchmarks/gpu_session.py)\n"]
    lines.append(f"* correctness: `{json.dumps(payload.get('correctness', 'not run'))}`")
    for r in payload.get("layers", []):
        if "Triton" in r["candidate"]:
            lines.append(f"* B{r['B']} T{r['T']} E{r['E']} H{r['H']} {r['candidate']}: {r['median_s'] * 1e3:.1f} ms "
                         f"= {r['time_vs_nn_gru']:.2f}× nn.GRU (target ≤ 1.25×)")
    for name, us in payload.get("streaming_us_per_step", {}).items():
        lines.append(f"* streaming {name}: {us:.1f} µs/step (targets ≤ 15, then ≤ 4)")
    for r in payload.get("new_cells", []):
        lines.append(f"* {r['mode']} {r['candidate']} [{r['backend']}]: {r['time_vs_nn_lstm']:.2f}× nn.LSTM")
    lines.append(f"* sections skipped for time: {payload.get('skipped') or 'none'}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--cpu-smoke", action="store_true",
                        help="tiny shapes on the CPU (Triton through its interpreter): checks the script, not speed")
    args = parser.parse_args()
    start = time.perf_counter()
    if args.cpu_smoke:
        os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is first imported (lazily, below)
        device, shapes, stream, repeats, sync = "cpu", SMOKE_SHAPES, SMOKE_STREAM, 1, (lambda: None)
        tag = f"{machine_tag()}-smoke"
    else:
        if not torch.cuda.is_available():
            raise SystemExit("no CUDA device: run with --cpu-smoke to check the script on the CPU")
        os.environ[cuda_graphs.ENV] = "1"  # the graphed candidates below; the eager ones are called directly
        device, shapes, stream, repeats, sync = "cuda", SHAPES, STREAM, args.repeats, torch.cuda.synchronize
        tag = machine_tag()
    import bench_new_cells  # benchmarks/ is on sys.path: this script lives there

    results = args.out / "results"
    results.mkdir(parents=True, exist_ok=True)
    payload: dict = {"machine": machine_info(), "command": "python3 benchmarks/gpu_session.py", "skipped": []}
    sections = {
        "correctness": lambda: correctness(device, args.cpu_smoke),
        "layers": lambda: layer_times(device, shapes, repeats, sync),
        "streaming_us_per_step": lambda: streaming(device, **stream, sync=sync),
        "new_cells": lambda: bench_new_cells.new_cell_times(device, **shapes[0], repeats=repeats, sync=sync),
    }
    for name, run in sections.items():
        if time.perf_counter() - start > BUDGET_S:
            payload["skipped"].append(name)
            continue
        payload[name] = run()
        print(name, "done at", round(time.perf_counter() - start, 1), "s", flush=True)
        (results / f"gpu-session-{tag}.json").write_text(json.dumps(payload, indent=1, default=str))
    (results / f"new-cells-{tag}.json").write_text(json.dumps(
        {"machine": payload["machine"], "records": payload.get("new_cells", [])}, indent=1))
    (args.out / "gpu-notes-outcome.md").write_text(outcome_text(payload, tag))
    print(outcome_text(payload, tag))


if __name__ == "__main__":
    main()
