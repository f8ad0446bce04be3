"""The optimizer's side of training: the learning-rate schedule, parameter groups (weight decay on
matrices only, discriminative learning rates per layer group) and gradual unfreezing (ULMFiT)."""

from __future__ import annotations

import math

import torch


def lr_factor(step: int, total: int, warmup_steps: int, schedule: str) -> float:
    """Multiplier of the base LR at ``step``: linear warmup, then cosine decay to 0 (or constant)."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = (step - warmup_steps) / max(1, total - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def layer_groups(model: torch.nn.Module) -> list[list[torch.nn.Parameter]]:
    """The model's parameters in layer groups from the input (bottom) to the output (top): the model's own
    ``layer_groups() -> list[list[str]]`` (parameter names), or one group holding every parameter."""
    if not hasattr(model, "layer_groups"):
        return [[p for p in model.parameters() if p.requires_grad]]
    named = dict(model.named_parameters())
    groups = [[named[n] for n in names if named[n].requires_grad] for names in model.layer_groups()]
    if sum(map(len, groups)) != sum(p.requires_grad for p in named.values()):
        raise ValueError(f"{type(model).__name__}.layer_groups() must name every trainable parameter once")
    return groups


def param_groups(model: torch.nn.Module, weight_decay: float, lr: float, lr_decay: float = 1.0) -> list[dict]:
    """Optimizer groups: per layer group (``layer_groups``) an LR of ``lr / lr_decay**depth`` (depth 0 at the
    top), and weight decay on matrices only: not on biases, and not on embeddings (rows of rare words).

    A model may name its own weight-decay exceptions with ``no_weight_decay() -> set[str]`` (parameter names)."""
    if hasattr(model, "no_weight_decay"):
        skip = set(model.no_weight_decay())
        exempt = {id(p) for name, p in model.named_parameters() if name in skip}
        matrices_only = False
    else:
        exempt = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding | torch.nn.EmbeddingBag)}
        matrices_only = True
    groups = layer_groups(model)
    result = []
    for depth, params in enumerate(reversed(groups)):
        decay, no_decay = [], []
        for p in params:
            keep = id(p) not in exempt and (p.dim() >= 2 or not matrices_only)
            (decay if keep else no_decay).append(p)
        group_lr = lr / lr_decay**depth
        result += [{"params": decay, "weight_decay": weight_decay, "lr": group_lr},
                   {"params": no_decay, "weight_decay": 0.0, "lr": group_lr}]
    return result


def frozen_parameters(model: torch.nn.Module, epoch: int) -> list[torch.nn.Parameter]:
    """Gradual unfreezing: the parameters that do not train in ``epoch`` (0-based) — every layer group but
    the top ``epoch + 1``."""
    groups = layer_groups(model)
    return [p for params in groups[: max(0, len(groups) - epoch - 1)] for p in params]
