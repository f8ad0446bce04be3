"""The parser every ``rnnkit`` command is built with: a bad command line ends in one line that says what to do.

argparse prints its whole usage (26 lines for ``rnnkit train sentiment``) before the error; rnnkit prints the
error alone, with the nearest valid spelling of a misspelt subcommand, task, choice or flag
(:func:`difflib.get_close_matches`, as git and Python 3.14's ``suggest_on_error`` do), and where the usage is:

    rnnkit train sentiment: error: unrecognized arguments: --hiden-size 64 (did you mean --hidden-size?);
    see rnnkit train sentiment --help                           (one line, cut here to fit the page)
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn


def closest(word: str, valid: Iterable[Any]) -> str | None:
    """The valid word closest to ``word``, or None when none is close (``difflib`` ratio ≥ 0.6)."""
    close = difflib.get_close_matches(word, [str(v) for v in valid], n=1, cutoff=0.6)
    return close[0] if close else None


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` (its subcommands' parsers are of this class too) whose errors are one line:
    ``PROG: error: MESSAGE[ (did you mean X?)]; see PROG --help``, exit status 2 as argparse's."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}; see {self.prog} --help", file=sys.stderr)
        raise SystemExit(2)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        """argparse's check of a value against ``action.choices``, with the closest choice suggested."""
        if action.choices is not None and value not in action.choices:
            choices = ", ".join(repr(c) for c in action.choices)
            near = closest(str(value), action.choices)
            hint = f" (did you mean {near!r}?)" if near else ""
            raise argparse.ArgumentError(action, f"invalid choice: {value!r}{hint} (choose from {choices})")

    def option_strings(self) -> list[str]:
        """Every flag this parser accepts (``--hidden-size``, ``-h``, …)."""
        return [flag for action in self._actions for flag in action.option_strings]

    def unrecognized(self, extra: Sequence[str]) -> NoReturn:
        """Refuse the arguments argparse did not recognise, suggesting the nearest flag for a misspelt one."""
        flags = self.option_strings()
        pairs = []
        for arg in extra:
            flag = arg.split("=", 1)[0]
            near = closest(flag, flags) if flag.startswith("-") else None
            if near:
                pairs.append((flag, near))
        if len(pairs) == 1:
            shown = f" (did you mean {pairs[0][1]}?)"
        else:
            shown = "".join(f" (did you mean {near} for {flag}?)" for flag, near in pairs)
        self.error(f"unrecognized arguments: {' '.join(extra)}{shown}")
