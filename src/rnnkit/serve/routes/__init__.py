"""The API's routers, one per family of endpoints: ``info`` (health, models, stats), ``classify`` (predict,
trace), ``lm`` (next_tokens, generate), ``translate``, ``speech`` (transcribe). Each route gets the
``Runtime`` and the key check as FastAPI dependencies, and declares the response model it returns."""

from __future__ import annotations

from typing import Any

from rnnkit.serve.errors import ApiError
from rnnkit.serve.schemas import ErrorResponse

ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorResponse} for code in (400, 401, 404, 413, 422, 504)}


def check_text(text: str, where: str) -> None:
    """Refuse an empty (whitespace-only) text, naming the field (lengths and counts are the schema's)."""
    if not text.strip():
        raise ApiError(400, f"{where} is empty: give a text with at least one word")


def check_texts(texts: list[str], field: str) -> None:
    """Every text non-empty (the schema holds 1 to ``MAX_INPUTS`` of at most ``MAX_CHARS`` characters)."""
    for i, text in enumerate(texts):
        check_text(text, f"{field}[{i}]")
