"""Fine-tuning a pretrained classifier (ULMFiT): layer groups, discriminative LRs, gradual unfreezing,
concat pooling."""

from __future__ import annotations

import pytest
import torch

from rnnkit.models import RecurrentClassifier
from rnnkit.models.classifier import pool
from rnnkit.tasks.classify import ClassificationTask
from rnnkit.tasks.sentiment import text_task
from rnnkit.text import EncodedDataset
from rnnkit.train.config import TrainConfig
from rnnkit.train.loop import train_loop
from rnnkit.train.optim import frozen_parameters, layer_groups, param_groups


def _net(**kw) -> RecurrentClassifier:
    torch.manual_seed(0)
    return RecurrentClassifier(30, 2, embed_dim=8, hidden_size=8, **kw)


def test_layer_groups_hold_every_parameter_once_from_the_input_up():
    net = _net(num_layers=2, bidirectional=True)
    names = net.layer_groups()
    assert names[0] == ["embedding.weight"] and names[-1] == ["head.weight", "head.bias"]
    assert all(n.removesuffix("_reverse").endswith("_l0") for n in names[1])
    assert all(n.removesuffix("_reverse").endswith("_l1") for n in names[2]) and len(names[2]) == 8
    flat = [n for group in names for n in group]
    assert sorted(flat) == sorted(n for n, _ in net.named_parameters())


def test_discriminative_learning_rates_fall_by_lr_decay_per_group():
    net = _net(num_layers=2)
    groups = param_groups(net, 0.01, lr=1e-2, lr_decay=2.0)
    lr_of = {id(p): g["lr"] for g in groups for p in g["params"]}
    assert lr_of[id(net.head.weight)] == pytest.approx(1e-2)
    assert lr_of[id(net.encoder.weight_hh_l1)] == pytest.approx(5e-3)
    assert lr_of[id(net.encoder.weight_hh_l0)] == pytest.approx(2.5e-3)
    assert lr_of[id(net.embedding.weight)] == pytest.approx(1.25e-3)
    decay_of = {id(p): g["weight_decay"] for g in groups for p in g["params"]}
    assert decay_of[id(net.encoder.weight_hh_l0)] == 0.01
    assert decay_of[id(net.encoder.bias_hh_l0)] == 0.0 and decay_of[id(net.embedding.weight)] == 0.0
    # a model without layer groups: one group, the plain LR
    plain = torch.nn.Linear(3, 2)
    assert len(layer_groups(plain)) == 1 and {g["lr"] for g in param_groups(plain, 0.0, 1e-3, 2.6)} == {1e-3}


def test_gradual_unfreezing_opens_one_group_per_epoch():
    net = _net(num_layers=2)
    assert [len(frozen_parameters(net, e)) for e in range(5)] == [9, 5, 1, 0, 0]
    assert {id(p) for p in frozen_parameters(net, 1)} == {id(p) for g in layer_groups(net)[:2] for p in g}


def _task() -> ClassificationTask:
    ids = [[3, 4, 5], [6, 7], [8, 9, 10, 11], [12], [5, 6, 7], [13, 14]]
    data = EncodedDataset(ids, [1, 0, 1, 0, 1, 0], list(range(len(ids))))
    return text_task({"train": data, "val": data, "test": data}, ["neg", "pos"], batch_size=3, seed=0)


@pytest.mark.parametrize("epochs, moved", [(1, {"head"}), (2, {"head", "encoder"})])
def test_fit_with_gradual_unfreezing_trains_only_the_open_groups(tmp_path, epochs, moved):
    net = _net()  # groups: embedding, encoder layer 0, head
    before = {k: v.clone() for k, v in net.state_dict().items()}
    cfg = TrainConfig(epochs=epochs, lr=1e-2, patience=0, progress=False, gradual_unfreeze=True, weight_decay=0.1)
    train_loop(net, _task(), cfg, tmp_path / "run", log=lambda _: None)
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["model"]  # the last step's weights
    changed = {k.split(".")[0] for k, v in state.items() if not torch.equal(v, before[k])}
    assert changed == moved


def test_concat_pooling_is_last_max_mean():
    net = _net(pooling="concat", bidirectional=True)
    tokens, lengths = torch.tensor([[3, 4, 5], [6, 7, 0]]), torch.tensor([3, 2])
    out, state = net.encoder(net.embedding(tokens), lengths=lengths)
    got = pool(out, lengths, state, "concat", 2)
    want = torch.cat([pool(out, lengths, state, k, 2) for k in ("last", "max", "mean")], dim=1)
    assert got.shape == (2, 3 * 2 * 8)
    torch.testing.assert_close(got, want)
    assert net.eval()(tokens, lengths).shape == (2, 2)


def test_lr_decay_below_one_is_refused():
    with pytest.raises(ValueError, match="lr_decay must be >= 1"):
        TrainConfig(lr_decay=0.5)


def test_a_checkpoint_from_before_the_fine_tuning_options_resumes(tmp_path):
    net = _net()
    cfg = TrainConfig(epochs=2, patience=0, progress=False)
    train_loop(net, _task(), cfg, tmp_path / "run", log=lambda _: None)
    path = tmp_path / "run" / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    for key in ("lr_decay", "gradual_unfreeze"):
        del state["train_config"][key]
    state["counters"].update(epoch=1, done=False)
    torch.save(state, path)
    result = train_loop(_net(), _task(), cfg, tmp_path / "run", resume=True, log=lambda _: None)
    assert result["steps"] == state["counters"]["step"] + 2


def test_fine_tuning_flags_on_a_model_without_layer_groups_say_so(tmp_path):
    from rnnkit.models import BagOfWordsClassifier

    lines: list[str] = []
    cfg = TrainConfig(epochs=1, progress=False, lr_decay=2.6, gradual_unfreeze=True)
    train_loop(BagOfWordsClassifier(30, 2), _task(), cfg, tmp_path / "run", log=lines.append)
    assert any("one layer group" in line for line in lines)
