"""Tokenizers: words (regex), characters, and subword BPE (HF ``tokenizers``).

Every tokenizer follows the small :class:`Tokenizer` protocol — ``tokenize(text) -> list[str]`` — and
can be rebuilt from the dict that ``to_config()`` returns, so a model directory stores how its text was
cut. Token strings, not ids, leave this module: :class:`rnnkit.text.vocab.Vocab` maps them to ids.

    >>> WordTokenizer().tokenize("Don't panic -- it's only 3.5 stars!")
    ['Do', "n't", 'panic', '--', 'it', "'s", 'only', '3.5', 'stars', '!']
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from rnnkit.files import atomic_write
from rnnkit.text.normalize import Normalizer

TokenizerKind = Literal["word", "char", "bpe"]

_BPE_FORMAT = "rnnkit.bpe-tokenizer"  # the version-1 file: rnnkit settings wrapping the HF JSON (still read)
_BPE_VERSION = 1
# A BPE model's tokenizer file is Hugging Face's own format, so ``tokenizers.Tokenizer.from_file`` loads it
# (rnnkit's normaliser included); rnnkit's own vocabulary file is ``rnnkit.text.encoder.VOCAB_FILE``.
BPE_FILE = "tokenizer.json"
HF_FORMAT = "huggingface-tokenizers"


@runtime_checkable
class Tokenizer(Protocol):
    """What the rest of the pipeline needs from a tokenizer."""

    kind: str

    def tokenize(self, text: str) -> list[str]:
        """Cut one text into a list of token strings (length T ≥ 0)."""
        ...

    def detokenize(self, tokens: Iterable[str]) -> str:
        """Best-effort inverse of :meth:`tokenize` (exact for char and BPE, approximate for word)."""
        ...

    def to_config(self) -> dict[str, Any]:
        """JSON-serialisable settings; :func:`tokenizer_from_config` rebuilds the tokenizer."""
        ...


# ---------------------------------------------------------------------------------------------- word
# Alternatives are tried left to right at each position; the first that matches wins.
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
# Clitics split off the end of a word (Penn Treebank convention): it's -> it 's, we'll -> we 'll.
_CLITIC_RE = re.compile(r"^(?P<stem>.+?)(?P<clitic>['’](?:s|re|ve|ll|d|m))$", re.IGNORECASE)
_NEG_RE = re.compile(r"^(?P<stem>.+)(?P<clitic>n['’]t)$", re.IGNORECASE)  # don't -> do n't; can't -> ca n't
_NO_SPACE_BEFORE = frozenset(".,;:!?)]}%") | {"n't", "'s", "'re", "'ve", "'ll", "'d", "'m", "..."}
_NO_SPACE_AFTER = frozenset("([{$#@")


def _split_clitics(word: str) -> list[str]:
    match = _NEG_RE.match(word)
    if match is not None:
        return [match["stem"], match["clitic"]]
    match = _CLITIC_RE.match(word)
    if match is not None:
        return [match["stem"], match["clitic"]]
    return [word]


class WordTokenizer:
    """Regex word tokenizer.

    Punctuation becomes separate tokens; contractions split Penn-Treebank style ("don't" → "do",
    "n't"; "it's" → "it", "'s"); hyphenated words ("well-made"), numbers ("3.5", "1,000"), URLs,
    @mentions and #hashtags stay whole.
    """

    kind = "word"

    def __init__(self, normalizer: Normalizer | None = None, *, lowercase: bool = False) -> None:
        self.normalizer = normalizer if normalizer is not None else Normalizer(lowercase=lowercase)

    def tokenize(self, text: str) -> list[str]:
        tokens: list[str] = []
        for match in _WORD_RE.finditer(self.normalizer(text)):
            piece = match.group()
            if ("'" in piece or "’" in piece) and piece[0].isalnum():
                tokens.extend(_split_clitics(piece))
            else:
                tokens.append(piece)
        return tokens

    def detokenize(self, tokens: Iterable[str]) -> str:
        out: list[str] = []
        glue = True
        for token in tokens:
            if out and not glue and token not in _NO_SPACE_BEFORE:
                out.append(" ")
            out.append(token)
            glue = token in _NO_SPACE_AFTER
        return "".join(out)

    def to_config(self) -> dict[str, Any]:
        return {"kind": self.kind, "normalizer": self.normalizer.to_config()}

    def __repr__(self) -> str:
        return f"WordTokenizer({self.normalizer!r})"


# ---------------------------------------------------------------------------------------------- char
class CharTokenizer:
    """One token per Unicode code point (after NFC, so "é" is one token however it was typed).

    Whitespace is kept by default (newlines matter to a character language model).
    """

    kind = "char"

    def __init__(self, normalizer: Normalizer | None = None, *, lowercase: bool = False) -> None:
        self.normalizer = (
            normalizer if normalizer is not None else Normalizer(lowercase=lowercase, collapse_whitespace=False)
        )

    def tokenize(self, text: str) -> list[str]:
        return list(self.normalizer(text))

    def detokenize(self, tokens: Iterable[str]) -> str:
        return "".join(tokens)

    def to_config(self) -> dict[str, Any]:
        return {"kind": self.kind, "normalizer": self.normalizer.to_config()}

    def __repr__(self) -> str:
        return f"CharTokenizer({self.normalizer!r})"


# ----------------------------------------------------------------------------------------------- bpe
class BPETokenizer:
    """Subword byte-pair encoding trained with HF ``tokenizers`` on the training split only.

    ``fallback="byte"`` (default) is byte-level BPE (GPT-2 style): every string is representable, so an
    unseen character never fails; tokens look like ``"Ġgood"`` (``Ġ`` marks a leading space).
    ``fallback="unk"`` is character-level BPE over whitespace-split words (``▁`` marks a word start) that
    maps characters unseen in training to ``"<unk>"``.
    """

    kind = "bpe"
    UNK = "<unk>"

    def __init__(self, hf_tokenizer: Any, normalizer: Normalizer, fallback: Literal["byte", "unk"]) -> None:
        self._hf = hf_tokenizer
        self.normalizer = normalizer
        self.fallback = fallback
        self.file: str | None = None  # name of the JSON file once saved or loaded

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        *,
        vocab_size: int = 8000,
        min_frequency: int = 2,
        fallback: Literal["byte", "unk"] = "byte",
        normalizer: Normalizer | None = None,
        lowercase: bool = False,
    ) -> BPETokenizer:
        """Learn merges from ``texts`` (pass the training split only, never val/test)."""
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers import decoders, models, pre_tokenizers, trainers

        if fallback not in ("byte", "unk"):
            raise ValueError(f"fallback must be 'byte' or 'unk', got {fallback!r}")
        normalizer = normalizer if normalizer is not None else Normalizer(lowercase=lowercase)
        if fallback == "byte":
            hf = HFTokenizer(models.BPE())
            hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
            hf.decoder = decoders.ByteLevel()
            trainer = trainers.BpeTrainer(
                vocab_size=vocab_size,
                min_frequency=min_frequency,
                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                show_progress=False,
            )
        else:
            hf = HFTokenizer(models.BPE(unk_token=cls.UNK))
            hf.pre_tokenizer = pre_tokenizers.Metaspace()
            hf.decoder = decoders.Metaspace()
            trainer = trainers.BpeTrainer(
                vocab_size=vocab_size,
                min_frequency=min_frequency,
                special_tokens=[cls.UNK],
                show_progress=False,
            )
        hf.train_from_iterator((normalizer(t) for t in texts), trainer=trainer)
        return cls(hf, normalizer, fallback)

    @property
    def vocab_size(self) -> int:
        """Number of BPE symbols learned (alphabet + merges)."""
        return int(self._hf.get_vocab_size())

    def tokenize(self, text: str) -> list[str]:
        return list(self._hf.encode(self.normalizer(text), add_special_tokens=False).tokens)

    def detokenize(self, tokens: Iterable[str]) -> str:
        return str(self._hf.decoder.decode(list(tokens)))

    def to_config(self) -> dict[str, Any]:
        """Settings plus ``file``: the JSON written by :meth:`save` (required to rebuild)."""
        return {
            "kind": self.kind,
            "normalizer": self.normalizer.to_config(),
            "fallback": self.fallback,
            "file": self.file or BPE_FILE,
            "file_format": HF_FORMAT,
        }

    def hf_json(self) -> str:
        """The tokenizer as Hugging Face ``tokenizer.json`` text, rnnkit's normaliser included as HF normalizers,
        so ``tokenizers.Tokenizer.from_file(...).encode(text).tokens == self.tokenize(text)``."""
        from tokenizers import Tokenizer as HFTokenizer

        hf = HFTokenizer.from_str(self._hf.to_str())
        hf.normalizer = _hf_normalizer(self.normalizer)
        return hf.to_str()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the Hugging Face ``tokenizer.json`` (atomically: temp file + ``os.replace``)."""
        path = Path(path)
        _atomic_write_text(path, self.hf_json())
        self.file = path.name
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, normalizer: Normalizer | None = None,
             fallback: Literal["byte", "unk"] | None = None) -> BPETokenizer:
        """Read a file written by :meth:`save` (HF ``tokenizer.json``) or by rnnkit ≤ 0.x (its own wrapper);
        anything else raises ``ValueError``. ``normalizer``/``fallback`` default to what the file says."""
        from tokenizers import Tokenizer as HFTokenizer

        path = Path(path)
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: not a BPE tokenizer JSON file ({err.__class__.__name__})") from None
        if isinstance(payload, dict) and payload.get("format") == _BPE_FORMAT:  # the version-1 wrapper
            hf = HFTokenizer.from_str(json.dumps(payload["hf_tokenizer"]))
            tok = cls(hf, Normalizer.from_config(payload["normalizer"]), payload["fallback"])
        elif isinstance(payload, dict) and isinstance(payload.get("model"), dict) and \
                payload["model"].get("type") == "BPE":
            hf = HFTokenizer.from_str(json.dumps(payload))
            pre = payload.get("pre_tokenizer") or {}
            own_fallback = "byte" if pre.get("type") == "ByteLevel" else "unk"
            tok = cls(hf, normalizer or _rnnkit_normalizer(payload.get("normalizer")), fallback or own_fallback)
        else:
            raise ValueError(f"{path}: not an rnnkit BPE tokenizer file (expected a Hugging Face BPE tokenizer.json "
                             f"or format {_BPE_FORMAT!r})")
        tok.file = path.name
        return tok

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size}, fallback={self.fallback!r}, {self.normalizer!r})"


_UNICODE_FORMS = ("NFC", "NFKC", "NFD", "NFKD")


def _hf_normalizer(normalizer: Normalizer) -> Any:
    """rnnkit's :class:`Normalizer` as a sequence of HF normalizers: the Unicode form, ``Lowercase``, then
    whitespace runs → one space and ``Strip`` (when ``collapse_whitespace``)."""
    from tokenizers import Regex, normalizers

    steps = []
    if normalizer.form is not None:
        steps.append(getattr(normalizers, normalizer.form)())
    if normalizer.lowercase:
        steps.append(normalizers.Lowercase())
    if normalizer.collapse_whitespace:
        steps += [normalizers.Replace(Regex(r"\s+"), " "), normalizers.Strip()]
    return normalizers.Sequence(steps)


def _rnnkit_normalizer(config: dict[str, Any] | None) -> Normalizer:
    """The :class:`Normalizer` an HF normalizer written by :func:`_hf_normalizer` stands for."""
    steps = (config or {}).get("normalizers", []) if (config or {}).get("type") == "Sequence" else [config or {}]
    kinds = [step.get("type") for step in steps]
    form = next((k for k in kinds if k in _UNICODE_FORMS), None)
    return Normalizer(form=form, lowercase="Lowercase" in kinds, collapse_whitespace="Strip" in kinds)


def _atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


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


def tokenizer_from_config(config: Mapping[str, Any], directory: str | os.PathLike[str] | None = None) -> Tokenizer:
    """Rebuild a tokenizer from ``to_config()``; a BPE tokenizer reads ``directory / config["file"]``."""
    kind = config.get("kind")
    normalizer = Normalizer.from_config(dict(config["normalizer"])) if "normalizer" in config else None
    if kind == "word":
        return WordTokenizer(normalizer)
    if kind == "char":
        return CharTokenizer(normalizer)
    if kind == "bpe":
        if directory is None:
            raise ValueError("a BPE tokenizer config needs the directory holding its file")
        return BPETokenizer.load(Path(directory) / str(config["file"]), normalizer=normalizer,
                                 fallback=config.get("fallback"))
    raise ValueError(f"unknown tokenizer kind {kind!r} in config; valid kinds: 'word', 'char', 'bpe'")


def save_tokenizer(tokenizer: Tokenizer, directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Write whatever file(s) the tokenizer needs into ``directory`` and return its config dict."""
    if isinstance(tokenizer, BPETokenizer):
        tokenizer.save(Path(directory) / (tokenizer.file or BPE_FILE))
    return tokenizer.to_config()
