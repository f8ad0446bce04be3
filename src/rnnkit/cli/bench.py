"""``rnnkit bench``: rnnkit's speed next to torch.nn, measured in one run on this machine."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _bench(args: argparse.Namespace) -> int:
    import torch

    from rnnkit.bench.report import markdown, plot
    from rnnkit.bench.speed import run_suite
    from rnnkit.bench.timing import machine_info, write_results

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch sees no CUDA GPU")
    results = run_suite(quick=args.quick, device=args.device, repeats=args.repeats,
                        log=(lambda m: None) if args.json else print)
    command = "rnnkit bench" + (" --quick" if args.quick else "") + (f" --device {args.device}"
                                                                      if args.device != "cpu" else "")
    if args.out:
        write_results(args.out, results["layers"], command=command, streaming=results["streaming"],
                      denormals=results["denormals"], training_loop=results["training_loop"])
    report = markdown(results, machine_info(), command)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(report)
    if args.plot:
        plot(results, args.plot)
    print(json.dumps(results, indent=1) if args.json else report)
    return 0


def register(sub: argparse._SubParsersAction) -> dict:
    p = sub.add_parser("bench", help="time every cell and backend next to torch.nn (layers, streaming, denormals, "
                                     "training-loop overhead)")
    p.add_argument("--quick", action="store_true", help="tiny shapes, one repeat (seconds)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    p.add_argument("--markdown", type=Path, default=None, help="write the markdown report here")
    p.add_argument("--plot", type=Path, default=None, help="write a PNG of the layer speeds here")
    p.add_argument("--json", action="store_true")
    return {"bench": _bench}
