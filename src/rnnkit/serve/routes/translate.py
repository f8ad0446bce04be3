"""``POST /api/translate``: translations with subword tokens, beam candidates and the attention matrix."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from rnnkit.serve.routes import ERRORS, check_texts
from rnnkit.serve.runtime import Runtime, runtime
from rnnkit.serve.schemas import TranslateRequest, TranslateResponse

router = APIRouter(prefix="/api")


@router.post("/translate", response_model=TranslateResponse, responses=ERRORS)
async def translate(req: TranslateRequest, rt: Annotated[Runtime, Depends(runtime)]) -> dict[str, Any]:
    """Translations with subword tokens, beam candidates and (on request) the attention matrix."""
    served = rt.model_for(req.model, "translate")
    check_texts(req.texts, "texts")
    return {"results": await rt.run(req.model, lambda: served.translate(req.texts, req.beam, req.attention))}
