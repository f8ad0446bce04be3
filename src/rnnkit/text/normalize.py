"""Text normalisation: Unicode NFC, optional lowercasing, whitespace collapsing — as Hugging Face normalizers.

Normalisation runs before tokenisation so that visually identical strings map to the same tokens:
``"cafe\\u0301"`` (e + combining acute) and ``"caf\\u00e9"`` both become ``"café"`` under NFC.

The steps are ``tokenizers`` normalizers, so the ``tokenizer.json`` of a model directory carries them and
any program that loads that file normalises exactly as rnnkit does. They reproduce Python's own
``unicodedata.normalize``, ``str.lower`` and ``re.sub(r"\\s+", " ", ·).strip()``, which rnnkit used before,
code point for code point (tested over every code point Python's Unicode database knows):

* whitespace is Python's ``str.isspace`` set, written out (:data:`WHITESPACE`): Oniguruma's ``\\s`` lacks
  the four information separators U+001C–U+001F that Python counts as whitespace;
* ``Lowercase`` maps one code point at a time, so a capital sigma that ends a word is first made the final
  sigma "ς" — Python's ``str.lower`` applies that rule (Unicode's Final_Sigma context) itself.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any, Literal

from tokenizers import Regex, normalizers

UnicodeForm = Literal["NFC", "NFKC", "NFD", "NFKD"]
UNICODE_FORMS: tuple[str, ...] = ("NFC", "NFKC", "NFD", "NFKD")

# Python's whitespace (str.isspace, the \s of re): tab, LF, VT, FF, CR, the separators U+001C-U+001F, space,
# NEL, NBSP, and Unicode's space separators and line/paragraph separators.
WHITESPACE = (r"\t\n\x{0b}\x{0c}\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
              r"\x{202f}\x{205f}\x{3000}")
# Unicode's Final_Sigma context, as Python's str.lower applies it: a capital sigma becomes "ς" when the
# nearest character before it that is not case-ignorable is cased, and the nearest one after it is not.
# The match starts at that cased character and \K moves its start to the sigma (a look-behind of any length
# would cost Oniguruma a scan back to the start of the text at every sigma that is not final).
_CASED = r"[\p{Cased}&&\P{Case_Ignorable}]"
_FINAL_SIGMA = f"{_CASED}\\p{{Case_Ignorable}}*\\KΣ(?!\\p{{Case_Ignorable}}*{_CASED})"


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
    return Normalizer(form=form, lowercase=lowercase, collapse_whitespace=collapse_whitespace)(text)


@dataclass(frozen=True)
class Normalizer:
    """A configured :func:`normalize`, serialisable to a config dict and to Hugging Face normalizers."""

    form: UnicodeForm | None = "NFC"
    lowercase: bool = False
    collapse_whitespace: bool = True

    def __post_init__(self) -> None:
        if self.form is not None and self.form not in UNICODE_FORMS:
            raise ValueError(f"unknown Unicode form {self.form!r}; valid forms: {', '.join(UNICODE_FORMS)}")

    def __call__(self, text: str) -> str:
        if not isinstance(text, str):
            raise TypeError(f"normalize expects str, got {type(text).__name__}")
        return str(_hf_steps(self.form, self.lowercase, self.collapse_whitespace).normalize_str(text))

    def hf(self) -> Any:
        """These steps as one ``tokenizers.normalizers.Sequence`` (a fresh object each call)."""
        return _build_steps(self.form, self.lowercase, self.collapse_whitespace)

    def to_config(self) -> dict[str, Any]:
        """JSON-serialisable settings; :meth:`from_config` inverts it."""
        return asdict(self)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Normalizer:
        unknown = set(config) - {"form", "lowercase", "collapse_whitespace"}
        if unknown:
            raise ValueError(f"unknown normalizer setting(s): {sorted(unknown)}")
        return cls(**config)

    @classmethod
    def from_hf(cls, config: dict[str, Any] | None) -> Normalizer:
        """The settings an HF normalizer (its JSON) written by :meth:`hf` — or by rnnkit before the exact
        whitespace and sigma steps — stands for."""
        config = config or {}
        steps = config.get("normalizers", []) if config.get("type") == "Sequence" else [config]
        kinds = [step.get("type") for step in steps]
        form = next((kind for kind in kinds if kind in UNICODE_FORMS), None)
        return cls(form=form, lowercase="Lowercase" in kinds, collapse_whitespace="Strip" in kinds)


def _build_steps(form: str | None, lowercase: bool, collapse_whitespace: bool) -> Any:
    """The Unicode form, then (lowercase) the final sigma and ``Lowercase``, then (collapse) every whitespace
    run → one space and the space at either end removed."""
    steps = []
    if form is not None:
        steps.append(getattr(normalizers, form)())
    if lowercase:
        steps.append(normalizers.Replace(Regex(_FINAL_SIGMA), "ς"))
        steps.append(normalizers.Lowercase())
    if collapse_whitespace:
        steps.append(normalizers.Replace(Regex(f"[{WHITESPACE}]+"), " "))
        steps.append(normalizers.Strip())  # Rust's whitespace is a subset of Python's: only " " is left to strip
    return normalizers.Sequence(steps)


@functools.lru_cache(maxsize=16)
def _hf_steps(form: str | None, lowercase: bool, collapse_whitespace: bool) -> Any:
    """One shared normalizer per setting, for calls from Python (building it costs more than using it)."""
    return _build_steps(form, lowercase, collapse_whitespace)
