"""Decoding: greedy and beam search for encoder–decoders (``seq2seq``), best path and prefix beam for CTC (``ctc``)."""
