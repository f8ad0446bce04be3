"""One options base for the recurrent encoder (issue 25 item 3): the applications' options share its fields,
their defaults are the model classes' defaults, and ``encoder_kwargs`` is all a ``build_*`` function passes."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from rnnkit.models import MODELS
from rnnkit.tasks import TASKS
from rnnkit.tasks.options import ENCODER_KWARGS, EncoderOptions, RecurrentOptions
from rnnkit.tasks.sentiment import SentimentOptions, build_classifier

# the model class each application trains (its recurrent network)
MODEL_OF = {"sentiment": "RecurrentClassifier", "lm": "LanguageModel", "translate": "Seq2Seq",
            "speech-digits": "SequenceClassifier", "activity": "SequenceClassifier", "video": "VideoClassifier",
            "speech-ctc": "CTCRecognizer"}


def _declaring(options: type) -> type:
    """The options class that declares the fields (``with_defaults`` subclasses only change defaults)."""
    return options.__mro__[1] if options.__name__ in ("SpeechDigitsOptions", "ActivityOptions") else options


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_application_derives_its_encoder_options_from_the_base(task):
    options = TASKS[task].options
    assert issubclass(options, RecurrentOptions)
    assert issubclass(options, EncoderOptions) == (task != "lm")  # a language model reads one way


@pytest.mark.parametrize("task", sorted(TASKS))
def test_option_defaults_are_the_model_defaults(task):
    """Where the model class has a default for an encoder setting, it is the options' default."""
    params = inspect.signature(MODELS[MODEL_OF[task]].__init__).parameters
    opts = _declaring(TASKS[task].options)()
    for name, value in opts.encoder_kwargs().items():
        assert name in params, f"{MODEL_OF[task]} takes no {name!r}"
        if params[name].default is not inspect.Parameter.empty:
            assert params[name].default == value, f"{task}: {name} is {value!r}, {MODEL_OF[task]} says " \
                                                  f"{params[name].default!r}"


def test_the_models_built_from_default_options_take_every_encoder_kwarg():
    for task, app in TASKS.items():
        fields = {f.name for f in dataclasses.fields(app.options)}
        kwargs = app.options().encoder_kwargs()
        assert set(kwargs) == {ENCODER_KWARGS[name] for name in fields if name in ENCODER_KWARGS}, task


def test_the_sentiment_defaults_a_user_gets_are_unchanged():
    """The main job's model (rnnkit train sentiment, SentimentOptions' defaults) is the one it always was."""
    spec = build_classifier(SentimentOptions(), vocab_size=100, num_classes=2)
    assert spec == {"class": "RecurrentClassifier", "kwargs": {
        "vocab_size": 100, "num_classes": 2, "cell": "lstm", "embed_dim": 128, "hidden_size": 256, "num_layers": 1,
        "bidirectional": False, "pooling": "max", "dropout": 0.5, "embed_dropout": 0.3, "zoneout": 0.0,
        "recurrent_dropout": 0.0}}


@pytest.mark.parametrize("kwargs, kind, says", [({"hidden_size": 0}, ValueError, r"hidden_size must be in \[1, 16"),
                                                ({"hidden_size": 10**9}, ValueError, r"hidden_size must be in \[1, 1"),
                                                ({"dropout": 1.5}, ValueError, "dropout must be in"),
                                                ({"layers": 2.0}, TypeError, "layers must be a whole number"),
                                                ({"cell": "lstn"}, ValueError, "cell must be one of"),
                                                ({"pooling": "sum"}, ValueError, "pooling must be one of")])
def test_the_options_check_their_own_ranges(kwargs, kind, says):
    """What the flags refuse, the dataclass refuses too (rnnkit.fit, --config files, config.json)."""
    with pytest.raises(kind, match=says):
        SentimentOptions(**kwargs)
