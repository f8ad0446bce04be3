"""onnxruntime vs rnnkit vs torch.nn on CPU, batch 1: whole-sequence inference and step-by-step streaming.

    python benchmarks/onnx_speed.py                  # 2 threads; writes benchmarks/results/onnx-<machine>.json
    python benchmarks/onnx_speed.py --threads 1 2    # each thread count in turn, in the same file
    python benchmarks/onnx_speed.py --quick          # seconds; prints only

One process, every candidate timed interleaved repeat by repeat (``rnnkit.bench.timing``), so the ratios
within a row come from the same run. The onnxruntime graphs are rnnkit's own export
(``rnnkit.nn.export_onnx``: one ONNX LSTM/GRU node; the reset-before GRU with ``linear_before_reset=0``).

* whole: x (T, 1, E) → y, final state, in one call.
* stream: T calls of one step each, the state carried by the caller: ``Recurrent.step``, onnxruntime on
  a T = 1 input with h0 (and c0) fed back, ``torch.nn.LSTM/GRU`` on a (1, 1, E) input.

torch.nn has no reset-before GRU (its GRU is the reset-after form), so that row has no torch.nn entry.
Reported: microseconds per time step (median over repeats; min and max kept in the JSON).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from rnnkit.bench.timing import machine_tag, time_interleaved, write_results
from rnnkit.nn import Recurrent
from rnnkit.nn.kernels import cpp
from rnnkit.nn.onnx import layer_graph

CELLS = ("lstm", "gru", "gru-reset-before")
TORCH = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def ort_session(layer: Recurrent, threads: int, *, lengths: bool) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(layer_graph(layer, lengths=lengths).SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def candidates(cell: str, E: int, H: int, T: int, threads: int) -> tuple[dict, dict]:
    """Callables for the whole-sequence and the streaming comparison of one cell."""
    torch.manual_seed(0)
    layer = Recurrent(cell, E, H).eval()
    x = torch.randn(T, 1, E)
    xs = x.numpy()
    zeros = np.zeros((1, 1, H), np.float32)
    whole_ort = ort_session(layer, threads, lengths=False)
    step_ort = ort_session(layer, threads, lengths=False)
    lstm = cell == "lstm"
    start = {"h0": zeros, "c0": zeros} if lstm else {"h0": zeros}

    @torch.no_grad()
    def rnnkit_whole() -> None:
        layer(x)

    def ort_whole() -> None:
        whole_ort.run(None, {"x": xs, **start})

    @torch.no_grad()
    def rnnkit_stream() -> None:
        state = None
        for t in range(T):
            _, state = layer.step(x[t], state)

    def ort_stream() -> None:
        state = start
        for t in range(T):
            out = step_ort.run(None, {"x": xs[t: t + 1], **state})
            state = {"h0": out[1], "c0": out[2]} if lstm else {"h0": out[1]}

    whole = {"rnnkit": rnnkit_whole, "onnxruntime": ort_whole}
    stream = {"rnnkit step()": rnnkit_stream, "onnxruntime": ort_stream}
    if cell in TORCH:
        ref = TORCH[cell](E, H).eval()

        @torch.no_grad()
        def torch_whole() -> None:
            ref(x)

        @torch.no_grad()
        def torch_stream() -> None:
            state = None
            for t in range(T):
                _, state = ref(x[t: t + 1], state)

        whole["torch.nn"] = torch_whole
        stream["torch.nn"] = torch_stream
    return whole, stream


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small shapes, 1 repeat, no results file")
    parser.add_argument("--threads", type=int, nargs="+", default=[2],
                        help="thread counts for torch and onnxruntime, each timed in turn (default: 2)")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_flush_denormal(True)
    load_before = os.getloadavg()[0]  # a shared machine: the 1-min load says how far to trust the numbers
    built = cpp.available()  # build rnnkit's C++ inference loop now, not inside a timed call
    E, H, T = (16, 32, 16) if args.quick else (128, 256, 256)
    repeats = 1 if args.quick else args.repeats
    records = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for cell in CELLS:
            whole, stream = candidates(cell, E, H, T, threads)
            for mode, group in (("whole", whole), ("stream", stream)):
                timed = time_interleaved(group, warmup=1 if args.quick else 3, repeats=repeats)
                for name, t in timed.items():
                    records.append({"cell": cell, "mode": mode, "impl": name, "batch": 1, "input_size": E,
                                    "hidden_size": H, "steps": T, "threads": threads,
                                    "us_per_step": t["median_s"] / T * 1e6, "min_us_per_step": t["min_s"] / T * 1e6,
                                    "max_us_per_step": t["max_s"] / T * 1e6, "repeats": t["repeats"]})
    print(f"{'threads':8}{'cell':18} {'mode':7} {'implementation':15} µs/step (median, min–max)")
    for r in records:
        print(f"{r['threads']:<8}{r['cell']:18} {r['mode']:7} {r['impl']:15} {r['us_per_step']:8.1f}  "
              f"({r['min_us_per_step']:.1f}–{r['max_us_per_step']:.1f})")
    if not args.quick:
        out = args.out or Path(__file__).parent / "results" / f"onnx-{machine_tag()}.json"
        path = write_results(out, records, command="python benchmarks/onnx_speed.py", onnxruntime=ort.__version__,
                             flush_denormal=True, rnnkit_compiled_loop=built,
                             load_average=[load_before, os.getloadavg()[0]])
        print("wrote", path)


if __name__ == "__main__":
    main()
