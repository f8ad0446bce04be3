"""The ``rnnkit`` command. The only package that parses flags; every command calls library code."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from rnnkit.cli import bench, data, demo, experiment, export, models, plot, serve, tracing, train, transcribe, translate
from rnnkit.cli.parser import Parser
from rnnkit.version import __version__

Handler = Callable[[argparse.Namespace], int]
TRAILING_INPUTS = ("texts", "audio")  # list positionals of predict/translate/transcribe

# Each module adds its subcommands to the parser and returns {command name: handler}.
MODULES = (train, models, translate, transcribe, experiment, data, bench, demo, export, serve, tracing, plot)
READS_TEXT = ("predict", "translate")  # inputs given as text: --errors strict|replace
LOADS_WEIGHTS = ("evaluate", "predict", "generate", "translate", "transcribe", "export", "serve", "inspect")


def build_parser() -> tuple[Parser, dict[str, Handler]]:
    parser = Parser(prog="rnnkit", description="Recurrent neural networks, exactly as the "
                                     "equations define them, on real sequence tasks.")
    parser.add_argument("--version", action="version", version=f"rnnkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    handlers: dict[str, Handler] = {}
    for module in MODULES:
        handlers.update(module.register(sub))
    for verb in READS_TEXT:  # rnnkit.cli.inputs: arguments and stdin lines are checked as UTF-8
        if verb in sub.choices:
            sub.choices[verb].add_argument("--errors", choices=("strict", "replace"), default="strict",
                                           help="input that is not valid UTF-8: strict stops with an error naming "
                                                "the line, replace reads bad bytes as U+FFFD with a warning "
                                                "(default: strict)")
    for verb in LOADS_WEIGHTS:  # rnnkit.train.checkpoint: the integrity record of a model directory
        if verb in sub.choices:
            sub.choices[verb].add_argument("--no-verify", action="store_true", help="load a model directory whose "
                                           "weights or vocabulary were changed on purpose since training (skip "
                                           "the sha256 check; non-finite weights are still refused)")
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    parser, handlers = build_parser()
    args, extra = parser.parse_known_args(train.with_task(list(sys.argv[1:] if argv is None else argv)))
    # `rnnkit predict DIR --json "a text"`: inputs may follow options; argparse takes a list positional
    # only before them, so the ones after are appended here (anything else unknown is still an error).
    inputs = next((name for name in TRAILING_INPUTS if isinstance(getattr(args, name, None), list)), None)
    if extra and inputs and not any(e.startswith("-") for e in extra):
        getattr(args, inputs).extend(extra)
    elif extra:
        _subparser(parser, args).unrecognized(extra)
    if args.command is None:
        parser.print_help()
        return 2
    for name, value in vars(args).items():  # e.g. --prompt: bytes the shell passed that are not UTF-8
        if name not in TRAILING_INPUTS and isinstance(value, str) and not value.isascii() and _surrogates(value):
            command = _subparser(parser, args)
            action = next((a for a in command._actions if a.dest == name), None)  # noqa: SLF001
            label = "/".join(action.option_strings) if action is not None and action.option_strings else name
            command.error(f"argument {label} is not valid UTF-8; pass it as UTF-8")
    from rnnkit.data import DataUnavailableError
    from rnnkit.extras import MissingExtraError
    from rnnkit.train.checkpoint import ModelDirError, verification

    try:
        with verification(not getattr(args, "no_verify", False)):
            return handlers[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rnnkit predict … | head -1`: the reader left; stop quietly, as other tools do
        _silence_stdout()
        return 141
    except (ModelDirError, DataUnavailableError, MissingExtraError, ValueError, OSError, FloatingPointError) as exc:
        # Bad input, missing data, an extra not installed or a foreign model directory: one line that says what
        # to do.
        print(f"rnnkit {args.command}: error: {exc}", file=sys.stderr)
        return 1


def _subparser(parser: Parser, args: argparse.Namespace) -> Parser:
    """The parser of the command given (``rnnkit predict``, ``rnnkit train sentiment``), for its error line."""
    for action in parser._subparsers._group_actions if parser._subparsers else ():  # noqa: SLF001
        chosen = action.choices.get(getattr(args, "command", None) or "")
        if chosen is not None:
            return _subparser(chosen, args) if chosen._subparsers and getattr(args, "task", None) else chosen  # noqa: SLF001
        chosen = action.choices.get(getattr(args, "task", None) or "")
        if chosen is not None:
            return chosen
    return parser


def _surrogates(text: str) -> bool:
    """``text`` holds bytes that were not UTF-8 (Python decodes argv with surrogateescape)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush cannot raise BrokenPipeError again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (a test's capture): nothing to flush
        pass
