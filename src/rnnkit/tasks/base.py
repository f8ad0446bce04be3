"""The contract of an application with the lifecycle in :mod:`rnnkit.tasks.run`: :class:`App`, :class:`Run`,
:class:`Prepared`, :class:`Predictor`. What the training loop needs of it is :class:`rnnkit.train.task.Task`,
defined beside the loop."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import torch

from rnnkit.train.checkpoint import ModelDirError, build_checked, load_weights, read_config
from rnnkit.train.task import Task


@dataclass
class Run:
    """One training run as an app's ``prepare`` sees it.

    ``saved`` is the run's ``config.json`` when resuming (rebuild tokenizers and features from it and
    ``directory``), ``None`` for a new run (fit them on the training split)."""

    options: Any
    train: Any  # rnnkit.train.TrainConfig
    directory: Path
    log: Callable[[str], None]
    is_main: bool = True
    barrier: Callable[[], None] = lambda: None
    saved: dict[str, Any] | None = None


@dataclass
class Prepared:
    """What ``prepare`` hands the lifecycle: the model to build, the Task to fit it on, and the rest.

    spec: ``{"class", "kwargs"}`` of the model (ignored on resume: the saved one is used).
    task: the :class:`Task` the loop trains on.
    artifacts: ``artifacts(directory) -> config fields``: writes tokenizer files and returns what
        ``config.json`` must hold besides model, options and train (labels, features, …); new runs only.
    metadata: facts for ``metrics.json`` (data, sizes, split, cell, …).
    summary: ``summary(model) -> str``, the log line that describes the built model (new runs only).
    setup: ``setup(model)``, run once on a new run's freshly built model (bigram keys, pretrained weights).
    options: the options to save, when ``prepare`` changed them (e.g. sizes taken from a pretrained model).
    """

    spec: dict[str, Any] | None
    task: Task
    artifacts: Callable[[Path], dict[str, Any]] = lambda directory: {}
    metadata: dict[str, Any] = field(default_factory=dict)
    summary: Callable[[torch.nn.Module], str] = lambda model: ""
    setup: Callable[[torch.nn.Module], None] | None = None
    options: Any = None


class EncodedTexts(NamedTuple):
    """A batch of texts as a text predictor's ``preprocess`` gives it: the texts and their token ids."""

    texts: list[str]
    ids: list[list[int]]


def one_or_many(inputs: Any, what: str = "text", single: tuple[type, ...] = (str,)) -> tuple[list[Any], bool]:
    """``inputs`` as a list, and whether one input was given (a ``single`` type, as a Hugging Face pipeline takes
    one text or a list: one in, one result out). A list of anything but ``single`` items, ``None`` or another type
    is a TypeError naming what to give."""
    if isinstance(inputs, single):
        return [inputs], True
    names = " or ".join(t.__name__ for t in single)
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"give a {what} ({names}) or a list of them, got {type(inputs).__name__}")
    for i, item in enumerate(inputs):
        if not isinstance(item, single):
            raise TypeError(f"input {i + 1} is not a {what} ({names}) but {type(item).__name__} {item!r:.40}")
    return list(inputs), False


class Predictor:
    """A trained model directory ready to use: ``config``, the rebuilt ``model`` with its weights, in eval mode.

    The one constructor of every application's predictor. A subclass reads its own files (tokenizer,
    features) in :meth:`load_artifacts`, which runs after ``config.json`` is read and before the model is built.
    ``apps`` holds the applications whose model directories a subclass loads: each :class:`App` adds itself to
    its predictor's when it is declared, so a directory of another application is refused in one line.

    A predictor is a pipeline (Hugging Face's shape): :meth:`preprocess` (inputs → a batch, refusing bad ones
    by position), :meth:`forward` (the batch through the model, batched), :meth:`postprocess` (the batch and
    the model's output → one result dict per input). :meth:`pipeline` runs the three on one input or a list;
    the CLI, ``rnnkit.load(DIR)`` and ``rnnkit serve`` all call it through the application's method
    (``predict``, ``translate``, …), so every surface gets the same results with the same keys.
    """

    apps: ClassVar[dict[str, App]] = {}
    max_chars: ClassVar[int | None] = None  # the longest text input, in characters (None: not a text model)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.apps = {}  # each predictor class its own

    def __init__(self, directory: Path | str, device: str = "cpu") -> None:
        self.directory = Path(directory)
        mine = type(self).apps
        self.config = read_config(self.directory, task_keys=lambda task: mine[task].config_keys if task in mine else ())
        if mine and self.config["task"] not in mine:
            raise ModelDirError(f"{self.directory} holds a {self.config['task']!r} model, not a "
                                f"{' or '.join(repr(n) for n in mine)} model")
        self.load_artifacts()
        self.model = build_checked(self.config["model"], self.directory)
        load_weights(self.model, self.directory)
        self.device = torch.device(device)
        self.model.to(self.device).eval()

    def load_artifacts(self) -> None:  # noqa: B027 - optional hook
        """Read what the model needs besides its weights (tokenizer, feature pipeline) from the directory."""

    def preprocess(self, inputs: list[Any], **params: Any) -> Any:
        """Inputs → a batch the model takes (e.g. token ids); a bad input is a ValueError naming its position."""
        raise NotImplementedError(f"{type(self).__name__} has no pipeline")

    def forward(self, batch: Any, **params: Any) -> Any:
        """The batch through the model (in batches, without gradients)."""
        raise NotImplementedError(f"{type(self).__name__} has no pipeline")

    def postprocess(self, batch: Any, outputs: Any, **params: Any) -> list[dict[str, Any]]:
        """The batch and the model's outputs → one result dict per input, in order."""
        raise NotImplementedError(f"{type(self).__name__} has no pipeline")

    def split_inputs(self, inputs: Any, what: str) -> tuple[list[Any], bool]:
        """``inputs`` as a list, and whether one input was given (texts: :func:`one_or_many`; a predictor of
        files or arrays says what one input is)."""
        return one_or_many(inputs, what)

    def pipeline(self, inputs: Any, what: str = "text", **params: Any) -> Any:
        """:meth:`preprocess` → :meth:`forward` → :meth:`postprocess` on one input (→ one result) or a list
        (→ a list; also for one file that holds several sequences); ``params`` go to all three (each takes
        those it knows)."""
        items, single = self.split_inputs(inputs, what)
        batch = self.preprocess(items, **params)
        results = self.postprocess(batch, self.forward(batch, **params), **params)
        return results[0] if single and len(results) == 1 else results


@dataclass(frozen=True)
class App:
    """One application of the lecture, as ``rnnkit train NAME`` and ``rnnkit.load`` reach it.

    name: the task name (``config["task"]`` of its model directories).
    help: one line for ``rnnkit train --help``.
    options: the dataclass of its ``rnnkit train NAME`` flags.
    prepare: ``prepare(run) -> Prepared``: data → model spec + Task + artifacts.
    predictor: the :class:`Predictor` subclass its model directories load as.
    evaluate: ``evaluate(predictor, data=…, split=…, beam=…) -> report`` on a split of its data.
    describe: a training result → text for the terminal.
    show: an ``evaluate`` report and its split → text for the terminal.
    show_prediction: one result of ``predictor.predict`` → one line (None: ``rnnkit predict`` does not serve it).
    inputs: what ``rnnkit predict`` takes, for its error when none is given ("give one or more …").
    stdin: ``rnnkit predict`` without inputs reads them as lines from stdin.
    ensemble: ``ensemble(directories)`` → a predictor averaging several models (``--ensemble``), if it has one.
    config_keys: the keys its ``config.json`` must hold besides the header and ``model`` (checked on load by
        :func:`rnnkit.train.schema.check_config`; e.g. a classifier's ``labels``).
    Declaring an App adds it to ``predictor.apps``.
    http: the endpoints ``rnnkit serve`` offers for its models (``predict``, ``trace``, ``generate``,
        ``next_tokens``, ``translate``, ``transcribe``); empty: listed, but not served over HTTP yet.
    scores_all: ``evaluate`` can score every example of a dataset (split ``"all"``: what ``rnnkit evaluate
        --data FILE`` does with an outside file unless ``--split`` names one).
    """

    name: str
    help: str
    options: type
    prepare: Callable[[Run], Prepared]
    predictor: type[Predictor]
    evaluate: Callable[..., dict[str, Any]]
    describe: Callable[[dict[str, Any]], str]
    show: Callable[[dict[str, Any], str], str]
    show_prediction: Callable[[dict[str, Any]], str] | None = None
    inputs: str = "inputs"
    stdin: bool = False
    ensemble: Callable[[Sequence[Path]], Any] | None = None
    config_keys: tuple[str, ...] = ()
    http: tuple[str, ...] = ()
    scores_all: bool = False

    def __post_init__(self) -> None:
        self.predictor.apps[self.name] = self


def with_defaults(base: type, name: str, doc: str, **defaults: Any) -> type:
    """A subclass of the options dataclass ``base`` whose fields named in ``defaults`` get new defaults
    (help and choices kept): one application's defaults without restating whole fields."""
    known = {f.name: f for f in dataclasses.fields(base)}
    unknown = sorted(set(defaults) - set(known))
    if unknown:
        raise TypeError(f"{base.__name__} has no fields {unknown}")
    changed = [(key, known[key].type, field(default=value, metadata=known[key].metadata))
               for key, value in defaults.items()]
    cls = dataclasses.make_dataclass(name, changed, bases=(base,), namespace={"__doc__": doc})
    cls.__module__ = base.__module__
    return cls
