"""rnnkit's tokenizer as Python regular expressions, as it was up to 240bd31 — the oracle of the HF pipeline.

rnnkit now tokenizes with one Hugging Face ``tokenizers`` pipeline (``tokenizer.json``); models trained before
read their text through this code. ``tests/test_tokenizer_pipeline.py`` and ``benchmarks/tokenizer_parity.py``
check that the pipeline cuts every text exactly as this did. Kept verbatim; not used by rnnkit itself.
"""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE_RE = re.compile(r"\s+")
_WORD_RE = re.compile(
    r"""
    (?:https?://|www\.)\S+                # URLs stay whole
  | [@\#]\w+                              # @mentions and #hashtags
  | \d+(?:[.,:/]\d+)+(?:-\w+)*            # 3.5  1,000  12:30  1/2  3.5-star
  | (?:[^\W\d_]\.){2,}                     # abbreviations: U.S.  e.g.
  | \w+(?:-\w+)*(?:['’]\w+)*              # words, hyphenated words, words with inner apostrophes
  | \.{2,} | -{2,} | ['’`]{2}             # ellipsis "...", dash "--", quotes '' and ``
  | [^\w\s]                               # any other symbol, one at a time
    """,
    re.VERBOSE,
)
_CLITIC_RE = re.compile(r"^(?P<stem>.+?)(?P<clitic>['’](?:s|re|ve|ll|d|m))$", re.IGNORECASE)
_NEG_RE = re.compile(r"^(?P<stem>.+)(?P<clitic>n['’]t)$", re.IGNORECASE)


def normalize(text: str, *, form: str | None = "NFC", lowercase: bool = False, collapse_whitespace: bool = True) -> str:
    if form is not None:
        text = unicodedata.normalize(form, text)
    if lowercase:
        text = text.lower()
    if collapse_whitespace:
        text = _WHITESPACE_RE.sub(" ", text).strip()
    return text


def _split_clitics(word: str) -> list[str]:
    match = _NEG_RE.match(word)
    if match is not None:
        return [match["stem"], match["clitic"]]
    match = _CLITIC_RE.match(word)
    if match is not None:
        return [match["stem"], match["clitic"]]
    return [word]


def word_tokens(text: str, *, lowercase: bool = False) -> list[str]:
    tokens: list[str] = []
    for match in _WORD_RE.finditer(normalize(text, lowercase=lowercase)):
        piece = match.group()
        if ("'" in piece or "’" in piece) and piece[0].isalnum():
            tokens.extend(_split_clitics(piece))
        else:
            tokens.append(piece)
    return tokens


def char_tokens(text: str, *, lowercase: bool = False) -> list[str]:
    return list(normalize(text, lowercase=lowercase, collapse_whitespace=False))
