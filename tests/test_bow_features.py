"""The bag-of-words model is the lecture's Idea 2: logistic regression on the sparse count vector."""

import torch

from rnnkit.models.baselines import BagOfWordsClassifier
from rnnkit.text.features import BigramVocab


def test_forward_is_the_count_vector_times_the_weights():
    torch.manual_seed(0)
    V, C = 12, 3
    train = [[1, 2, 3, 1, 2], [4, 1, 2, 5], [3, 1, 2]]
    bigrams = BigramVocab.build(train, min_freq=2)  # (1, 2) three times, (3, 1) twice
    model = BagOfWordsClassifier(V, C, num_bigrams=len(bigrams))
    model.set_bigrams(bigrams.keys(V))
    for p in model.parameters():
        torch.nn.init.normal_(p)
    tokens = torch.tensor([[1, 2, 3, 1, 2, 0], [5, 5, 7, 0, 0, 0]])
    lengths = torch.tensor([5, 3])
    counts = model.features(tokens, lengths).to_dense()  # (B, V + bigrams)
    assert counts[0, 1] == 2 and counts[0, V + 0] == 2 and counts[1, 5] == 2 and counts[1, V:].sum() == 0
    weights = torch.cat([model.unigrams.weight, model.bigrams.weight[:-1]])  # (V + bigrams, C)
    assert torch.allclose(model(tokens, lengths), counts @ weights + model.bias, atol=1e-5)


def test_bigram_keys_round_trip():
    vocab = BigramVocab([(3, 1), (1, 2)])
    keys = vocab.keys(10)
    assert keys.tolist() == [12, 31]
    assert [vocab.get(p) is not None for p in [(1, 2), (3, 1)]] == [True, True]
    assert BigramVocab.from_keys(keys, 10).get((1, 2)) == 0
