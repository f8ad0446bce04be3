"""The cells torch.nn cannot run — LayerNorm-LSTM, LSTM + zoneout, LSTM + variational dropout — timed next
to nn.LSTM, each on its fast path (``bptt`` with gradients; for the LayerNorm-LSTM's CPU inference the ``cpp``
loop) and on the reference loop, in one interleaved run; each record names the backend that ran.

    python benchmarks/bench_new_cells.py --threads 1     # writes benchmarks/results/new-cells-<machine>.json
    python benchmarks/bench_new_cells.py --quick         # seconds; prints only

Forward+backward (training mode, so zoneout and dropout draw their masks) and inference (eval, no_grad);
wall time (``time_interleaved``) and, on the CPU, this process's CPU time. Then the LayerNorm-LSTM at batch 1
(streaming), µs per step: the C++ loop (``cpp``) against the ``bptt`` and reference loops over a whole
sequence, and the C++ step() against the reference step(), nn.LSTM beside them. (Records written before issue 25
call ``cpp`` "compiled" and ``bptt`` "hoisted".)
``benchmarks/gpu_session.py`` calls :func:`new_cell_times` on CUDA.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from rnnkit.bench.speed import stepper
from rnnkit.bench.timing import machine_tag, time_interleaved, write_results
from rnnkit.nn import Recurrent

SHAPE = dict(B=32, T=64, E=128, H=256)
QUICK = dict(B=4, T=8, E=8, H=16)
STREAM = dict(T=256, E=128, H=256)
QUICK_STREAM = dict(T=8, E=8, H=16)


def candidates(E: int, H: int) -> dict[str, torch.nn.Module]:
    """Name → layer; the same sizes, one layer each."""
    return {
        "nn.LSTM": torch.nn.LSTM(E, H),
        "lstm reference loop": Recurrent("lstm", E, H, backend="reference"),
        "lstm-layernorm fast path": Recurrent("lstm-layernorm", E, H),
        "lstm-layernorm reference loop": Recurrent("lstm-layernorm", E, H, backend="reference"),
        "lstm zoneout 0.1 fast path": Recurrent("lstm", E, H, zoneout=0.1),
        "lstm zoneout 0.1 reference loop": Recurrent("lstm", E, H, zoneout=0.1, backend="reference"),
        "lstm recurrent-dropout 0.25 fast path": Recurrent("lstm", E, H, recurrent_dropout=0.25),
        "lstm recurrent-dropout 0.25 reference loop": Recurrent("lstm", E, H, recurrent_dropout=0.25,
                                                                backend="reference"),
    }


def cpu_seconds(candidates: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Median CPU seconds of this process per call, round-robin: on a shared machine the wall time measures
    the neighbours' load as much as the code (``time_interleaved`` gives the wall times)."""
    seconds: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.process_time()
            fn()
            seconds[name].append(time.process_time() - start)
    return {name: statistics.median(values) for name, values in seconds.items()}


def new_cell_times(device: str, B: int, T: int, E: int, H: int, repeats: int,
                   sync: Callable[[], None] | None = None) -> list[dict]:
    """Median seconds per call of every candidate, forward+backward and inference, with the backend that ran."""
    torch.manual_seed(0)
    x = torch.randn(T, B, E, device=device, requires_grad=True)
    mods = {k: m.to(device) for k, m in candidates(E, H).items()}
    records = []
    for mode in ("forward+backward", "inference"):
        def call(m: torch.nn.Module, mode: str = mode) -> Callable[[], None]:
            def f() -> None:
                if mode == "inference":
                    with torch.no_grad():
                        m.eval()(x)
                else:
                    out, _ = m.train()(x)
                    out.sum().backward()
            return f

        calls = {k: call(m) for k, m in mods.items()}
        times = time_interleaved(calls, warmup=1, repeats=repeats, sync=sync)
        cpu = cpu_seconds(calls, repeats) if device == "cpu" else {}
        anchor = times["nn.LSTM"]["median_s"]
        for name, t in times.items():
            backend = getattr(mods[name], "last_backend", "torch.nn")
            record = {"B": B, "T": T, "E": E, "H": H, "mode": mode, "candidate": name, "backend": backend, **t,
                      "time_vs_nn_lstm": t["median_s"] / anchor}
            if cpu:
                record.update(cpu_median_s=cpu[name], cpu_vs_nn_lstm=cpu[name] / cpu["nn.LSTM"])
            records.append(record)
    return records


def batch_one_times(T: int, E: int, H: int, repeats: int) -> list[dict]:
    """The LayerNorm-LSTM's inference at batch 1 on each CPU path, called directly (so every candidate pays the
    same Python around it), interleaved with nn.LSTM over the same sequence; µs per step."""
    from rnnkit.nn.kernels import cpp

    torch.manual_seed(0)
    layer = Recurrent("lstm-layernorm", E, H).eval()
    lstm = torch.nn.LSTM(E, H).eval()
    x = torch.randn(T, 1, E)
    state = layer.zero_state(1)

    def whole(kernel: Callable | None) -> Callable[[], None]:
        return lambda: layer.run_directions(x, state, None, kernel)

    calls = {
        "nn.LSTM whole sequence": lambda: lstm(x),
        "lstm-layernorm cpp whole sequence": whole(layer.cell.kernels.cpp_sequence),
        "lstm-layernorm bptt whole sequence": whole(layer.cell.kernels.bptt),
        "lstm-layernorm reference whole sequence": whole(None),
        "lstm-layernorm cpp step()": stepper(lambda xt, s: cpp.stack_step(layer, xt, s), x, state),
        "lstm-layernorm reference step()": stepper(lambda xt, s: layer.step_layers(xt, s, layer.cell.step), x, state),
    }
    with torch.no_grad():
        times = time_interleaved(calls, warmup=1, repeats=repeats)
    anchor = times["nn.LSTM whole sequence"]["median_s"]
    return [{"B": 1, "T": T, "E": E, "H": H, "mode": "batch-1 inference", "candidate": name,
             "us_per_step": 1e6 * t["median_s"] / T, "time_vs_nn_lstm": t["median_s"] / anchor, **t}
            for name, t in times.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny shapes, one repeat, no results file")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    shape = QUICK if args.quick else SHAPE
    records = new_cell_times("cpu", **shape, repeats=1 if args.quick else args.repeats)
    for r in records:
        print(f"{r['mode']:17} {r['candidate']:44} {r['backend']:9} wall {r['median_s'] * 1e3:8.2f} ms "
              f"{r['time_vs_nn_lstm']:5.2f}x nn.LSTM   CPU {r['cpu_median_s'] * 1e3:8.2f} ms "
              f"{r['cpu_vs_nn_lstm']:5.2f}x")
    streaming = batch_one_times(**(QUICK_STREAM if args.quick else STREAM), repeats=1 if args.quick else args.repeats)
    for r in streaming:
        print(f"{r['mode']:17} {r['candidate']:44} {r['us_per_step']:8.1f} us/step "
              f"{r['time_vs_nn_lstm']:5.2f}x nn.LSTM")
    records += streaming
    if not args.quick:
        out = args.out or Path(__file__).parent / "results" / f"new-cells-{machine_tag()}.json"
        command = f"python benchmarks/bench_new_cells.py --threads {args.threads} --repeats {args.repeats}"
        # The 2-core machine is shared: the load average says how far wall times are from an idle core's.
        print("wrote", write_results(out, records, command=command, threads=args.threads, flush_denormal=True,
                                     load_average_1_5_15_min=os.getloadavg()))


if __name__ == "__main__":
    main()
