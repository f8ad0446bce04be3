"""Property test of the config loader (issue 19): whatever a config.json holds, loading it either succeeds or
ends in one ModelDirError line naming the file — never another exception, never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit.cli import main
from rnnkit.train.checkpoint import ModelDirError, read_config

SMALL = ["--model", "bow", "--batch-size", "8", "--epochs", "1", "--no-progress", "--min-freq", "1"]
# No subnormal floats: training turns on flush-to-zero (torch.set_flush_denormal) in this process.
SCALARS = (st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=12)
           | st.floats(allow_nan=False, allow_subnormal=False))
JSON = st.recursive(SCALARS,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)


@pytest.fixture(scope="module")
def trained(reviews_csv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("config-property") / "bow"
    assert main(["train", "sentiment", "--data", str(reviews_csv), "--text-col", "text", "--label-col", "label",
                 *SMALL, "--out", str(out)]) == 0
    return out


def _paths(value, prefix=()):
    """Every (path of keys) inside a JSON object, depth first."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*prefix, key)
            yield from _paths(inner, (*prefix, key))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_edit_of_config_json_loads_or_fails_in_one_line(trained, tmp_path_factory, data):
    config = json.loads((trained / "config.json").read_text(encoding="utf-8"))
    keys = list(_paths(config))
    path = data.draw(st.sampled_from(keys))
    action = data.draw(st.sampled_from(["replace", "delete"]))
    target = config
    for key in path[:-1]:
        target = target[key]
    if action == "delete":
        del target[path[-1]]
    else:
        target[path[-1]] = data.draw(JSON)
    folder = tmp_path_factory.mktemp("edited")
    shutil.copytree(trained, folder, dirs_exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    try:
        read_config(folder)
    except ModelDirError as exc:
        message = str(exc)
        assert "\n" not in message and "config.json" in message or str(folder) in message


@pytest.mark.parametrize("name", [[], {}, 3, None])
def test_a_model_class_that_is_not_a_string_is_one_line(trained, tmp_path, name):
    """Found by the property test above: an unhashable ``model.class`` raised TypeError from the lookup."""
    config = json.loads((trained / "config.json").read_text(encoding="utf-8"))
    config["model"]["class"] = name
    shutil.copytree(trained, tmp_path, dirs_exist_ok=True)
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ModelDirError, match="model.class") as error:
        read_config(tmp_path)
    assert "\n" not in str(error.value)
