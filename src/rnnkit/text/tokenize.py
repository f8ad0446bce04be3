"""Tokenizers: words (regex), characters, and subword BPE — each the front half of one Hugging Face pipeline.

Every tokenizer follows the small :class:`Tokenizer` protocol — ``tokenize(text) -> list[str]`` — and
builds the ``tokenizers.Tokenizer`` that a model directory saves as ``tokenizer.json``
(:meth:`Tokenizer.pipeline`): rnnkit's normaliser as HF normalizers, the cut as an HF pre-tokenizer, and
a model (``WordLevel`` or ``BPE``) whose ids are rnnkit's vocabulary ids. ``tokenize`` runs that same
normaliser and pre-tokenizer, so the pieces a vocabulary is counted from and the ids a model reads come
from one implementation.

    >>> WordTokenizer().tokenize("Don't panic -- it's only 3.5 stars!")
    ['Do', "n't", 'panic', '--', 'it', "'s", 'only', '3.5', 'stars', '!']
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from tokenizers import Regex, decoders, models, pre_tokenizers
from tokenizers import Tokenizer as HFTokenizer

from rnnkit.text.bpe import BPETokenizer
from rnnkit.text.normalize import WHITESPACE, Normalizer
from rnnkit.text.vocab import UNK_TOKEN, Vocab

TokenizerKind = Literal["word", "char", "bpe"]


@runtime_checkable
class Tokenizer(Protocol):
    """What the rest of the pipeline needs from a tokenizer."""

    kind: str
    normalizer: Normalizer

    def tokenize(self, text: str) -> list[str]:
        """Cut one text into a list of token strings (length T ≥ 0)."""
        ...

    def detokenize(self, tokens: Iterable[str]) -> str:
        """Best-effort inverse of :meth:`tokenize` (exact for char and BPE, approximate for word)."""
        ...

    def pipeline(self, vocab: Vocab) -> HFTokenizer:
        """The HF tokenizer (normalizer, pre-tokenizer, model, decoder) whose ids are ``vocab``'s."""
        ...

    def to_config(self) -> dict[str, Any]:
        """JSON-serialisable settings; :func:`tokenizer_from_config` rebuilds the tokenizer."""
        ...


# ---------------------------------------------------------------------------------------------- word
# Python's classes, spelled for Oniguruma (HF's regex engine), whose own \w and \d differ from Python's:
# \w is a letter, a number or "_" (Oniguruma's \w adds combining marks and drops No numbers such as "²"),
# \d a decimal digit, \s Python's whitespace (rnnkit.text.normalize.WHITESPACE).
_WORD = r"[\p{L}\p{N}_]"
_DIGIT = r"\p{Nd}"
_LETTER = r"[\p{L}\p{N}&&[^\p{Nd}]]"  # Python's [^\W\d_]: a word character that is no digit and no "_"
_NOT_SPACE = f"[^{WHITESPACE}]"
_SYMBOL = f"[^\\p{{L}}\\p{{N}}_{WHITESPACE}]"  # Python's [^\w\s]
# Alternatives are tried left to right at each position; the first that matches wins.
WORD_PATTERN = "|".join([
    f"(?:https?://|www\\.){_NOT_SPACE}+",  # URLs stay whole
    f"[@#]{_WORD}+",  # @mentions and #hashtags
    f"{_DIGIT}+(?:[.,:/]{_DIGIT}+)+(?:-{_WORD}+)*",  # 3.5  1,000  12:30  1/2  3.5-star
    f"(?:{_LETTER}\\.){{2,}}",  # abbreviations: U.S.  e.g.
    f"{_WORD}+(?:-{_WORD}+)*(?:['’]{_WORD}+)*",  # words, hyphenated words, words with inner apostrophes
    r"\.{2,}", r"-{2,}", r"['’`]{2}",  # ellipsis "...", dash "--", quotes '' and ``
    _SYMBOL,  # any other symbol, one at a time
])
# Clitics split off the end of a piece that starts with a letter or digit (Penn Treebank convention):
# it's -> it 's, we'll -> we 'll, don't -> do n't, can't -> ca n't. \K starts the match (the split) there.
CLITIC_PATTERN = r"\A[\p{L}\p{N}].*?\K(?i:n['’]t|['’](?:s|re|ve|ll|d|m))\z"
CHAR_PATTERN = r"(?m:.)"  # any one code point, newlines included
_NO_SPACE_BEFORE = frozenset(".,;:!?)]}%") | {"n't", "'s", "'re", "'ve", "'ll", "'d", "'m", "..."}
_NO_SPACE_AFTER = frozenset("([{$#@")


def word_pre_tokenizer() -> Any:
    """The word cut as an HF pre-tokenizer: the pieces :data:`WORD_PATTERN` matches, then clitics split."""
    return pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(WORD_PATTERN), behavior="removed", invert=True),
        pre_tokenizers.Split(Regex(CLITIC_PATTERN), behavior="isolated"),
    ])


def char_pre_tokenizer() -> Any:
    """One piece per Unicode code point (whitespace included) as an HF pre-tokenizer."""
    return pre_tokenizers.Split(Regex(CHAR_PATTERN), behavior="isolated")


class _Pieces:
    """A tokenizer whose tokens are the pieces of an HF normalizer + pre-tokenizer, looked up in a vocabulary
    by a ``WordLevel`` model (words, characters)."""

    kind = ""

    def __init__(self, normalizer: Normalizer, front: HFTokenizer | None, pre_tokenizer: Any,
                 decoder: Any = None) -> None:
        self.normalizer = normalizer
        if front is None:  # built here from the settings; a saved model passes its own tokenizer.json
            front = HFTokenizer(models.WordLevel({UNK_TOKEN: 0}, unk_token=UNK_TOKEN))
            front.normalizer = normalizer.hf()
            front.pre_tokenizer = pre_tokenizer
            if decoder is not None:
                front.decoder = decoder
        self._front = front
        self._normalize = front.normalizer
        self._cut = front.pre_tokenizer

    def tokenize(self, text: str) -> list[str]:
        normalized = self._normalize.normalize_str(text) if self._normalize is not None else text
        return [piece for piece, _ in self._cut.pre_tokenize_str(normalized)]

    def pipeline(self, vocab: Vocab) -> HFTokenizer:
        """This normalizer and pre-tokenizer before a ``WordLevel`` model over ``vocab`` (unknown → ``<unk>``)."""
        hf = HFTokenizer.from_str(self._front.to_str())
        hf.model = models.WordLevel({token: i for i, token in enumerate(vocab.itos)}, unk_token=UNK_TOKEN)
        return hf

    def to_config(self) -> dict[str, Any]:
        return {"kind": self.kind, "normalizer": self.normalizer.to_config()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.normalizer!r})"


class WordTokenizer(_Pieces):
    """Regex word tokenizer.

    Punctuation becomes separate tokens; contractions split Penn-Treebank style ("don't" → "do",
    "n't"; "it's" → "it", "'s"); hyphenated words ("well-made"), numbers ("3.5", "1,000"), URLs,
    @mentions and #hashtags stay whole. ``front``: the HF tokenizer of a saved model (its normalizer and
    pre-tokenizer are used as they are).
    """

    kind = "word"

    def __init__(self, normalizer: Normalizer | None = None, *, lowercase: bool = False,
                 front: HFTokenizer | None = None) -> None:
        normalizer = normalizer if normalizer is not None else Normalizer(lowercase=lowercase)
        super().__init__(normalizer, front, word_pre_tokenizer())

    def detokenize(self, tokens: Iterable[str]) -> str:
        out: list[str] = []
        glue = True
        for token in tokens:
            if out and not glue and token not in _NO_SPACE_BEFORE:
                out.append(" ")
            out.append(token)
            glue = token in _NO_SPACE_AFTER
        return "".join(out)


class CharTokenizer(_Pieces):
    """One token per Unicode code point (after NFC, so "é" is one token however it was typed).

    Whitespace is kept by default (newlines matter to a character language model).
    """

    kind = "char"

    def __init__(self, normalizer: Normalizer | None = None, *, lowercase: bool = False,
                 front: HFTokenizer | None = None) -> None:
        if normalizer is None:
            normalizer = Normalizer(lowercase=lowercase, collapse_whitespace=False)
        super().__init__(normalizer, front, char_pre_tokenizer(), decoders.Fuse())

    def detokenize(self, tokens: Iterable[str]) -> str:
        return "".join(tokens)


# ------------------------------------------------------------------------------------------- factory
def build_tokenizer(
    kind: TokenizerKind,
    *,
    lowercase: bool = False,
    texts: Iterable[str] | None = None,
    vocab_size: int = 8000,
    min_frequency: int = 2,
    fallback: Literal["byte", "unk"] = "byte",
) -> Tokenizer:
    """Build a tokenizer by name.

    Args:
        kind: ``"word"``, ``"char"`` or ``"bpe"``.
        lowercase: fold case during normalisation.
        texts: training-split texts; required for ``"bpe"`` (ignored otherwise).
        vocab_size, min_frequency, fallback: BPE settings (see :meth:`BPETokenizer.train`).
    """
    if kind == "word":
        return WordTokenizer(lowercase=lowercase)
    if kind == "char":
        return CharTokenizer(lowercase=lowercase)
    if kind == "bpe":
        if texts is None:
            raise ValueError("a BPE tokenizer must be trained: pass texts= (the training split)")
        return BPETokenizer.train(
            texts, vocab_size=vocab_size, min_frequency=min_frequency, fallback=fallback, lowercase=lowercase
        )
    raise ValueError(f"unknown tokenizer kind {kind!r}; valid kinds: 'word', 'char', 'bpe'")


def tokenizer_from_config(config: Mapping[str, Any], directory: str | os.PathLike[str] | None = None, *,
                          front: HFTokenizer | None = None) -> Tokenizer:
    """Rebuild a tokenizer from ``to_config()``.

    ``front``: the model's own ``tokenizer.json`` (loaded), whose normalizer, pre-tokenizer (and BPE model)
    the tokenizer then uses; without it, a BPE tokenizer of an older directory reads
    ``directory / config["file"]``."""
    kind = config.get("kind")
    normalizer = Normalizer.from_config(dict(config["normalizer"])) if "normalizer" in config else None
    if kind == "word":
        return WordTokenizer(normalizer, front=front)
    if kind == "char":
        return CharTokenizer(normalizer, front=front)
    if kind == "bpe":
        if front is not None:
            return BPETokenizer(front, normalizer or Normalizer(), config.get("fallback", "byte"))
        if directory is None or not config.get("file"):
            raise ValueError("a BPE tokenizer config needs the directory holding its file")
        return BPETokenizer.load(Path(directory) / str(config["file"]), normalizer=normalizer,
                                 fallback=config.get("fallback"))
    raise ValueError(f"unknown tokenizer kind {kind!r} in config; valid kinds: 'word', 'char', 'bpe'")
