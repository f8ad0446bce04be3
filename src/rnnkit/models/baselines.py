"""The lecture's baselines. Idea 2: a bag-of-words model — logistic regression on word counts.

A bag of words ignores order by construction: "good, not bad" and "bad, not good" get the same
counts. Bigram features (pairs of adjacent words, a dictionary built on the training split) are the
classic partial fix.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.text.features import BigramVocab, bag_of_words


class BagOfWordsClassifier(nn.Module):
    """logits = W_uni · counts(words) [+ W_bi · counts(bigrams)] + b, computed sparsely.

    ``nn.EmbeddingBag(mode="sum")`` over the token ids is exactly the product of the weight matrix with
    the sparse count vector, so a 300k-word dictionary never becomes a dense 300k-wide row.

    Args:
        num_bigrams: size of the bigram dictionary; its keys ``a * vocab_size + b`` (sorted) are a buffer
            filled by :meth:`set_bigrams` at training time and restored from the weights file.
    """

    def __init__(self, vocab_size: int, num_classes: int, *, num_bigrams: int = 0, pad_id: int = 0) -> None:
        super().__init__()
        self.vocab_size, self.num_bigrams = vocab_size, num_bigrams
        self.unigrams = nn.EmbeddingBag(vocab_size, num_classes, mode="sum", padding_idx=pad_id)
        nn.init.zeros_(self.unigrams.weight)
        self.bias = nn.Parameter(torch.zeros(num_classes))
        if num_bigrams:
            self.register_buffer("bigram_keys", torch.zeros(num_bigrams, dtype=torch.long))
            self.bigrams = nn.EmbeddingBag(num_bigrams + 1, num_classes, mode="sum", padding_idx=num_bigrams)
            nn.init.zeros_(self.bigrams.weight)

    def no_weight_decay(self) -> set[str]:
        """The optimizer decays every weight but the bias: weight decay is the L2 of logistic regression."""
        return {"bias"}

    def set_bigrams(self, keys: Tensor) -> None:
        if keys.numel() != self.num_bigrams:
            raise ValueError(f"expected {self.num_bigrams} bigram keys, got {keys.numel()}")
        self.bigram_keys.copy_(keys.sort().values)

    @staticmethod
    def bigram_keys_of(tokens: Tensor, lengths: Tensor, vocab_size: int) -> Tensor:
        """Keys ``a * V + b`` of the adjacent pairs inside each sequence, (B, T-1); -1 past the length."""
        keys = tokens[:, :-1] * vocab_size + tokens[:, 1:]
        inside = torch.arange(1, tokens.shape[1], device=tokens.device)[None, :] < lengths.to(tokens.device)[:, None]
        return keys.masked_fill(~inside, -1)

    def features(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        """The lecture's Idea 2 literally: each text's sparse bag-of-words count vector, (B, V + num_bigrams)
        (:func:`rnnkit.text.features.bag_of_words`). ``forward`` equals ``features @ W.T + b`` with W the
        unigram and bigram weights side by side; it sums weight rows instead, never building the vector."""
        bigrams = BigramVocab.from_keys(self.bigram_keys, self.vocab_size) if self.num_bigrams else None
        texts = [row[:n].tolist() for row, n in zip(tokens, lengths.tolist(), strict=True)]
        return bag_of_words(texts, self.vocab_size, bigrams)

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        """tokens (B, T) padded, lengths (B,) → logits (B, C)."""
        logits = self.unigrams(tokens) + self.bias
        if self.num_bigrams and tokens.shape[1] > 1:
            keys = self.bigram_keys_of(tokens, lengths, self.vocab_size)
            index = torch.searchsorted(self.bigram_keys, keys).clamp(max=self.num_bigrams - 1)
            known = self.bigram_keys[index] == keys
            logits = logits + self.bigrams(torch.where(known, index, self.num_bigrams))
        return logits
