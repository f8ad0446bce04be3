"""Vocabulary: a bijection between token strings and integer ids.

Ids 0–3 are reserved for the special tokens, in this order::

    0 <pad>   padding (never a real token; masked out of losses)
    1 <unk>   any token not in the vocabulary
    2 <bos>   beginning of sequence
    3 <eos>   end of sequence

The remaining ids follow count (descending), ties broken by the token string, so the same corpus always
gives the same ids.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rnnkit.files import TOKENIZER_BYTES, ParseLimitError, UnreadableFileError, loads_json, read_text, write_json

PAD, UNK, BOS, EOS = 0, 1, 2, 3
PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS: tuple[str, ...] = (PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN)

_FORMAT = "rnnkit.vocab"
_VERSION = 1


class Vocab:
    """Token ↔ id mapping with the four specials at ids 0–3.

    Args:
        tokens: the ordinary tokens, in id order (ids start at ``len(SPECIALS)``); must be unique and
            must not repeat a special.
        counts: optional training counts per token (kept for inspection and saved with the vocab).
    """

    def __init__(self, tokens: Iterable[str], counts: dict[str, int] | None = None) -> None:
        self._itos: list[str] = list(SPECIALS)
        self._stoi: dict[str, int] = {tok: i for i, tok in enumerate(SPECIALS)}
        for tok in tokens:
            if not isinstance(tok, str):
                raise TypeError(f"vocab tokens must be str, got {type(tok).__name__}")
            if tok in self._stoi:
                raise ValueError(f"duplicate token in vocab: {tok!r}")
            self._stoi[tok] = len(self._itos)
            self._itos.append(tok)
        self.counts: dict[str, int] = dict(counts or {})

    # ------------------------------------------------------------------------------------ building
    @classmethod
    def build(cls, token_streams: Iterable[Iterable[str]], *, min_freq: int = 1, max_size: int | None = None) -> Vocab:
        """Count tokens over an iterable of token lists (e.g. the tokenised training texts).

        Args:
            token_streams: one list of tokens per text.
            min_freq: keep tokens seen at least this many times.
            max_size: cap on ``len(vocab)`` *including* the 4 specials (``None``: no cap).
        """
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        if max_size is not None and max_size < len(SPECIALS):
            raise ValueError(f"max_size must be >= {len(SPECIALS)} (the specials), got {max_size}")
        counter: Counter[str] = Counter()
        for tokens in token_streams:
            counter.update(tokens)
        for special in SPECIALS:
            counter.pop(special, None)
        kept = sorted((item for item in counter.items() if item[1] >= min_freq), key=lambda kv: (-kv[1], kv[0]))
        if counter and not kept:  # a model over <pad>/<unk>/<bos>/<eos> alone learns nothing from the text
            raise ValueError(f"--min-freq {min_freq} leaves only the {len(SPECIALS)} special tokens in the vocabulary "
                             f"(the most frequent token occurs {max(counter.values())} times): lower --min-freq")
        if max_size is not None:
            kept = kept[: max_size - len(SPECIALS)]
        return cls((tok for tok, _ in kept), counts=dict(kept))

    # ------------------------------------------------------------------------------------- mapping
    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: object) -> bool:
        return token in self._stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self._itos == other._itos

    def __hash__(self) -> int:  # Vocab is mutable only through construction; hash by content
        return hash(tuple(self._itos))

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)})"

    @property
    def itos(self) -> list[str]:
        """Id → token list (a copy)."""
        return list(self._itos)

    def token_to_id(self, token: str) -> int:
        """Id of ``token``; ``UNK`` when absent."""
        return self._stoi.get(token, UNK)

    def id_to_token(self, index: int) -> str:
        if not 0 <= index < len(self._itos):
            raise IndexError(f"token id {index} out of range for a vocab of size {len(self)}")
        return self._itos[index]

    def encode(self, tokens: Iterable[str], *, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Tokens (length T) → ids (length T, +1 per added BOS/EOS); unknown tokens → ``UNK``."""
        get = self._stoi.get
        ids = [get(tok, UNK) for tok in tokens]
        if add_bos:
            ids.insert(0, BOS)
        if add_eos:
            ids.append(EOS)
        return ids

    def decode(self, ids: Iterable[int], *, skip_specials: bool = False) -> list[str]:
        """Ids → tokens; with ``skip_specials`` the ids 0–3 are dropped."""
        out: list[str] = []
        n = len(self._itos)
        for raw in ids:
            i = int(raw)
            if not 0 <= i < n:
                raise IndexError(f"token id {i} out of range for a vocab of size {n}")
            if skip_specials and i < len(SPECIALS):
                continue
            out.append(self._itos[i])
        return out

    # --------------------------------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "specials": list(SPECIALS),
            "tokens": self._itos[len(SPECIALS) :],
            "counts": [self.counts.get(tok, 0) for tok in self._itos[len(SPECIALS) :]],
        }

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "vocab") -> Vocab:
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"{source}: not an rnnkit vocab (expected a JSON object with format {_FORMAT!r})")
        if data.get("version") != _VERSION:
            raise ValueError(f"{source}: vocab version {data.get('version')!r} is not supported (expected 1)")
        if tuple(data.get("specials", ())) != SPECIALS:
            raise ValueError(f"{source}: vocab specials {data.get('specials')!r} differ from {list(SPECIALS)}")
        tokens = data.get("tokens")
        counts = data.get("counts") or [0] * len(tokens or [])
        if not isinstance(tokens, list) or len(counts) != len(tokens):
            raise ValueError(f"{source}: vocab 'tokens' must be a list (with one count per token)")
        return cls(tokens, counts={t: int(c) for t, c in zip(tokens, counts, strict=True) if c})

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write JSON atomically (:func:`rnnkit.files.write_json`)."""
        return write_json(path, self.to_dict(), indent=None)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocab:
        """Read a file written by :meth:`save`; any other file raises a one-line ``ValueError``."""
        path = Path(path)
        try:
            data = loads_json(read_text(path, TOKENIZER_BYTES, "vocabulary file"), str(path))
        except (UnreadableFileError, ParseLimitError) as err:
            raise ValueError(str(err)) from None
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not a vocab JSON file ({err.__class__.__name__})") from None
        return cls.from_dict(data, source=str(path))
