"""Text pipeline: normalise → tokenise → vocabulary ids → sparse features or padded batches.

Public API (implementation modules are private detail; import from here)::

    normalize, Normalizer                                   # normalize.py
    Tokenizer, WordTokenizer, CharTokenizer,                # tokenize.py
    build_tokenizer, tokenizer_from_config
    BPETokenizer                                            # bpe.py
    Vocab, PAD, UNK, BOS, EOS, SPECIALS                     # vocab.py
    one_hot, bag_of_words, BigramVocab, sparse_nbytes       # features.py
    BucketBatchSampler, Batch, PadCollator, collate, truncate   # batching.py
    TextEncoder, EncodedDataset, EmptyTextError             # encoder.py (TextEncoder.hf: tokenizer.json)
"""

from __future__ import annotations

from rnnkit.text.batching import Batch, BucketBatchSampler, PadCollator, collate, truncate
from rnnkit.text.bpe import BPETokenizer
from rnnkit.text.encoder import EmptyTextError, EncodedDataset, TextEncoder
from rnnkit.text.features import BigramVocab, bag_of_words, one_hot, sparse_nbytes
from rnnkit.text.normalize import Normalizer, normalize
from rnnkit.text.tokenize import (
    CharTokenizer,
    Tokenizer,
    WordTokenizer,
    build_tokenizer,
    tokenizer_from_config,
)
from rnnkit.text.vocab import BOS, EOS, PAD, SPECIALS, UNK, Vocab

__all__ = [
    "BOS",
    "EOS",
    "PAD",
    "SPECIALS",
    "UNK",
    "BPETokenizer",
    "Batch",
    "BigramVocab",
    "BucketBatchSampler",
    "CharTokenizer",
    "EmptyTextError",
    "EncodedDataset",
    "Normalizer",
    "PadCollator",
    "TextEncoder",
    "Tokenizer",
    "Vocab",
    "WordTokenizer",
    "bag_of_words",
    "build_tokenizer",
    "collate",
    "normalize",
    "one_hot",
    "sparse_nbytes",
    "tokenizer_from_config",
    "truncate",
]
