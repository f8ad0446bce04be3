"""Text normalisation: Unicode NFC, optional lowercasing, whitespace collapsing.

Normalisation runs before tokenisation so that visually identical strings map to the same tokens:
``"cafe\\u0301"`` (e + combining acute) and ``"caf\\u00e9"`` both become ``"café"`` under NFC.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, Literal

UnicodeForm = Literal["NFC", "NFKC", "NFD", "NFKD"]

_WHITESPACE_RE = re.compile(r"\s+")


def normalize(
    text: str,
    *,
    form: UnicodeForm | None = "NFC",
    lowercase: bool = False,
    collapse_whitespace: bool = True,
) -> str:
    """Normalise one string.

    Args:
        text: the raw string.
        form: Unicode normal form (``None`` keeps the code points as they are).
        lowercase: fold to lower case (``str.lower``, after normalisation).
        collapse_whitespace: replace every run of whitespace (spaces, tabs, newlines) by one space and
            strip both ends. Turn it off for character language models, where newlines carry meaning.

    Returns:
        The normalised string.
    """
    if not isinstance(text, str):
        raise TypeError(f"normalize expects str, got {type(text).__name__}")
    if form is not None:
        text = unicodedata.normalize(form, text)
    if lowercase:
        text = text.lower()
    if collapse_whitespace:
        text = _WHITESPACE_RE.sub(" ", text).strip()
    return text


@dataclass(frozen=True)
class Normalizer:
    """A configured :func:`normalize`, serialisable to a config dict."""

    form: UnicodeForm | None = "NFC"
    lowercase: bool = False
    collapse_whitespace: bool = True

    def __call__(self, text: str) -> str:
        return normalize(text, form=self.form, lowercase=self.lowercase, collapse_whitespace=self.collapse_whitespace)

    def to_config(self) -> dict[str, Any]:
        """JSON-serialisable settings; :meth:`from_config` inverts it."""
        return asdict(self)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Normalizer:
        unknown = set(config) - {"form", "lowercase", "collapse_whitespace"}
        if unknown:
            raise ValueError(f"unknown normalizer setting(s): {sorted(unknown)}")
        return cls(**config)
