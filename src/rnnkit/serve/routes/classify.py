"""``POST /api/predict`` (labels and probabilities, dynamically batched) and ``/api/trace`` (the gates)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from rnnkit.serve.routes import ERRORS, check_text, check_texts
from rnnkit.serve.runtime import Runtime, runtime
from rnnkit.serve.schemas import PredictRequest, PredictResponse, TraceRequest, TraceResponse

router = APIRouter(prefix="/api")


@router.post("/predict", response_model=PredictResponse, responses=ERRORS)
async def predict(req: PredictRequest, rt: Annotated[Runtime, Depends(runtime)]) -> dict[str, Any]:
    """Labels and probabilities for 1 to 64 texts (sentiment models); concurrent requests share forward passes."""
    rt.model_for(req.model, "predict")
    check_texts(req.inputs, "inputs")
    return {"results": await rt.predict(req.model, req.inputs)}


@router.post("/trace", response_model=TraceResponse, responses=ERRORS)
async def trace(req: TraceRequest, rt: Annotated[Runtime, Depends(runtime)]) -> dict[str, Any]:
    """Gate activations per token, for every layer and direction (and the prediction, for a classifier)."""
    served = rt.model_for(req.model, "trace")
    check_text(req.text, "text")
    return await rt.run(req.model, lambda: served.trace(req.text))
