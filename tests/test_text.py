"""Tests of the text pipeline: normalise, tokenise, vocabulary, sparse features, batching, encoder."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import torch

from rnnkit.text import (
    BOS,
    EOS,
    PAD,
    SPECIALS,
    UNK,
    BigramVocab,
    BPETokenizer,
    BucketBatchSampler,
    CharTokenizer,
    Normalizer,
    PadCollator,
    TextEncoder,
    Tokenizer,
    Vocab,
    WordTokenizer,
    bag_of_words,
    build_tokenizer,
    collate,
    normalize,
    one_hot,
    sparse_nbytes,
    tokenizer_from_config,
)

TRAIN_TEXTS = [
    "A three-hour cinema master class.",
    "It's always fascinating to watch Marker the essayist at work.",
    "Although it's a bit smug and repetitive, this documentary engages your brain.",
    "The film doesn't work; it's a mess.",
    "A remarkable 179-minute meditation on the nature of revolution.",
] * 4


# ------------------------------------------------------------------------------------- normalize
def test_normalize_nfc_lowercase_whitespace() -> None:
    decomposed = "Cafe\u0301  au\tlait\n"
    assert normalize(decomposed) == "Caf\u00e9 au lait"
    assert normalize(decomposed, lowercase=True) == "caf\u00e9 au lait"
    assert normalize(decomposed, collapse_whitespace=False) == "Caf\u00e9  au\tlait\n"
    assert Normalizer.from_config(Normalizer(lowercase=True).to_config()) == Normalizer(lowercase=True)
    with pytest.raises(ValueError, match="unknown normalizer"):
        Normalizer.from_config({"lowercase": True, "stem": True})


# ------------------------------------------------------------------------------------- tokenizers
@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Don't panic!", ["Do", "n't", "panic", "!"]),
        ("I can't, won't.", ["I", "ca", "n't", ",", "wo", "n't", "."]),
        (
            "it's we'll I'm they're I'd you've",
            ["it", "'s", "we", "'ll", "I", "'m", "they", "'re", "I", "'d", "you", "'ve"],
        ),
        ("It\u2019s fine", ["It", "\u2019s", "fine"]),
        ("a well-made, 179-minute film", ["a", "well-made", ",", "179-minute", "film"]),
        ("3.5 stars, $1,000 budget", ["3.5", "stars", ",", "$", "1,000", "budget"]),
        ("Wait... what?! -- no", ["Wait", "...", "what", "?", "!", "--", "no"]),
        ('(maybe) "quoted"', ["(", "maybe", ")", '"', "quoted", '"']),
        ("the U.S. release", ["the", "U.S.", "release"]),
        ("@anonymous see http://url_removed #fb :)", ["@anonymous", "see", "http://url_removed", "#fb", ":", ")"]),
        ("", []),
    ],
)
def test_word_tokenizer_cases(text: str, tokens: list[str]) -> None:
    assert WordTokenizer().tokenize(text) == tokens


def test_word_tokenizer_unicode_nfc_and_lowercase() -> None:
    tok = WordTokenizer(lowercase=True)
    assert tok.tokenize("Cafe\u0301 DÉJÀ-VU") == tok.tokenize("Caf\u00e9 d\u00e9j\u00e0-vu") == ["café", "déjà-vu"]
    assert WordTokenizer().detokenize(["Do", "n't", "panic", "!"]) == "Don't panic!"


def test_char_tokenizer_nfc_keeps_whitespace() -> None:
    tok = CharTokenizer()
    assert tok.tokenize("e\u0301 a\nb") == ["\u00e9", " ", "a", "\n", "b"]
    assert tok.detokenize(tok.tokenize("To be,\nor not")) == "To be,\nor not"


@pytest.mark.parametrize("fallback", ["byte", "unk"])
def test_bpe_trains_on_given_texts_and_never_crashes_on_unseen(fallback: str, tmp_path: Path) -> None:
    tok = build_tokenizer("bpe", texts=TRAIN_TEXTS, vocab_size=320, min_frequency=2, fallback=fallback)  # type: ignore[arg-type]
    assert isinstance(tok, BPETokenizer) and isinstance(tok, Tokenizer)
    assert tok.vocab_size <= 320
    pieces = tok.tokenize("It's a remarkable film.")
    assert pieces and len(pieces) < len("It's a remarkable film.")  # merges were learned
    unseen = tok.tokenize("日本語 ✨ film")  # characters never seen in training
    assert unseen
    if fallback == "byte":
        assert tok.detokenize(unseen) == "日本語 ✨ film"
    else:
        assert BPETokenizer.UNK in unseen
    encoder = TextEncoder(tok, Vocab.build([tok.tokenize(t) for t in TRAIN_TEXTS]))
    config = json.loads(json.dumps(encoder.save(tmp_path)))
    again = TextEncoder.from_config(config, tmp_path).tokenizer
    assert again.tokenize("It's a remarkable 日本 film.") == tok.tokenize("It's a remarkable 日本 film.")


def test_bpe_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="texts="):
        build_tokenizer("bpe")
    with pytest.raises(ValueError, match="valid kinds"):
        build_tokenizer("sentencepiece")  # type: ignore[arg-type]
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"tokens": []}')
    with pytest.raises(ValueError, match="not an rnnkit BPE tokenizer"):
        BPETokenizer.load(bad)


@pytest.mark.parametrize("tok", [WordTokenizer(lowercase=True), CharTokenizer()])
def test_tokenizer_config_round_trip(tok: Tokenizer) -> None:
    again = tokenizer_from_config(json.loads(json.dumps(tok.to_config())))
    assert type(again) is type(tok)
    assert again.tokenize("Don't STOP, café") == tok.tokenize("Don't STOP, café")


# ----------------------------------------------------------------------------------------- vocab
def test_vocab_specials_min_freq_max_size_and_ties() -> None:
    streams = [["b", "a", "c", "a"], ["b", "d", "<pad>"], ["e"]]
    vocab = Vocab.build(streams)
    assert vocab.itos[:4] == list(SPECIALS) and (PAD, UNK, BOS, EOS) == (0, 1, 2, 3)
    assert vocab.itos[4:] == ["a", "b", "c", "d", "e"]  # count desc, then token; "<pad>" is not counted
    assert Vocab.build(streams, min_freq=2).itos[4:] == ["a", "b"]
    assert Vocab.build(streams, max_size=6).itos[4:] == ["a", "b"]
    assert len(Vocab.build(streams, max_size=4)) == 4
    with pytest.raises(ValueError):
        Vocab.build(streams, max_size=3)
    assert vocab.encode(["a", "zzz", "e"], add_bos=True, add_eos=True) == [BOS, 4, UNK, 8, EOS]
    assert vocab.decode([BOS, 4, UNK, EOS], skip_specials=True) == ["a"]
    assert vocab.decode([4, UNK]) == ["a", "<unk>"]


def test_vocab_round_trip_and_bad_files(tmp_path: Path) -> None:
    tokens = [t for text in TRAIN_TEXTS for t in WordTokenizer().tokenize(text)]
    vocab = Vocab.build([tokens], min_freq=2)
    path = vocab.save(tmp_path / "sub" / "vocab.json")
    assert not [p for p in path.parent.iterdir() if p.name != "vocab.json"]  # no temp file left behind
    loaded = Vocab.load(path)
    assert loaded == vocab and loaded.itos == vocab.itos
    assert loaded.encode(tokens) == vocab.encode(tokens)
    for content, match in [("not json at all", "not a vocab JSON"), ('{"tokens": ["a"]}', "not an rnnkit vocab")]:
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        with pytest.raises(ValueError, match=match) as err:
            Vocab.load(bad)
        assert "\n" not in str(err.value)


# -------------------------------------------------------------------------------------- features
def test_one_hot_is_sparse_and_exact() -> None:
    x = one_hot([4, 1, 4], vocab_size=7)
    assert x.layout == torch.sparse_coo and x.shape == (3, 7)
    assert torch.equal(x.to_dense(), torch.eye(7)[[4, 1, 4]])
    with pytest.raises(ValueError, match=r"\[0, 7\)"):
        one_hot([7], vocab_size=7)


def test_300k_dictionary_costs_memory_per_token_not_per_word() -> None:
    g = torch.Generator().manual_seed(0)
    T, V = 5_000, 300_000
    ids = torch.randint(0, V, (T,), generator=g)
    big = one_hot(ids, vocab_size=V)
    small = one_hot(ids % 1000, vocab_size=1000)
    assert big.shape == (T, V) and big.layout == torch.sparse_coo
    # (2 int64 indices + 1 float32 value) per token, whatever V is; dense would be T*V*4 = 6 GB.
    assert sparse_nbytes(big) == sparse_nbytes(small) == T * (2 * 8 + 4)
    assert sparse_nbytes(big) < T * V * 4 / 10_000
    batch = [torch.randint(0, V, (n,), generator=g).tolist() for n in (300, 1, 2000)]
    bow = bag_of_words(batch, V, layout="csr")
    assert bow.shape == (3, V) and bow.layout == torch.sparse_csr
    assert sparse_nbytes(bow) <= (sum(map(len, batch)) * (8 + 4) + 4 * 8)


def test_bag_of_words_counts_and_bigrams() -> None:
    train = [[5, 6, 7, 5, 6], [5, 6, 8], [9]]
    bigrams = BigramVocab.build(train, min_freq=2)
    assert len(bigrams) == 1 and (5, 6) in bigrams  # (5, 6) seen 3 times; others once
    assert BigramVocab.from_dict(json.loads(json.dumps(bigrams.to_dict()))).get((5, 6)) == 0
    bow = bag_of_words(train, vocab_size=10, ngram_vocab=bigrams)
    assert bow.layout == torch.sparse_coo and bow.shape == (3, 11)
    dense = bow.to_dense()
    for b, ids in enumerate(train):
        expected = torch.zeros(11)
        for j, c in Counter(ids).items():
            expected[j] = c
        expected[10] = sum(1 for p in zip(ids[:-1], ids[1:], strict=True) if p == (5, 6))
        assert torch.equal(dense[b], expected)
    binary = bag_of_words(train, vocab_size=10, binary=True, layout="csr").to_dense()
    assert binary.max() == 1 and binary[0, 5] == 1
    w = torch.randn(11, 2)
    assert torch.allclose(bag_of_words(train, 10, bigrams, layout="csr") @ w, dense @ w)


# -------------------------------------------------------------------------------------- batching
LENGTHS = [(i * 37) % 50 + 1 for i in range(103)]


def test_bucket_sampler_covers_all_deterministic_and_bucketed() -> None:
    sampler = BucketBatchSampler(LENGTHS, batch_size=8, seed=3, pool_factor=4)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 13
    assert sorted(i for b in batches for i in b) == list(range(103))
    assert batches == list(BucketBatchSampler(LENGTHS, batch_size=8, seed=3, pool_factor=4))
    assert batches != list(BucketBatchSampler(LENGTHS, batch_size=8, seed=4, pool_factor=4))
    sampler.set_epoch(1)
    assert list(sampler) != batches
    spread = sum(max(LENGTHS[i] for i in b) - min(LENGTHS[i] for i in b) for b in batches)
    random_spread = sum(
        max(LENGTHS[i] for i in b) - min(LENGTHS[i] for i in b)
        for b in [list(range(k, min(k + 8, 103))) for k in range(0, 103, 8)]
    )
    assert spread < random_spread / 2  # buckets pad far less than arbitrary batches
    ordered = list(BucketBatchSampler(LENGTHS, batch_size=8, shuffle=False))
    flat = [LENGTHS[i] for b in ordered for i in b]
    assert flat == sorted(flat)


@pytest.mark.parametrize("drop_last", [False, True])
def test_bucket_sampler_rank_split(drop_last: bool) -> None:
    world = 4
    per_rank = [
        list(BucketBatchSampler(LENGTHS, batch_size=8, seed=1, num_replicas=world, rank=r, drop_last=drop_last))
        for r in range(world)
    ]
    counts = {len(b) for b in per_rank}
    assert len(counts) == 1  # every rank runs the same number of steps
    n = counts.pop()
    assert n == (3 if drop_last else 4)  # 13 batches (12 full) over 4 ranks
    seen = [i for batches in per_rank for b in batches for i in b]
    if drop_last:
        assert len(seen) == len(set(seen)) == 12 * 8
    else:
        assert set(seen) == set(range(103))
    with pytest.raises(ValueError):
        BucketBatchSampler(LENGTHS, batch_size=8, num_replicas=2, rank=2)


@pytest.mark.parametrize("world", [2, 3])
def test_ranks_split_the_batches_of_one_process_with_world_times_the_batch(world: int) -> None:
    """Step i of W ranks with batch_size B trains on batch i of one process with batch_size W·B: the same
    examples, each rank a strided slice of equal size (the short batch padded with its own first examples
    to a multiple of W), so DDP's mean of the ranks' mean gradients is the batch's mean gradient."""
    one = list(BucketBatchSampler(LENGTHS, batch_size=4 * world, seed=5))
    ranks = [list(BucketBatchSampler(LENGTHS, batch_size=4, seed=5, num_replicas=world, rank=r))
             for r in range(world)]
    assert all(len(batches) == len(one) for batches in ranks)
    padded = 0
    for i, batch in enumerate(one):
        shards = [batches[i] for batches in ranks]
        assert len({len(s) for s in shards}) == 1  # equal slices: the mean of means is the batch's mean
        seen = [index for shard in shards for index in shard]
        if len(batch) % world == 0:
            assert sorted(seen) == sorted(batch)
        else:  # the one short batch (103 = 12·8 + 7 = 8·12 + 7): padded by repeating its first examples
            padded += 1
            assert set(seen) == set(batch) and len(seen) == world * -(-len(batch) // world)
    assert padded == 1


def test_collate_pads_and_reports_lengths() -> None:
    batch = collate([([5, 6, 7], 1), ([8], 0), ([9, 4], 1)])
    assert batch.tokens.dtype == torch.long and batch.tokens.shape == (3, 3)
    assert batch.tokens.tolist() == [[5, 6, 7], [8, PAD, PAD], [9, 4, PAD]]
    assert batch.lengths.tolist() == [3, 1, 2] and batch.labels is not None and batch.labels.tolist() == [1, 0, 1]
    assert collate([[1, 2], [3]]).labels is None
    with pytest.raises(ValueError, match="empty sequences"):
        collate([([5], 1), ([], 0)])


def test_truncation_warns_once_with_count() -> None:
    collator = PadCollator(max_len=2)
    with pytest.warns(UserWarning, match="truncated 2 of 3 sequences"):
        batch = collator([([1, 2, 3], 0), ([4], 1), ([5, 6, 7, 8], 1)])
    assert batch.tokens.shape == (3, 2) and collator.num_truncated == 2
    batch = collator([([1, 2, 3], 0)])  # counted, no second warning (warnings are errors here)
    assert collator.num_truncated == 3


# --------------------------------------------------------------------------------------- encoder
class _Ex:
    def __init__(self, text: str, label: int) -> None:
        self.text, self.label = text, label


@pytest.mark.parametrize("kind", ["word", "char", "bpe"])
def test_text_encoder_round_trip(kind: str, tmp_path: Path) -> None:
    enc = TextEncoder.build(TRAIN_TEXTS, tokenizer=kind, bpe_vocab_size=320, max_len=64)  # type: ignore[arg-type]
    ids = enc.encode("It's a remarkable film.")
    config = json.loads(json.dumps(enc.save(tmp_path)))
    again = TextEncoder.from_config(config, tmp_path)
    assert again.encode("It's a remarkable film.") == ids
    with pytest.raises(ValueError, match="empty text"):
        again.encode("   ")


def test_encode_dataset_drops_empty_and_truncates_with_counts() -> None:
    enc = TextEncoder.build(TRAIN_TEXTS, max_len=4)
    examples = [_Ex("It's bad", 0), _Ex("", 1), _Ex("  \n", 1), _Ex("A three-hour cinema master class.", 1)]
    with pytest.warns(UserWarning) as record:
        data = enc.encode_dataset(examples)
    messages = sorted(str(w.message) for w in record)
    assert messages == ["dropped 2 of 4 examples with no tokens", "truncated 1 of 2 sequences to max_len=4 tokens"]
    assert len(data) == 2 and data.source_index == [0, 3] and data.labels == [0, 1]
    assert data.lengths == [3, 4] and data.num_dropped == 2 and data.num_truncated == 1
    assert data[1][0] == enc.vocab.encode(["A", "three-hour", "cinema", "master"])
