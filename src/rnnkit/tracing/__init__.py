"""Look inside a trained recurrent model: the gates of every layer at every token, and a picture of them.

``rnnkit.load(DIR).trace("a text")`` returns a :class:`GateTrace`; ``rnnkit inspect DIR "a text"`` prints
and plots one; ``rnnkit serve`` sends ``GateTrace.to_dict()`` to the web page.
"""

from rnnkit.tracing.trace import (
    GateTrace,
    LayerTrace,
    gate_titles,
    trace_encoder,
    trace_ids,
    trace_model,
    trace_sequences,
    trace_texts,
)

__all__ = ["GateTrace", "LayerTrace", "gate_titles", "trace_encoder", "trace_ids", "trace_model", "trace_sequences",
           "trace_texts"]
