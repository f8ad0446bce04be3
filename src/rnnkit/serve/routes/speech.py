"""``POST /api/transcribe?model=NAME``: the text spoken in an uploaded WAV file (bounded in bytes)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile

from rnnkit.serve.errors import ApiError
from rnnkit.serve.routes import ERRORS
from rnnkit.serve.runtime import Runtime, runtime
from rnnkit.serve.schemas import MAX_NAME_CHARS, MAX_WAV_BYTES, TranscribeResponse

router = APIRouter(prefix="/api")
WAV_FIELD = f"a WAV file of at most {MAX_WAV_BYTES:,} bytes"
UPLOAD_OVERHEAD = 64_000  # multipart boundaries and headers around the WAV file: the body limit adds it


@router.post("/transcribe", response_model=TranscribeResponse, responses=ERRORS)
async def transcribe(model: Annotated[str, Query(max_length=MAX_NAME_CHARS, description="a served speech-ctc "
                                                                                         "model")],
                     audio: Annotated[UploadFile, File(description=WAV_FIELD)],
                     rt: Annotated[Runtime, Depends(runtime)]) -> dict[str, Any]:
    """The text spoken in an uploaded WAV file (speech-ctc models)."""
    served = rt.model_for(model, "transcribe")
    data = await audio.read(MAX_WAV_BYTES + 1)
    if len(data) > MAX_WAV_BYTES:
        raise ApiError(413, f"the WAV file has more than {MAX_WAV_BYTES:,} bytes, the limit")
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ApiError(400, "audio is not a WAV file (no RIFF/WAVE header): upload a .wav recording")
    return {"text": await rt.run(model, lambda: served.transcribe(data))}
