"""The options every application's recurrent network shares, declared once.

:class:`RecurrentOptions` holds the recurrent stack (cell, state size, layers, the three dropouts) and
:class:`EncoderOptions` adds reading both ways (a language model reads left to right only, so it takes the
first). An application's ``*Options`` dataclass derives from one of them and adds only what is its own (data,
tokenizer, embedding, pooling, front end, …); where its default differs (a GRU, a larger state) it says so with
:func:`default`, which keeps the field's help, range and choices. :meth:`RecurrentOptions.encoder_kwargs` turns
the options into the model constructor's keyword arguments, so no ``build_*`` function retypes them, and the
options' defaults are the model classes' defaults (tests/test_options.py).

Ranges and choices live on the fields (:mod:`rnnkit.ranges`): ``__post_init__`` checks them, so ``rnnkit.fit``,
``--config`` files and ``config.json`` get the same one-line error as the flags.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from rnnkit.nn import CELLS
from rnnkit.nn.regularizers import RECURRENT_DROPOUT_HELP, ZONEOUT_HELP
from rnnkit.ranges import check_fields

# option field -> the model constructors' keyword (the models name the stack's depth num_layers, as torch.nn does)
ENCODER_KWARGS = {"cell": "cell", "embed_dim": "embed_dim", "hidden_size": "hidden_size", "layers": "num_layers",
                  "bidirectional": "bidirectional", "pooling": "pooling", "dropout": "dropout",
                  "embed_dropout": "embed_dropout", "zoneout": "zoneout", "recurrent_dropout": "recurrent_dropout"}


@dataclass
class RecurrentOptions:
    """The recurrent stack: which cell, how wide and deep, and how it is regularised."""

    cell: str = field(default="lstm", metadata={"choices": tuple(CELLS)})
    hidden_size: int = 256
    layers: int = 1
    dropout: float = 0.3
    zoneout: float = field(default=0.0, metadata={"help": ZONEOUT_HELP})
    recurrent_dropout: float = field(default=0.0, metadata={"help": RECURRENT_DROPOUT_HELP})

    def __post_init__(self) -> None:
        check_fields(self)

    def encoder_kwargs(self) -> dict[str, Any]:
        """The model constructor's keyword arguments these options set (every field of :data:`ENCODER_KWARGS`
        the options have: an application's embedding size or pooling as well as the stack's)."""
        names = [f.name for f in dataclasses.fields(self) if f.name in ENCODER_KWARGS]
        return {ENCODER_KWARGS[name]: getattr(self, name) for name in names}


@dataclass
class EncoderOptions(RecurrentOptions):
    """:class:`RecurrentOptions` that may also read the sequence backwards (a bidirectional encoder)."""

    bidirectional: bool = False


def default(name: str, value: Any, **metadata: Any) -> Any:
    """The field ``name`` of :class:`EncoderOptions` with another default, its help, range and choices kept
    (``metadata``: e.g. a help of the application's own): ``cell: str = default("cell", "gru")``."""
    shared = {f.name: f for f in dataclasses.fields(EncoderOptions)}
    return field(default=value, metadata={**shared[name].metadata, **metadata})


__all__ = ["ENCODER_KWARGS", "EncoderOptions", "RecurrentOptions", "default"]
