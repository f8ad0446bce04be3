"""Options dataclasses ↔ argparse: every field becomes a flag, so ``--help`` never drifts from the code.

Flags are ``--field-name``; booleans get ``--x/--no-x``; ``metadata={"help": …, "choices": …}`` on a field
is shown. Defaults are left out of the namespace (``SUPPRESS``) so a command knows which flags were given.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")
_TYPES = {"int": int, "float": float, "str": str}


def _base_type(annotation: Any) -> str:
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
        help_text = f.metadata.get("help", "")
        help_text = f"{help_text} (default: {default})".strip()
        kind = _base_type(f.type)
        if kind == "bool":
            group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                               help=help_text)
        else:
            group.add_argument(flag, dest=f.name, type=_TYPES[kind], default=argparse.SUPPRESS, help=help_text,
                               choices=f.metadata.get("choices"), metavar=None if "choices" in f.metadata else
                               kind.upper())


def given(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of ``cls`` that were given on the command line."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in vars(args).items() if k in names}


def dataclass_from_args(cls: type[T], args: argparse.Namespace, **base: Any) -> T:
    """``cls`` built from ``base`` values overridden by the flags that were given."""
    return cls(**{**base, **given(args, cls)})
