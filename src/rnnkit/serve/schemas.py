"""The JSON bodies of the HTTP API (pydantic models: FastAPI validates requests and writes the OpenAPI
schema from them) and the limits every request is held to, declared once as ``Field`` constraints (a value
out of range is a 422 naming the field). Documented for users in the README's `rnnkit serve` section.

Every text field carries a length constraint, which also makes pydantic refuse a string that is not valid
Unicode (a lone surrogate such as ``"\ud800"`` in the JSON) before any tokenizer sees it."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from rnnkit.ranges import bounds
from rnnkit.tasks.lm import MAX_TEMPERATURE, MIN_TEMPERATURE
from rnnkit.tasks.translate import MAX_BEAM, TranslateOptions  # translate's beam width: its one bound

MAX_BODY_BYTES = 1_000_000  # a JSON request body
MAX_INPUTS = 64  # texts in one predict/translate request
MAX_CHARS = 2_000  # characters in one text or prompt
MAX_WAV_BYTES = 2_000_000  # one uploaded WAV file
MAX_GENERATE_TOKENS = 1_000  # tokens one generate request may ask for
MAX_TOP_K = 100  # next_tokens' k
MAX_NAME_CHARS = 200  # a served model's name
MAX_TRACE_VALUES = 1_000_000  # numbers in one /api/trace answer (tokens x units x arrays): ~10 MB of JSON
MAX_SAMPLE_TOP_K = 1_000_000  # generate's top_k (more than any vocabulary)
MAX_SEED = 2**63 - 1  # generate's seed (a torch.Generator seed)

ModelName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS,
                                 description="a served model's name (GET /api/models)")]
Text = Annotated[str, Field(max_length=MAX_CHARS)]


class _Strict(BaseModel):
    """Field types are checked, not coerced (``"k": "5"`` is an error), and unknown fields are refused."""

    model_config = ConfigDict(strict=True, extra="forbid")


class PredictRequest(_Strict):
    model: ModelName
    inputs: list[Text] = Field(min_length=1, max_length=MAX_INPUTS,
                               description=f"1 to {MAX_INPUTS} texts, each 1 to {MAX_CHARS} characters")


class PredictResult(BaseModel):
    """One text's result, with the keys ``rnnkit.load(DIR).predict`` and ``rnnkit predict --json`` give."""

    text: str
    tokens: int = Field(description="tokens the model read")
    unknown_tokens: int = Field(description="words the model's vocabulary does not hold (read as <unk>)")
    label: str
    probability: float = Field(description="the probability of label")
    probs: dict[str, float] = Field(description="label -> probability (they sum to 1)")


class PredictResponse(BaseModel):
    results: list[PredictResult]


class TraceRequest(_Strict):
    model: ModelName
    text: str = Field(max_length=MAX_CHARS, description=f"1 to {MAX_CHARS} characters")


class TraceResponse(BaseModel):
    """``GateTrace.to_dict()`` plus the model's prediction for the text (sentiment; null for a language model)."""

    model_config = ConfigDict(extra="allow")
    prediction: dict[str, Any] | None
    cell: str
    tokens: list[str]
    layers: list[dict[str, Any]] = Field(description="per layer and direction: gates {name: [T][H]}, h [T][H], "
                                                     "h_norm [T], gate_means {name: [T]}")
    titles: dict[str, str] = Field(description="gate name (and h) -> its title, as the cell declares it")
    picture_gates: list[str] = Field(description="the cell's sigmoid gates, in [0, 1], in the order the page "
                                                 "draws them (none: it draws h)")


class NextTokensRequest(_Strict):
    model: ModelName
    prompt: str = Field(max_length=MAX_CHARS, description=f"0 to {MAX_CHARS} characters (empty: the start of a "
                                                          "text)")
    k: int = Field(10, ge=1, le=MAX_TOP_K, description=f"how many of the most likely next tokens (1 to {MAX_TOP_K})")


class PreviousWordRequest(_Strict):
    model: str = Field(min_length=1, max_length=MAX_NAME_CHARS,
                       description="a served language model: the previous-word model is counted on its training text")
    prompt: str = Field(max_length=MAX_CHARS, description=f"1 to {MAX_CHARS} characters; only its last word counts")
    k: int = Field(10, ge=1, le=MAX_TOP_K, description=f"how many of the most likely next words (1 to {MAX_TOP_K})")


class NextToken(BaseModel):
    token: str
    prob: float


class NextTokensResponse(BaseModel):
    tokens: list[NextToken]


class GenerateRequest(_Strict):
    model: ModelName
    prompt: str = Field("", max_length=MAX_CHARS, description=f"0 to {MAX_CHARS} characters")
    length: int = Field(100, ge=1, le=MAX_GENERATE_TOKENS, description=f"tokens to generate (1 to "
                                                                        f"{MAX_GENERATE_TOKENS})")
    temperature: float | None = Field(None, ge=MIN_TEMPERATURE, le=MAX_TEMPERATURE,
                                      description=f"{MIN_TEMPERATURE:g} to {MAX_TEMPERATURE:g}; null: the CLI's "
                                                  "default")
    top_k: int | None = Field(None, ge=1, le=MAX_SAMPLE_TOP_K,
                              description="sample among the k most likely tokens; null: all")
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="a seed makes the text reproducible")


class TranslateRequest(_Strict):
    model: ModelName
    texts: list[Text] = Field(min_length=1, max_length=MAX_INPUTS,
                              description=f"1 to {MAX_INPUTS} sentences, each 1 to {MAX_CHARS} characters")
    beam: int = Field(5, **bounds(TranslateOptions, "beam"), description=f"beam width (1: greedy, at most {MAX_BEAM})")
    attention: bool = Field(False, description="return the attention matrix (target x source)")


class Candidate(BaseModel):
    text: str
    score: float


class TranslateResult(BaseModel):
    """One sentence's result, with the keys ``rnnkit.load(DIR).translate`` and ``rnnkit translate --json`` give."""

    text: str
    translation: str
    score: float = Field(description="the translation's beam score (log p / length^penalty)")
    source_tokens: list[str]
    target_tokens: list[str]
    ended: bool = Field(description="false: cut at the length limit before <eos>")
    unknown_tokens: int
    candidates: list[Candidate]
    attention: list[list[float]] | None


class TranslateResponse(BaseModel):
    results: list[TranslateResult]


class TranscribeResponse(BaseModel):
    text: str


class ModelInfo(BaseModel):
    name: str
    task: str
    cell: str | None
    labels: list[str] | None
    endpoints: list[str]


class ModelsResponse(BaseModel):
    models: list[ModelInfo]


class Health(BaseModel):
    status: str
    models: int


class ErrorResponse(BaseModel):
    error: str = Field(description="one line that says what went wrong and what to do")
