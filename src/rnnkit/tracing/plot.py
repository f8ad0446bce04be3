"""The picture of a :class:`~rnnkit.tracing.GateTrace`: one heatmap per gate, then ‖h_t‖ over the tokens.

    ┌ forget gate f   units × tokens, colour = f_t[unit] in [0, 1] ┐
    │ input gate i    …                                             │  one column per token
    │ output gate o   …                                             │
    └ ‖h_t‖₂          one line per layer and direction              ┘

LSTM shows f, i, o; both GRUs r, z; an Elman RNN (no gates) its hidden state h in [-1, 1] (each cell declares
its sigmoid gates in ``cell.picture_gates``). The rows are the ``max_units`` units of
:func:`rnnkit.tracing.units.key_units` (the units whose shown gates vary most over this text), best first and
the same in every panel — the units the web page shows for the same text.
``summary=True`` draws one row per gate instead: its mean over all units.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.extras import pyplot
from rnnkit.files import atomic_write
from rnnkit.tracing.trace import GateTrace, gate_titles
from rnnkit.tracing.units import CRITERION, KEY_UNITS, key_units, shown_gates


def _scale(name: str, values: np.ndarray) -> tuple[float, float, str]:
    """Colour range and map: gates on [0, 1]; h on a symmetric range around 0 (at least [-1, 1])."""
    if name != "h":
        return 0.0, 1.0, "viridis"
    bound = max(1.0, float(np.abs(values).max()))
    return -bound, bound, "RdBu_r"


def _unit_panel(fig, ax, part, name: str, title: str, units: list[int]) -> None:  # noqa: ANN001 - matplotlib objects
    """One gate: a row per unit of ``units`` (the same rows in every panel), a column per token."""
    values = part.h if name == "h" else part.gates[name]  # (T, H)
    low, high, cmap = _scale(name, values)
    picture = ax.imshow(values[:, units].T, aspect="auto", cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
    step = max(1, len(units) // 8)
    ax.set_yticks(range(0, len(units), step), [str(u) for u in units[::step]])
    ax.set_ylabel("unit")
    shown = "all" if len(units) == values.shape[1] else f"{len(units)} of"
    ax.set_title(f"{title} ({shown} {values.shape[1]} units)", loc="left", fontsize=10)
    fig.colorbar(picture, ax=ax, pad=0.01, fraction=0.03)


def _summary_panel(fig, ax, part, names: list[str], titles: dict[str, str]) -> None:  # noqa: ANN001 - matplotlib objects
    """Every shown gate's mean over the units: a row per gate, a column per token, the value in each cell."""
    values = np.stack([(part.h if n == "h" else part.gates[n]).mean(axis=1) for n in names])  # (G, T)
    low, high, cmap = _scale(names[0], values)
    picture = ax.imshow(values, aspect="auto", cmap=cmap, vmin=low, vmax=high, interpolation="nearest")
    for (row, col), v in np.ndenumerate(values):
        shade = (v - low) / (high - low)
        ax.text(col, row, f"{v:.2f}", ha="center", va="center", fontsize=8,
                color="black" if shade > 0.55 or cmap == "RdBu_r" else "white")
    ax.set_yticks(range(len(names)), [titles[n] for n in names])
    ax.set_title(f"mean over {part.h.shape[1]} units", loc="left", fontsize=10)
    fig.colorbar(picture, ax=ax, pad=0.01, fraction=0.03)


def plot_trace(trace: GateTrace, path: str | Path, *, layer: int = -1, direction: str = "forward",
               summary: bool = False, max_units: int = KEY_UNITS, note: str | None = None) -> Path:
    """Draw the gates of one layer and direction (rows) over the tokens (columns) to ``path`` (PNG/SVG/PDF):
    the ``max_units`` units of :func:`rnnkit.tracing.units.key_units`, best first, the same in every panel;
    ``note`` (e.g. the prediction) is added to the title."""
    plt = pyplot()
    chosen = trace.get(layer, direction)
    names = shown_gates(trace.cell, trace.gate_names)
    titles = gate_titles(trace.cell)
    T = len(trace.tokens)
    width = min(24.0, max(7.5, 2.5 + 0.42 * T))
    panels = 1 if summary else len(names)
    heights = [0.5 + 0.45 * len(names) if summary else 2.6] * panels + [1.6]
    fig, axes = plt.subplots(panels + 1, 1, figsize=(width, sum(heights) + 1.0), sharex=True,
                             gridspec_kw={"height_ratios": heights}, squeeze=False, layout="constrained")
    if summary:
        _summary_panel(fig, axes[0, 0], chosen, names, titles)
    else:
        units = key_units(chosen.gates, chosen.h, names, max_units)
        for ax, name in zip(axes[:-1, 0], names, strict=True):
            _unit_panel(fig, ax, chosen, name, titles[name], units)
        axes[-2, 0].set_xlabel(f"units ranked by {CRITERION}", fontsize=8, loc="left")
    norm_ax = axes[-1, 0]
    for part in trace.layers:
        style = "-" if part.direction == "forward" else "--"
        norm_ax.plot(range(T), part.h_norm, style, marker="o", markersize=3,
                     label=f"layer {part.layer} {part.direction}")
    norm_ax.set_title("hidden-state norm ‖h_t‖₂", loc="left", fontsize=10)
    norm_ax.set_ylim(bottom=0)
    norm_ax.grid(alpha=0.3)
    columns = len(trace.layers) if width >= 10 else min(2, len(trace.layers))  # above the plot, beside its title
    norm_ax.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=columns, frameon=False,
                   borderaxespad=0.1)
    norm_ax.set_xticks(range(T), trace.tokens, rotation=60 if T > 12 else 0, ha="right" if T > 12 else "center")
    norm_ax.set_xlim(-0.5, T - 0.5)
    depth = 1 + max(part.layer for part in trace.layers)
    where = f"layer {chosen.layer} of {depth}, {chosen.direction}"
    fig.suptitle(f"{trace.cell} gates per token — {where}" + (f" — {note}" if note else ""), fontsize=11)
    out = atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format=Path(path).suffix.lstrip(".") or "png"))
    plt.close(fig)
    return out
