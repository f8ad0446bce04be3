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
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


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


def loads_json(text: str, source: str, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(text)``, refusing nesting deeper than ``max_depth`` (:class:`ParseLimitError` naming
    ``source``); a syntax error is ``json.JSONDecodeError`` as usual."""
    if json_depth(text) > max_depth:
        raise ParseLimitError(f"{source} nests deeper than {max_depth} levels; it is not an rnnkit file")
    return json.loads(text)


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

    return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
