"""``rnnkit inspect DIR TEXT``: the prediction, and what every gate did at every token (``--plot``: a picture)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rnnkit.cli.args import image_path, in_range
from rnnkit.cli.inputs import json_line
from rnnkit.extras import require
from rnnkit.tracing.units import CRITERION, KEY_UNITS

if TYPE_CHECKING:  # the command line stays light: torch loads only when a command runs
    from rnnkit.tracing.trace import GateTrace


def _prediction(predictor: Any, text: str) -> dict[str, Any] | None:
    """What the model says about the text: a label (classifiers) or the likeliest next tokens (language models)."""
    if hasattr(predictor, "predict"):
        return predictor.predict([text])[0]
    if hasattr(predictor, "next_tokens"):
        return {"next_tokens": predictor.next_tokens(text, 5)}
    return None


def _prediction_line(prediction: dict[str, Any] | None) -> str:
    if prediction is None:
        return ""
    if "next_tokens" in prediction:
        ranked = ", ".join(f"{t['token']!r} {t['prob']:.3f}" for t in prediction["next_tokens"])
        return f"next token: {ranked}"
    probs = prediction.get("probs") or prediction.get("probabilities") or {}
    others = ", ".join(f"{name} {p:.3f}" for name, p in probs.items() if name != prediction["label"])
    return f"prediction: {prediction['label']} {probs.get(prediction['label'], float('nan')):.3f}" + (
        f"  ({others})" if others else "")


def gate_table(trace: GateTrace, layer: int = -1, direction: str = "forward") -> str:
    """One row per token: each gate's mean over the units, and ‖h_t‖₂ — the text ``rnnkit inspect`` prints."""
    part = trace.get(layer, direction)
    means = part.gate_means
    width = max(8, *(len(t) for t in trace.tokens)) + 2
    units = part.h.shape[1]
    where = f"layer {part.layer} {part.direction}"
    if len(trace.layers) > 1:
        where += f" (of {len(trace.layers)}: --layer / --direction pick another)"
    lines = [f"{trace.cell}, {where}: gate means over {units} units per token, ‖h‖ = hidden-state norm"]
    lines.append("token".ljust(width) + "".join(f"{name:>8}" for name in means) + f"{'‖h‖':>8}")
    for t, token in enumerate(trace.tokens):
        cells = "".join(f"{means[name][t]:8.3f}" for name in means)
        lines.append(token[: width - 1].ljust(width) + cells + f"{part.h_norm[t]:8.3f}")
    return "\n".join(lines)


def _inspect(args: argparse.Namespace) -> int:
    from rnnkit.tasks.run import load

    if args.units < 1:
        raise ValueError(f"--units must be at least 1, got {args.units}")
    if args.plot is not None:
        require("plot", "--plot")
    predictor = load(args.dir)
    if not hasattr(predictor, "trace"):
        raise ValueError(f"`rnnkit inspect` traces sentiment and language models; {args.dir} holds a "
                         f"{predictor.config['task']!r} model")
    trace = predictor.trace(args.text)
    prediction = _prediction(predictor, args.text)
    if args.json:
        print(json_line({"prediction": prediction, **trace.to_dict()}))
    else:
        line = _prediction_line(prediction)
        if line:
            print(line)
        print(gate_table(trace, args.layer, args.direction))
    if args.plot is not None:
        from rnnkit.tracing.plot import plot_trace

        path = plot_trace(trace, args.plot, layer=args.layer, direction=args.direction, summary=args.summary,
                          max_units=args.units, note=_prediction_line(prediction) or None)
        if not args.json:
            print(f"wrote {path}")
    return 0


def register(sub: argparse._SubParsersAction) -> dict:
    p = sub.add_parser("inspect", help="what every gate of a trained model did at every token of a text (a table; "
                       "--plot draws a heatmap)")
    p.add_argument("dir", type=Path, help="a sentiment or language-model directory")
    p.add_argument("text", help="the text to run (for a language model: the prompt)")
    p.add_argument("--plot", type=image_path, default=None, metavar="OUT.png",
                   help="draw the gates (units × tokens) and the hidden-state norm to this file (.png, .svg, .pdf)")
    p.add_argument("--layer", type=int, default=-1, help="which layer to show (negative counts from the top; "
                   "default: -1, the top layer)")
    p.add_argument("--direction", choices=("forward", "backward"), default="forward",
                   help="which direction of a bidirectional model to show (default: forward)")
    p.add_argument("--summary", action="store_true", help="plot one row per gate (its mean over the units)")
    p.add_argument("--units", type=in_range(int, 1), default=KEY_UNITS,
                   help=f"plot this many units, the same in every gate's panel: the ones ranked first by {CRITERION} "
                   f"(default: {KEY_UNITS}; the page shows the same ones)")
    p.add_argument("--json", action="store_true", help="print the prediction and the whole trace as JSON")
    return {"inspect": _inspect}
