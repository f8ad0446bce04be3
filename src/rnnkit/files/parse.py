"""JSON and YAML parsed with limits: nesting depth, and for YAML the number of aliases.

Python's ``json`` and PyYAML recurse once per level of nesting, so a 100,000-deep list ends in a
``RecursionError``; a YAML "billion laughs" file (anchors that alias each other, nine levels of nine) is a few
hundred bytes that expands to a billion items when the settings are walked. Nothing rnnkit reads nests deeper
than a handful of levels or needs more than a few aliases, so both are refused, in one line naming the file,
before any object is built.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64  # config.json nests 3-4 levels; tokenizer.json 5-6
MAX_ALIASES = 64  # a settings file may reuse a value (`*base`) a few times, never thousands
MAX_DIGITS = 4_300  # Python's own limit on converting a number's digits (sys.get_int_max_str_digits)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")
_KEY = re.compile(r'"?([A-Za-z_][\w-]*)"?\s*:')
_LONG_NUMBER = re.compile(r"\d{" + str(MAX_DIGITS + 1) + ",}")


class ParseLimitError(ValueError):
    """A document nested deeper than :data:`MAX_DEPTH` or (YAML) with more than :data:`MAX_ALIASES` aliases."""


def json_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in the JSON ``text`` (brackets inside strings do not count)."""
    depth = 0
    deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def where(text: str, offset: int) -> str:
    """``line N (key 'k')`` of the character at ``offset`` of a JSON/YAML ``text``: its line, and the last key
    written before it on that line (for an error that names the setting)."""
    number = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    keys = _KEY.findall(text[start:offset])
    return f"line {number}" + (f" (key {keys[-1]!r})" if keys else "")


def _too_many_digits(text: str, source: str) -> ParseLimitError | None:
    """The error for a number of more digits than Python converts (None if ``text`` holds none)."""
    long = _LONG_NUMBER.search(text)
    if long is None:
        return None
    return ParseLimitError(f"{source}: {where(text, long.start())}: a number of {len(long.group()):,} digits; no "
                           "setting needs more than a few")


def loads_json(text: str, source: str, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(text)``, refusing nesting deeper than ``max_depth`` and numbers of more than
    :data:`MAX_DIGITS` digits (:class:`ParseLimitError` naming ``source``); a syntax error is
    ``json.JSONDecodeError`` as usual."""
    if json_depth(text) > max_depth:
        raise ParseLimitError(f"{source} nests deeper than {max_depth} levels; it is not an rnnkit file")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise _too_many_digits(text, source) or ParseLimitError(f"{source}: a value cannot be read") from None


def loads_yaml(text: str, source: str, max_depth: int = MAX_DEPTH, max_aliases: int = MAX_ALIASES) -> Any:
    """``yaml.safe_load(text)``, refusing nesting deeper than ``max_depth`` and more than ``max_aliases``
    aliases (:class:`ParseLimitError` naming ``source``); a syntax error is ``yaml.YAMLError`` as usual."""
    import yaml  # pyyaml: only settings files need it

    class Loader(yaml.SafeLoader):
        """SafeLoader that counts the depth and the aliases as it composes the document's nodes."""

        depth = 0
        aliases = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > max_aliases:
                    raise ParseLimitError(f"{source} uses more than {max_aliases} YAML aliases (*name); write "
                                          "the values out")
            self.depth += 1
            if self.depth > max_depth:
                raise ParseLimitError(f"{source} nests deeper than {max_depth} levels; it is not a settings file")
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, ParseLimitError):
        raise
    except ValueError:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise _too_many_digits(text, source) or ParseLimitError(f"{source}: a value cannot be read") from None
