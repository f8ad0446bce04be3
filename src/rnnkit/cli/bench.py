"""``rnnkit bench``: rnnkit's speed next to torch.nn, measured in one run on this machine."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rnnkit.cli.args import image_path, in_range
from rnnkit.extras import require

QUICK_WARNING = ("--quick times tiny shapes once, so its timings and ratios measure fixed overheads, not speed; "
                 "run `rnnkit bench` without --quick for numbers to compare")


def _bench(args: argparse.Namespace) -> int:
    import torch

    from rnnkit.bench.report import markdown, plot
    from rnnkit.bench.speed import run_suite
    from rnnkit.bench.timing import machine_info, write_results
    from rnnkit.train.config import resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    resolve_device(args.device)  # one line naming the valid devices when this machine lacks it
    for flag, path in (("--out", args.out), ("--markdown", args.markdown), ("--plot", args.plot)):
        if path is not None and path.is_dir():  # found before minutes of timing, not after
            raise ValueError(f"{flag} {path} is a folder; give a file name")
    if args.plot is not None:
        require("plot", "--plot")
    results = run_suite(quick=args.quick, device=args.device, repeats=args.repeats,
                        log=(lambda m: None) if args.json else print)
    command = "rnnkit bench" + (" --quick" if args.quick else "") + (f" --device {args.device}"
                                                                      if args.device != "cpu" else "")
    if args.out:
        write_results(args.out, results["layers"], command=command, streaming=results["streaming"],
                      denormals=results["denormals"], training_loop=results["training_loop"])
    report = markdown(results, machine_info(), command)
    if args.quick:  # one repeat of tiny shapes: overheads dominate, so the ratios are not speeds
        report = f"**{QUICK_WARNING}**\n\n{report}"
        print(f"warning: {QUICK_WARNING}", file=sys.stderr)
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
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    p.add_argument("--repeats", type=in_range(int, 1), default=5,
                   help="timed repeats per measurement; the median is reported "
                   "(default: 5; --quick: 1)")
    p.add_argument("--threads", type=in_range(int, 0), default=0, help="torch threads (0: torch's default)")
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    p.add_argument("--markdown", type=Path, default=None, help="write the markdown report here")
    p.add_argument("--plot", type=image_path, default=None, help="write a PNG of the layer speeds here")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of the markdown report")
    return {"bench": _bench}
