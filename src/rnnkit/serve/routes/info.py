"""``GET /healthz``, ``/api/models``, ``/api/stats``: what the server serves and how its batching goes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from rnnkit.serve.runtime import Runtime, runtime
from rnnkit.serve.schemas import Health, ModelsResponse

health = APIRouter()  # open: a load balancer's probe carries no key
router = APIRouter(prefix="/api")


@health.get("/healthz", response_model=Health)
async def healthz(rt: Annotated[Runtime, Depends(runtime)]) -> dict[str, Any]:
    return {"status": "ok", "models": len(rt.models)}


@router.get("/models", response_model=ModelsResponse)
async def list_models(rt: Annotated[Runtime, Depends(runtime)]) -> dict[str, Any]:
    return {"models": [m.info() for m in rt.models]}


@router.get("/stats")
async def stats(rt: Annotated[Runtime, Depends(runtime)]) -> dict[str, Any]:
    """Per model: forward passes by how many requests each served (the batching at work), in the server process
    that answers (``process``: its id)."""
    return rt.stats()
