"""Write ``docs/api.md``, the Python API reference, from the signatures and docstrings of rnnkit itself.

    python docs/gen_api.py            # rewrite docs/api.md
    python docs/gen_api.py --check    # exit 1 if docs/api.md differs from what the code says

Nothing here is hand-written per object: :data:`SECTIONS` names what is public, and every signature,
docstring, dataclass field (with its ``help``) and the task → predictor table are read from the imported
code with the standard library's :mod:`inspect`. Docstrings are copied verbatim into ``text`` blocks, because
they hold equations and shapes whose spacing matters. ``tests/test_api_docs.py`` fails when the page is stale.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import pprint
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

PAGE = Path(__file__).resolve().parent / "api.md"
WRAP = 100  # a signature longer than this gets one parameter per line
HOOKS = ("load_artifacts",)  # public names that are hooks for subclasses, not API for users

TITLE = "# Python API reference"
PREFACE = """\
Generated from the code by `python docs/gen_api.py` (do not edit by hand; `tests/test_api_docs.py` fails
when this page and the code disagree). Signatures are those of the code; docstrings are verbatim. Shapes:
T steps, B sequences, I input features, H hidden units, L layers, D = 2 if bidirectional else 1."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One object of the page.

    path: ``module:attribute`` (``attribute`` may be dotted; empty for the module itself).
    members: a class's methods/properties to list (``None``: every public one the class defines itself; for
        a module, ``None`` lists every public function it defines).
    """

    path: str
    members: tuple[str, ...] | None = ()


@dataclasses.dataclass(frozen=True)
class Section:
    title: str
    entries: tuple[Entry, ...]
    intro: str = ""
    tasks_table: bool = False  # add the table of applications (rnnkit.tasks.TASKS)
    predictors: bool = False  # add one entry per predictor class of rnnkit.tasks.TASKS
    options: bool = False  # add one entry per application's options dataclass
    cells_table: bool = False  # add the table of registered cells (rnnkit.nn.CELLS) and one entry per cell class


CELL_MEMBERS = ("step", "zero_state", "forward")
SECTIONS = (
    Section("Loading a trained model", (
        Entry("rnnkit:"),
        Entry("rnnkit:load"),
        Entry("rnnkit.tasks.base:Predictor"),
    ), tasks_table=True),
    Section("Predictors", (
        Entry("rnnkit.tasks.sentiment:SentimentEnsemble", None),
    ), predictors=True, intro="`rnnkit.load(DIR)` builds one of these (or call the class: `Class(DIR, device)`); "
                              "`rnnkit predict DIR --ensemble DIR2 …` uses `SentimentEnsemble`."),
    Section("Gate inspection (rnnkit.tracing)", (
        Entry("rnnkit.tracing:"),
        Entry("rnnkit.tracing.trace:GateTrace", None),
        Entry("rnnkit.tracing.trace:LayerTrace", None),
        Entry("rnnkit.tracing.trace:gate_titles"),
        Entry("rnnkit.tracing.trace:trace_texts"),
        Entry("rnnkit.tracing.trace:trace_ids"),
        Entry("rnnkit.tracing.trace:trace_sequences"),
        Entry("rnnkit.tracing.trace:trace_model"),
        Entry("rnnkit.tracing.trace:trace_encoder"),
        Entry("rnnkit.tracing.plot:plot_trace"),
    )),
    Section("The recurrent layer (rnnkit.nn)", (
        Entry("rnnkit.nn.layers:"),
        Entry("rnnkit.nn:Recurrent", ("forward", "step", "zero_state", "reset_parameters")),
        Entry("rnnkit.nn.layers:reverse_padded"),
    )),
    Section("Cells (rnnkit.nn.cells)", (
        Entry("rnnkit.nn.cells:"),
        Entry("rnnkit.nn.cells:RecurrentCell", CELL_MEMBERS),  # then every registered cell class
        Entry("rnnkit.nn.cells:get_cell"),
        Entry("rnnkit.nn.cells:register_cell"),
        Entry("rnnkit.nn.capabilities:"),
        Entry("rnnkit.nn.capabilities:Kernels", ("own",)),
        Entry("rnnkit.nn.capabilities:OnnxMapping"),
        Entry("rnnkit.nn.backends:"),
        Entry("rnnkit.nn.backends:pick"),
        Entry("rnnkit.nn.backends:rows_for"),
    ), cells_table=True),
    Section("ONNX export", (
        Entry("rnnkit.nn:export_onnx"),
    )),
    Section("Training from Python", (
        Entry("rnnkit:fit"),
        Entry("rnnkit.tasks.fit:fit_classifier"),
        Entry("rnnkit.tasks.run:"),
        Entry("rnnkit.tasks.run:train"),
        Entry("rnnkit.tasks.run:resume"),
        Entry("rnnkit.tasks.run:load"),
        Entry("rnnkit.tasks.run:evaluate_directory"),
        Entry("rnnkit.train:TrainConfig"),
        Entry("rnnkit.train.loop:train_loop"),
        Entry("rnnkit.train.task:Task", None),
    )),
    Section("Application options", (), options=True, intro=(
        "`rnnkit.tasks.run.train(opts, cfg, out)` takes one of these as `opts` (every field is a flag of "
        "`rnnkit train TASK`), e.g. `train(SentimentOptions(cell=\"gru\"), TrainConfig(epochs=2), \"runs/s\")`.")),
    Section("Files (rnnkit.files)", (
        Entry("rnnkit.files:", None),
        Entry("rnnkit.files.write:", None),
        Entry("rnnkit.files.read:", None),
        Entry("rnnkit.files.parse:", None),
    )),
    Section("Sizes (rnnkit.models.size)", (
        Entry("rnnkit.models.size:", None),
    )),
)


class Raw(str):
    """Text that :mod:`inspect` prints as it is (annotations under ``from __future__ import annotations``
    are strings, which ``inspect`` would print quoted)."""

    def __repr__(self) -> str:
        return str(self)


def resolve(path: str) -> tuple[Any, str]:
    """``module:attr.attr`` → (the object, its display name)."""
    module_name, _, attribute = path.partition(":")
    obj = importlib.import_module(module_name)
    for part in attribute.split(".") if attribute else ():
        obj = getattr(obj, part)
    return obj, f"{module_name}.{attribute}" if attribute else module_name


def show_default(value: Any) -> str:
    if callable(value) and hasattr(value, "__qualname__"):
        return value.__qualname__  # print, a class: its name, never "<function … at 0x…>"
    text = repr(value)
    if " at 0x" in text:
        return type(value).__name__ + "(…)"
    return text


def show_annotation(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    return inspect.formatannotation(annotation)


def signature_text(name: str, obj: Callable, *, drop_first: bool = False) -> str:
    """``name(params) -> return``, one parameter per line when it is long."""
    sig = inspect.signature(obj)
    parts = []
    star_done = False
    params = list(sig.parameters.values())[1 if drop_first else 0:]
    for i, p in enumerate(params):
        if p.kind is p.KEYWORD_ONLY and not star_done:
            parts.append("*")
        if p.kind in (p.KEYWORD_ONLY, p.VAR_POSITIONAL):
            star_done = True
        text = ("*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD else "") + p.name
        if p.annotation is not p.empty:
            text += ": " + show_annotation(p.annotation)
        if p.default is not p.empty:
            text += (" = " if p.annotation is not p.empty else "=") + show_default(p.default)
        parts.append(text)
        last_positional_only = p.kind is p.POSITIONAL_ONLY and (i + 1 == len(params)
                                                               or params[i + 1].kind is not p.POSITIONAL_ONLY)
        if last_positional_only:
            parts.append("/")
    ret = "" if sig.return_annotation is sig.empty else " -> " + show_annotation(sig.return_annotation)
    one_line = f"{name}({', '.join(parts)}){ret}"
    if len(one_line) <= WRAP:
        return one_line
    body = "".join(f"    {part},\n" for part in parts)
    return f"{name}(\n{body}){ret}"


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def slug(heading: str, seen: dict[str, int]) -> str:
    """:func:`anchor`, with a repeated heading numbered as GitHub numbers it (``-1``, ``-2``, …)."""
    base = anchor(heading)
    count = seen.get(base, 0)
    seen[base] = count + 1
    return base if count == 0 else f"{base}-{count}"


def code_block(text: str, lang: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{lang}\n{text}\n{fence}"


def docstring(obj: Any) -> str:
    doc = inspect.getdoc(obj)
    if not doc:
        return "*(no docstring)*"
    return code_block(doc, "text")


def cell(text: str) -> str:
    """Text for one markdown table cell (``<unk>`` must not become an HTML tag)."""
    return str(text).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def fields_table(cls: type) -> str:
    """A dataclass's fields: name, type, default and the ``help`` of its metadata (with ``choices``)."""
    rows = ["| field | type | default | help |", "|---|---|---|---|"]
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = show_default(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = show_default(f.default_factory) + "()"
        else:
            default = "(required)"
        help_text = f.metadata.get("help", "")
        if "choices" in f.metadata:
            choices = "choices: " + ", ".join(str(choice) for choice in f.metadata["choices"])
            help_text = f"{help_text}; {choices}" if help_text else choices
        kind = show_annotation(f.type).replace("|", "\\|")  # in a code span only the pipe needs escaping
        default = default.replace("|", "\\|")
        rows.append(f"| `{f.name}` | `{kind}` | `{default}` | {cell(help_text)} |")
    return "\n".join(rows)


def own_members(cls: type) -> tuple[str, ...]:
    """The public methods and properties ``cls`` defines itself, in the order of its source."""
    names = []
    for name, value in vars(cls).items():
        if name.startswith("_") or name in HOOKS:
            continue
        if isinstance(value, (property, classmethod, staticmethod)) or inspect.isfunction(value):
            names.append(name)
    return tuple(names)


def member_block(cls: type, name: str) -> tuple[str, str]:
    """(heading, body) of one method or property."""
    raw = inspect.getattr_static(cls, name)
    title = f"{cls.__name__}.{name}"
    if isinstance(raw, property):
        ret = raw.fget.__annotations__.get("return")
        sig = f"{title}  # property" + ("" if ret is None else f" -> {show_annotation(ret)}")
        return title, code_block(sig, "python") + "\n\n" + docstring(raw.fget)
    if isinstance(raw, (classmethod, staticmethod)):
        sig = signature_text(title, getattr(cls, name))  # bound: no cls
    else:
        sig = signature_text(title, raw, drop_first=True)
    return title, code_block(sig, "python") + "\n\n" + docstring(getattr(cls, name))


def class_block(cls: type, members: tuple[str, ...] | None) -> tuple[str, list[tuple[str, str]]]:
    """The body of a class entry and its members' (heading, body) pairs."""
    bases = [b for b in cls.__bases__ if b is not object]
    if dataclasses.is_dataclass(cls):  # the fields table below is the constructor
        header = f"@dataclass\nclass {cls.__name__}"
    else:
        header = signature_text("class " + cls.__name__, cls).removesuffix(" -> None")
    parts = [code_block(header, "python")]
    if bases:
        parts.append("Bases: " + ", ".join(f"`{public_name(b)}`" for b in bases))
    parts.append(docstring(cls))
    if dataclasses.is_dataclass(cls):
        parts.append(fields_table(cls))
    if getattr(cls, "equation", None) and isinstance(cls.__dict__.get("equation"), str):
        parts.append(f"`{cls.__name__}.equation`: `{cls.equation}`")
    names = own_members(cls) if members is None else members
    return "\n\n".join(parts), [member_block(cls, name) for name in names]


def public_name(cls: type) -> str:
    """``torch.nn.Module`` rather than ``torch.nn.modules.module.Module``."""
    module = cls.__module__
    if module.startswith("torch.nn.modules."):
        module = "torch.nn"
    return f"{module}.{cls.__qualname__}"


def module_functions(module: Any) -> list[tuple[str, str]]:
    """Every public function defined in ``module`` (not imported), in source order."""
    blocks = []
    for name, value in vars(module).items():
        if name.startswith("_") or not inspect.isfunction(value) or value.__module__ != module.__name__:
            continue
        full = f"{module.__name__}.{name}"
        blocks.append((full, code_block(signature_text(full, value), "python") + "\n\n" + docstring(value)))
    return blocks


def entry_block(entry: Entry) -> tuple[str, str, list[tuple[str, str]]]:
    """(heading, body, members) of one entry."""
    obj, name = resolve(entry.path)
    if inspect.ismodule(obj):
        return name, docstring(obj), module_functions(obj) if entry.members is None else []
    if inspect.isclass(obj):
        body, members = class_block(obj, entry.members)
        return name, body, members
    if callable(obj):
        return name, code_block(signature_text(name, obj), "python") + "\n\n" + docstring(obj), []
    value = pprint.pformat(obj, width=WRAP, sort_dicts=False)
    return name, code_block(f"{name.rsplit('.', 1)[-1]} = {value}", "python"), []


def tasks_table() -> str:
    from rnnkit.tasks import TASKS

    rows = ["What `rnnkit.load(DIR)` returns, by the `task` in `DIR/config.json` (`rnnkit.tasks.TASKS`):", "",
            "| task | predictor | what it is |", "|---|---|---|"]
    for name, app in TASKS.items():
        full = f"{app.predictor.__module__}.{app.predictor.__qualname__}"
        rows.append(f"| `{name}` | [`{app.predictor.__qualname__}`](#{anchor(full)}) | {cell(app.help)} |")
    return "\n".join(rows)


def cells_table() -> str:
    from rnnkit.nn import CELLS, backends

    rows = ["The cells by name (`rnnkit.nn.CELLS`; any of these names is a `cell=` of `Recurrent`), with the "
            "backends that run them (read from each cell's `kernels` by `rnnkit.nn.backends.rows_for`) and their "
            "ONNX operator:", "",
            "| name | class | gates | state | whole sequences | `step()` | ONNX | equation |",
            "|---|---|---|---|---|---|---|---|"]
    for name, cls in CELLS.items():
        state = "(h, c)" if cls.has_cell_state else "h"
        runs = {call: ", ".join(row.name for row in backends.rows_for(cls, call)) for call in ("forward", "step")}
        onnx = cls.onnx.operator if cls.onnx else "—"
        rows.append(f"| `{name}` | `{cls.__name__}` | {', '.join(cls.gate_names)} | {state} | {runs['forward']} | "
                    f"{runs['step']} | {onnx} | {cell(cls.equation)} |")
    return "\n".join(rows)


def cell_entries() -> list[Entry]:
    from rnnkit.nn import CELLS

    return [Entry(f"{cls.__module__}:{cls.__qualname__}") for cls in CELLS.values()]


def task_entries(kind: str) -> list[Entry]:
    from rnnkit.tasks import TASKS

    entries = []
    for app in TASKS.values():
        cls = app.predictor if kind == "predictor" else app.options
        entry = Entry(f"{cls.__module__}:{cls.__qualname__}", None if kind == "predictor" else ())
        if entry not in entries:
            entries.append(entry)
    return entries


def render() -> str:
    """The whole page."""
    seen: dict[str, int] = {}
    toc: list[str] = []
    body: list[str] = []
    for section in SECTIONS:
        toc.append(f"- [{section.title}](#{slug(section.title, seen)})")
        body.append(f"## {section.title}")
        if section.intro:
            body.append(section.intro)
        if section.tasks_table:
            body.append(tasks_table())
        entries = list(section.entries)
        if section.cells_table:
            body.append(cells_table())
            after = next(i for i, e in enumerate(entries) if e.path.endswith(":RecurrentCell")) + 1
            entries[after:after] = cell_entries()
        if section.predictors:
            entries = task_entries("predictor") + entries
        if section.options:
            entries += task_entries("options")
        for entry in entries:
            heading, text, members = entry_block(entry)
            toc.append(f"  - [`{heading}`](#{slug(heading, seen)})")
            body.append(f"### `{heading}`")
            body.append(text)
            for member_heading, member_text in members:
                slug(member_heading, seen)
                body.append(f"#### `{member_heading}`")
                body.append(member_text)
    return "\n\n".join([TITLE, PREFACE, "## Contents", "\n".join(toc), *body]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the Python API reference (docs/api.md) from the code.")
    parser.add_argument("--out", type=Path, default=PAGE, help="where to write the page (default: docs/api.md)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if --out is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run `python docs/gen_api.py`", file=sys.stderr)
            return 1
        return 0
    from rnnkit.files import write_text

    write_text(args.out, text)
    print(f"wrote {args.out} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
