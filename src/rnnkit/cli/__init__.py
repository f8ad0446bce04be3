"""The ``rnnkit`` command. The only package that parses flags; every command calls library code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from rnnkit.cli import bench, data, demo, experiment, models, train, transcribe, translate

Handler = Callable[[argparse.Namespace], int]
TRAILING_INPUTS = ("texts", "audio")  # list positionals of predict/translate/transcribe

# Each module adds its subcommands to the parser and returns {command name: handler}.
MODULES = (train, models, translate, transcribe, experiment, data, bench, demo)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    from rnnkit import __version__

    parser = argparse.ArgumentParser(prog="rnnkit", description="Recurrent neural networks, exactly as the "
                                     "equations define them, on real sequence tasks.")
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    handlers: dict[str, Handler] = {}
    for module in MODULES:
        handlers.update(module.register(sub))
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    parser, handlers = build_parser()
    args, extra = parser.parse_known_args(argv)
    # `rnnkit predict DIR --json "a text"`: inputs may follow options; argparse takes a list positional
    # only before them, so the ones after are appended here (anything else unknown is still an error).
    inputs = next((name for name in TRAILING_INPUTS if isinstance(getattr(args, name, None), list)), None)
    if extra and inputs and not any(e.startswith("-") for e in extra):
        getattr(args, inputs).extend(extra)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 2
    from rnnkit.data import DataUnavailableError
    from rnnkit.train.checkpoint import ModelDirError

    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ModelDirError, DataUnavailableError, ValueError, FileNotFoundError, FloatingPointError) as exc:
        # Bad input, missing data or a foreign model directory: one line that says what to do.
        print(f"rnnkit {args.command}: error: {exc}", file=sys.stderr)
        return 1
