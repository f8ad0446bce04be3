"""Options dataclasses ↔ argparse: every field becomes a flag, so ``--help`` never drifts from the code.

Flags are ``--field-name``; booleans get ``--x/--no-x``; ``metadata={"help": …, "choices": …}`` on a field
is shown; ``metadata["deprecated"] = (values, note)`` accepts old values (not shown) and prints the note.
Defaults are left out of the namespace (``SUPPRESS``) so a command knows which flags were given.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path
from typing import Any, TypeVar

from rnnkit.ranges import allowed, field_range

T = TypeVar("T")
_TYPES = {"int": int, "float": float, "str": str}


def _parser(f: dataclasses.Field, kind: str) -> Any:
    """The argparse type of an options field: int/float with a range (``metadata["range"]`` or
    :data:`rnnkit.ranges.SHARED_RANGES`: :func:`rnnkit.ranges.field_range`) are checked at parse time, finite
    and within it; the others are parsed as they are."""
    bounds = field_range(f)
    if kind == "str" or bounds is None:  # no range here: the dataclass checks its own values (TrainConfig)
        return _TYPES[kind]
    return in_range(_TYPES[kind], *bounds)


# Help of the option fields several applications share, used where a field has no metadata["help"] of its own.
SHARED_HELP = {
    "cell": "the recurrent cell (rnn: Elman; each cell's equations are in docs/cells.md)",
    "embed_dim": "size of each token's embedding vector",
    "hidden_size": "size of the recurrent state h_t (per direction)",
    "layers": "stacked recurrent layers",
    "bidirectional": "also run the sequence backwards and concatenate both states",
    "pooling": "how the states h_1..h_T become one vector: last state, mean, max, or their concatenation",
    "dropout": "dropout probability between layers and before the output",
    "embed_dropout": "dropout probability on the embeddings",
    "batch_size": "examples per optimizer step",
    "lowercase": "lowercase texts before tokenizing",
    "tokenizer": "word, char (characters) or bpe (byte-pair subwords) tokens",
}


def in_range(kind: type, low: float | None = None, high: float | None = None) -> Any:
    """An argparse ``type=`` that parses ``kind`` (int or float) and refuses values outside [low, high], and a
    float that is not finite (nan, inf), with the range in the message: ``argument --top-k: must be >= 1, got -2``."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {'a whole number' if kind is int else 'a number'}, "
                                             f"got {text!r}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {allowed(low, high)}, got {text}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its own messages
    return parse


IMAGE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff", ".webp")


def image_path(text: str) -> Path:
    """An argparse ``type=`` for a picture to write: its suffix must name a format matplotlib writes."""
    path = Path(text)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise argparse.ArgumentTypeError(f"must end in one of {', '.join(IMAGE_SUFFIXES)}, got {text!r}")
    return path


def base_type(annotation: Any) -> str:
    """The type name of a field annotation without ``None``: ``"int | None"`` → ``"int"``."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    parts = [p.strip() for p in text.split("|") if p.strip() != "None"]
    return parts[0]


def add_dataclass_arguments(parser: argparse.ArgumentParser, cls: type, title: str,
                            skip: tuple[str, ...] = ()) -> None:
    group = parser.add_argument_group(title)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        help_text = f.metadata.get("help", SHARED_HELP.get(f.name, ""))
        help_text = f"{help_text} (default: {f.metadata.get('default_text', default)})".strip()
        kind = base_type(f.type)
        if kind == "bool":
            group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                               help=help_text)
        else:
            choices = f.metadata.get("choices")
            old = f.metadata.get("deprecated", ((), ""))[0]
            metavar = "{" + ",".join(choices) + "}" if choices else kind.upper()
            group.add_argument(flag, dest=f.name, type=_parser(f, kind), default=argparse.SUPPRESS, help=help_text,
                               choices=(*choices, *old) if choices else None, metavar=metavar)


def given(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of ``cls`` that were given on the command line (a deprecated value prints its note)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {k: v for k, v in vars(args).items() if k in fields}
    for name, value in values.items():
        old, note = fields[name].metadata.get("deprecated", ((), ""))
        if value in old:
            print(f"note: {note.format(value=value)}", file=sys.stderr)
    return values


def dataclass_from_args(cls: type[T], args: argparse.Namespace, **base: Any) -> T:
    """``cls`` built from ``base`` values overridden by the flags that were given."""
    return cls(**{**base, **given(args, cls)})
