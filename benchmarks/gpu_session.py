"""One prepared script for a session with a lent GPU (15 minutes of device time, all tries together).

    python3 benchmarks/gpu_session.py --out "$OUT"        # on the device machine, from the repo root

1. correctness: the Triton reset-before GRU against the native kernel on the CPU (fp32), outputs and
   every gradient, with variable lengths;
2. issue 8's shapes, forward+backward, next to nn.GRU / nn.LSTM (cuDNN) in the same run: the native
   backend (Triton on CUDA) and the eager reference loop;
3. streaming at batch 1, H=1024: µs per step of step() vs nn.GRU / nn.LSTM on the whole sequence.
Writes gpu-session.json under --out; the numbers go to benchmarks/results/ and benchmarks/gpu-notes.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from rnnkit.bench.timing import machine_info, time_interleaved
from rnnkit.nn import Recurrent
from rnnkit.nn.native import GRUResetBeforeSequence

SHAPES = [dict(B=64, T=256, E=256, H=512), dict(B=128, T=64, E=512, H=1024)]


def correctness(device: str) -> dict:
    torch.manual_seed(0)
    T, B, H = 33, 19, 200
    lengths = torch.randint(1, T + 1, (B,))
    mask = (torch.arange(T)[:, None] < lengths).unsqueeze(2).float()
    gi, h0, w, b = (torch.randn(T, B, 3 * H), torch.randn(B, H), torch.randn(3 * H, H) * 0.05, torch.randn(3 * H))
    results = []
    for dev, fn in (("cpu", GRUResetBeforeSequence), (device, None)):
        args = [t.to(dev).requires_grad_(True) for t in (gi, h0, w, b)]
        if fn is None:
            from rnnkit.nn.kernels.triton_gru import TritonGRUResetBefore as fn
        out, hT = fn.apply(*args, mask.to(dev))
        weights = torch.linspace(-1, 1, out.numel(), device=dev).view_as(out)
        grads = torch.autograd.grad((out * weights).sum() + (hT ** 2).sum(), args)
        results.append([t.detach().cpu() for t in (out, hT, *grads)])
    names = ["out", "h_T", "d_gi", "d_h0", "d_weight_hh", "d_bias_hh"]
    return {n: (a - c).abs().max().item() for n, a, c in zip(names, *results, strict=True)}


def layer_times(device: str, repeats: int) -> list[dict]:
    records = []
    for shape in SHAPES:
        B, T, E, H = shape["B"], shape["T"], shape["E"], shape["H"]
        x = torch.randn(T, B, E, device=device, requires_grad=True)
        mods = {"nn.GRU (cuDNN)": torch.nn.GRU(E, H), "nn.LSTM (cuDNN)": torch.nn.LSTM(E, H),
                "gru-reset-before native (Triton)": Recurrent("gru-reset-before", E, H, backend="native"),
                "gru-reset-before reference loop": Recurrent("gru-reset-before", E, H, backend="reference")}

        def run(m, x=x):
            def f():
                out, _ = m(x)
                out.sum().backward()
            return f

        t = time_interleaved({k: run(m.to(device)) for k, m in mods.items()}, warmup=2, repeats=repeats,
                             sync=torch.cuda.synchronize)
        anchor = t["nn.GRU (cuDNN)"]["median_s"]
        records += [{**shape, "candidate": k, **v, "time_vs_nn_gru": v["median_s"] / anchor} for k, v in t.items()]
        print(shape, {k: round(v["median_s"] * 1e3, 2) for k, v in t.items()}, flush=True)
    return records


@torch.no_grad()
def streaming(device: str, T: int = 512, E: int = 256, H: int = 1024) -> dict:
    x = torch.randn(T, 1, E, device=device)
    result = {}
    twins = (("nn.GRU whole sequence", torch.nn.GRU(E, H)), ("nn.LSTM whole sequence", torch.nn.LSTM(E, H)))
    for name, module in twins:
        module.to(device)(x)
        torch.cuda.synchronize()
        start = time.perf_counter()
        module(x)
        torch.cuda.synchronize()
        result[name] = (time.perf_counter() - start) / T * 1e6
    for cell in ("lstm", "gru", "gru-reset-before"):
        layer = Recurrent(cell, E, H).to(device).eval()
        for _ in range(2):
            torch.cuda.synchronize()
            start, state = time.perf_counter(), None
            for t in range(T):
                _, state = layer.step(x[t], state)
            torch.cuda.synchronize()
        result[f"rnnkit {cell} step()"] = (time.perf_counter() - start) / T * 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    device = "cuda"
    payload = {"machine": machine_info(), "correctness_max_abs_error": correctness(device)}
    print("correctness", payload["correctness_max_abs_error"], flush=True)
    payload["layers"] = layer_times(device, args.repeats)
    payload["streaming_us_per_step"] = streaming(device)
    print("streaming", payload["streaming_us_per_step"], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu-session.json").write_text(json.dumps(payload, indent=1))


if __name__ == "__main__":
    main()
