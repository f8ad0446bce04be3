"""Subword byte-pair encoding (HF ``tokenizers``), and the BPE model re-indexed to rnnkit's vocabulary ids.

A trained BPE has its own ids: the alphabet, then one id per merge. rnnkit's model reads other ids — the
vocabulary counted over the BPE tokens of the training split (:class:`~rnnkit.text.vocab.Vocab`: the four
specials, then the tokens by count), so BPE tokens that never occurred in training have no id of their own
and read as ``<unk>``. HF's BPE model cannot give several tokens one id (its merges are keyed by id), so
:meth:`BPETokenizer.pipeline` *re-indexes* it instead: the vocabulary's tokens get the vocabulary's ids
0 … n−1, and the BPE tokens it lacks (merge intermediates, rare pieces) get the ids n, n+1, … after them.
The merges are stored as token pairs and applied by rank, so the tokens a text is cut into do not change;
only their numbers do. A consumer of ``tokenizer.json`` then reads id ≥ n as ``<unk>``: rnnkit's encoder
folds such ids to 1, and an exported graph gives those rows the ``<unk>`` embedding.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from tokenizers import Tokenizer as HFTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

from rnnkit.files import TOKENIZER_BYTES, ParseLimitError, UnreadableFileError, loads_json, read_text
from rnnkit.text.normalize import Normalizer
from rnnkit.text.vocab import UNK_TOKEN, Vocab

BPE_FILE = "tokenizer.json"  # the file name older model directories gave the BPE alone (with its own ids)
_BPE_FORMAT = "rnnkit.bpe-tokenizer"  # the version-1 file: rnnkit settings wrapping the HF JSON (still read)


class BPETokenizer:
    """Subword byte-pair encoding trained with HF ``tokenizers`` on the training split only.

    ``fallback="byte"`` (default) is byte-level BPE (GPT-2 style): every string is representable, so an
    unseen character never fails; tokens look like ``"Ġgood"`` (``Ġ`` marks a leading space).
    ``fallback="unk"`` is character-level BPE over whitespace-split words (``▁`` marks a word start) that
    maps characters unseen in training to ``"<unk>"``.

    Args:
        hf_tokenizer: the HF BPE tokenizer (its normalizer is replaced by ``normalizer``'s).
        normalizer: rnnkit's normalisation settings.
        fallback: ``"byte"`` or ``"unk"``, as above.
    """

    kind = "bpe"
    UNK = UNK_TOKEN

    def __init__(self, hf_tokenizer: HFTokenizer, normalizer: Normalizer, fallback: Literal["byte", "unk"]) -> None:
        data = json.loads(hf_tokenizer.to_str())
        data["truncation"] = data["post_processor"] = None  # tokens only: ids, specials and length are the encoder's
        for added in data.get("added_tokens", []):  # "<unk>" in a text counts after normalisation, as it always did
            added["normalized"] = True
        self._hf = HFTokenizer.from_str(json.dumps(data))
        self._hf.normalizer = normalizer.hf()
        self.normalizer = normalizer
        self.fallback = fallback

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
        """Number of BPE symbols (alphabet + merges; a re-indexed one also counts the specials)."""
        return int(self._hf.get_vocab_size())

    def tokenize(self, text: str) -> list[str]:
        return list(self._hf.encode(text, add_special_tokens=False).tokens)

    def detokenize(self, tokens: Iterable[str]) -> str:
        return str(self._hf.decoder.decode(list(tokens)))

    def pipeline(self, vocab: Vocab) -> HFTokenizer:
        """This BPE re-indexed so that ``vocab``'s tokens have ``vocab``'s ids and the rest follow (module
        docstring); normalizer, pre-tokenizer and decoder as they are."""
        data = json.loads(self._hf.to_str())
        bpe = data["model"]
        ids = {token: i for i, token in enumerate(vocab.itos)}
        missing = [token for token in ids if token not in bpe["vocab"] and ids[token] >= 4]
        if missing:
            raise ValueError(f"the vocabulary holds {len(missing)} tokens this BPE never makes (e.g. {missing[0]!r}): "
                             "it belongs to another tokenizer")
        for token, _ in sorted(bpe["vocab"].items(), key=lambda item: item[1]):
            ids.setdefault(token, len(ids))
        bpe["vocab"] = ids
        for added in data.get("added_tokens", []):
            added["id"] = ids[added["content"]]
        return HFTokenizer.from_str(json.dumps(data))

    def to_config(self) -> dict[str, Any]:
        return {"kind": self.kind, "normalizer": self.normalizer.to_config(), "fallback": self.fallback}

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, normalizer: Normalizer | None = None,
             fallback: Literal["byte", "unk"] | None = None) -> BPETokenizer:
        """Read the BPE file of an older model directory — an HF ``tokenizer.json`` with the BPE's own ids, or
        rnnkit's version-1 wrapper around one; anything else raises ``ValueError``. ``normalizer``/``fallback``
        default to what the file says."""
        path = Path(path)
        try:
            payload = loads_json(read_text(path, TOKENIZER_BYTES, "tokenizer file"), str(path))
        except (UnreadableFileError, ParseLimitError) as err:
            raise ValueError(str(err)) from None
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not a BPE tokenizer JSON file ({err.__class__.__name__})") from None
        if isinstance(payload, dict) and payload.get("format") == _BPE_FORMAT:  # the version-1 wrapper
            hf = HFTokenizer.from_str(json.dumps(payload["hf_tokenizer"]))
            own_normalizer, own_fallback = Normalizer.from_config(payload["normalizer"]), payload["fallback"]
        elif isinstance(payload, dict) and isinstance(payload.get("model"), dict) and \
                payload["model"].get("type") == "BPE":
            hf = HFTokenizer.from_str(json.dumps(payload))
            pre = payload.get("pre_tokenizer") or {}
            own_fallback = "byte" if pre.get("type") == "ByteLevel" else "unk"
            own_normalizer = Normalizer.from_hf(payload.get("normalizer"))
        else:
            raise ValueError(f"{path}: not an rnnkit BPE tokenizer file (expected a Hugging Face BPE tokenizer.json "
                             f"or format {_BPE_FORMAT!r})")
        return cls(hf, normalizer or own_normalizer, fallback or own_fallback)

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size}, fallback={self.fallback!r}, {self.normalizer!r})"
