"""``rnnkit export DIR --format onnx [--out FILE]``: a trained model directory as ONNX graphs."""

from __future__ import annotations

import argparse
from pathlib import Path

from rnnkit.extras import require


def _export(args: argparse.Namespace) -> int:
    require("export", "rnnkit export")
    from rnnkit.export.bundle import export_directory

    for path in export_directory(args.dir, args.out, format=args.format):
        print(path)
    return 0


def register(sub: argparse._SubParsersAction) -> dict:
    p = sub.add_parser("export", help="export a trained model directory to ONNX (standard LSTM/GRU/RNN operators)")
    p.add_argument("dir", type=Path, help="the model directory (written by rnnkit train)")
    p.add_argument("--format", choices=("onnx",), default="onnx", help="the export format (default: onnx)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="the .onnx file to write, with FILE.json beside it (default: DIR/model.onnx; a translator "
                        "writes FILE's stem + .encoder.onnx and .decoder.onnx)")
    return {"export": _export}
