"""The pictures and the report of the gates experiment (:mod:`rnnkit.experiments.gates`), from its results alone.

The pictures and the detailed tables show seed 0 (:func:`seed_view`); a table per seed gives the counts every
verdict rests on. The report reads no trace (``gates.TRACES``), so it can be rebuilt from the compacted
results the repository keeps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.experiments.record import pyplot, save_figure, setup_line, table
from rnnkit.experiments.rules import Rule, verdict_section

ROWS = 24  # units shown in the passage heatmaps: the strongest sentence-end droppers first


def seed_view(results: dict[str, Any], seed: int) -> dict[str, Any]:
    """The results with one seed's forget and update parts in place of the lists of seeds (what the plots and
    the detailed tables show)."""
    return {**results, "forget": results["forget"]["seeds"][seed],
            "update": {cell: v["seeds"][seed] for cell, v in results["update"].items()}}


def _mark_ends(ax, ends: list[int]) -> None:  # noqa: ANN001 - a matplotlib Axes
    """Red triangles above the columns of the sentence ends (lines would hide the cells)."""
    ax.plot(ends, [-1.2] * len(ends), "v", color="red", markersize=6, clip_on=False)


def also_closing(by_token: list[dict[str, Any]], margin: float = 0.1) -> list[str]:
    """The kinds of token, besides sentence ends, at which the reset units close about as much (mean f within
    ``margin`` of theirs at sentence ends): what they react to beyond the sentence."""
    kinds = {k["kind"]: k["reset_units"] for k in by_token if k["reset_units"] is not None}
    at_end = kinds.get("sentence end . ! ?")
    if at_end is None:
        return []
    skip = ("sentence end . ! ?", "first word after", "other words")
    return [kind for kind, value in kinds.items() if kind not in skip and value <= at_end + margin]


def plot_passage(results: dict[str, Any], path: Path) -> Path:
    """f of the :data:`ROWS` units that drop most at sentence ends (rows, strongest on top) over one held-out
    passage (columns = words), trained and untrained (the same units), and the per-word means below."""
    plt = pyplot()
    p = results["forget"]["passage"]
    tokens, ends = p["tokens"], p["ends"]
    dropping = len(results["forget"]["models"]["trained"]["end"]["dropping"])
    shown = min(ROWS, len(p["order"]))
    fig, axes = plt.subplots(3, 1, figsize=(12, 10), sharex=True, gridspec_kw={"height_ratios": [3, 3, 2]})
    for ax, name in zip(axes[:2], ("trained", "untrained"), strict=True):
        f = np.asarray(p[name])[:, :shown].T  # (units, width)
        image = ax.imshow(f, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        ax.set_yticks(range(shown), [str(u) for u in p["order"][:shown]], fontsize=6)
        ax.set_ylabel("unit (most dropping\nat sentence ends on top)", fontsize=8)
        ax.set_title(f"forget gate f of the {shown} units that drop most at sentence ends, {name} LSTM "
                     "(dark = empties its memory cell, bright = keeps it)", fontsize=9, pad=10)
        if dropping:
            ax.axhline(dropping - 0.5, color="white", linewidth=1.2, linestyle="--")
        _mark_ends(ax, ends)
        fig.colorbar(image, ax=ax, fraction=0.02, pad=0.01)
    ax = axes[2]
    for name, style, colour in (("trained", "-", "C0"), ("untrained", "--", "C1")):
        f = np.asarray(p[name])
        ax.plot(f.mean(1), style, color=colour, marker="o", markersize=3, label=f"{name}: mean over all units")
        if dropping:
            ax.plot(f[:, :dropping].mean(1), style, color=colour, marker="s", markersize=3, alpha=0.6,
                    label=f"{name}: mean over the {dropping} units above the dashed line")
    for i in ends:
        ax.axvline(i, color="red", linewidth=0.8, alpha=0.5)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean f")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=2)
    ax.set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=8)
    for i in ends:
        ax.get_xticklabels()[i].set_color("red")
    fig.suptitle("What the forget gate does on held-out Austen (red: sentence ends . ! ?)", fontsize=11)
    return save_figure(fig, path)


def plot_units(results: dict[str, Any], path: Path) -> Path:
    """Every unit's difference of f (at the position − inside sentences), sorted, trained vs untrained, with
    the trained model's family-wise 5 % threshold and the minimum drop."""
    plt = pyplot()
    models, drop = results["forget"]["models"], results["drop"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for ax, (where, title) in zip(axes, (("end", "reading . ! ?"), ("first", "the first word after")), strict=True):
        for name, marker in (("trained", "o"), ("untrained", "x")):
            c = models[name][where]
            ax.plot(np.sort(c["unit_difference"]), marker, markersize=3, linestyle="none",
                    label=f"{name}: {len(c['dropping'])} units drop significantly")
        ax.axhline(-drop, color="black", linestyle=":", linewidth=1, label=f"drop of {drop}")
        ax.axhline(models["trained"][where]["null_threshold"], color="C0", linestyle="--", linewidth=1,
                   label="trained: 5 % family-wise threshold")
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.set_xlabel("units, sorted")
        ax.set_title(f"f at {title} − f inside sentences, per unit", fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("difference of mean f")
    return save_figure(fig, path)


def plot_update(results: dict[str, Any], path: Path, shown: int = 4) -> Path:
    """For one held-out adding-problem sequence: z and h of the trained model's strongest *holders* (the units
    whose state carries the first number to the second marker; writers if none), the mean z over all units,
    markers as red lines; the same units of the untrained twin."""
    plt = pyplot()
    cells = list(results["update"])
    fig, axes = plt.subplots(2 * len(cells), 2, figsize=(12, 3.2 * 2 * len(cells)), sharex=True, squeeze=False)
    for row, cell in enumerate(cells):
        r = results["update"][cell]
        trained = r["models"]["trained"]
        units = (trained["holders"] or trained["dropping"] or [0])[:shown]
        marks = [t for t, m in enumerate(r["example"]["markers"]) if m > 0.5]
        for col, name in enumerate(("trained", "untrained")):
            z, h = np.asarray(r["example"][name]["z"]), np.asarray(r["example"][name]["h"])
            corr = r["models"][name]["memory_r"]
            for ax, values, label in ((axes[2 * row, col], z, "update gate z (1 = hold)"),
                                      (axes[2 * row + 1, col], h, "hidden state h")):
                for j in units:
                    ax.plot(values[:, j], marker=".", markersize=3, label=f"unit {j} (r = {corr[j]:+.2f})")
                if values is z:
                    ax.plot(z.mean(1), color="black", linestyle="--", linewidth=1, label="mean over all units")
                    ax.set_ylim(-0.02, 1.02)
                    ax.set_title(f"{cell}, {name} (test MSE {r['test_mse']:.3f})" if name == "trained" else
                                 f"{cell}, {name}: the same units", fontsize=10)
                for t in marks:
                    ax.axvline(t, color="red", linewidth=1, alpha=0.7)
                ax.set_ylabel(label, fontsize=8)
            axes[2 * row, col].legend(fontsize=7, loc="lower right")
    for ax in axes[-1]:
        ax.set_xlabel("time step (red: the two marked numbers)")
    fig.suptitle("What the GRU's update gate does on the adding problem — units that carry the first number "
                 "(r: correlation of their state before the 2nd marker with it)", fontsize=10)
    return save_figure(fig, path)


def _row(name: str, c: dict[str, Any], units: int) -> list[str]:
    return [name, f"{c['mean_at']:.3f} ± {c['std_at']:.3f} ({c['n_at']})",
            f"{c['mean_rest']:.3f} ± {c['std_rest']:.3f} ({c['n_rest']})", f"{c['difference']:+.4f}",
            f"{c['p_value']:.3g}", f"{len(c['dropping'])} of {units}", f"{c['largest_drop']:+.3f}"]


def reading(results: dict[str, Any]) -> list[str]:
    """The plain-language paragraphs: what the numbers and pictures say, in words (each sentence follows
    from a number in the results, so a run that shows nothing says so)."""
    f = results["forget"]["models"]
    t, u = f["trained"], f["untrained"]
    H = results["setup"]["hidden_size"]
    hold_r = results["hold_r"]
    text = [f"**What you see (forget gate).** Before training the forget gate sits near σ(1) ≈ 0.73 (the forget "
            f"bias starts at 1) for every word: mean f {u['end']['mean_at']:.2f} at sentence ends and "
            f"{u['end']['mean_rest']:.2f} inside, and {len(u['end']['dropping'])} of {H} units close at sentence "
            f"ends — an untrained network has no notion of a sentence. After training the gate is mostly open, the "
            f"memory kept (mean f {t['end']['mean_rest']:.2f} inside sentences). "]
    if t["end"]["dropping"] or t["first"]["dropping"]:
        text[0] += (f"A few units, not the whole cell, learn to close at a boundary: {len(t['end']['dropping'])} of "
                    f"{H} units drop their f significantly when they read . ! ? and {len(t['first']['dropping'])} on "
                    f"the first word after (the strongest by {-t['end']['largest_drop']:.2f}). In the passage picture "
                    "they are the rows above the dashed line, dark under the red triangles: they empty their memory "
                    "cell when a sentence ends and start again with the next one, while the other units carry the "
                    f"paragraph along. The mean over all units changes by only {t['end']['difference']:+.3f} at a "
                    "sentence end: averaged over the cell, the reset is invisible.")
        others = also_closing(results["forget"]["by_token"])
        if others:
            text[0] += (" But they are not sentence detectors: they close about as much at "
                        f"{', '.join(others)} (table above), so they mark boundaries of clauses and quotations too")
            if any(kind.startswith("the dot after") for kind in others):
                text[0] += " — even the dot of “Mr.”, which ends no sentence: they react to the token itself"
            text[0] += "."
    else:
        text[0] += "No unit closes its forget gate at sentence ends beyond what chance allows at this budget."
    for cell, r in results["update"].items():
        m, un = r["models"]["trained"], r["models"]["untrained"]
        head = (f"**What you see (update gate, {cell}).** The GRU keeps h_{{t-1}} where z ≈ 1 and overwrites it with "
                f"the candidate where z ≈ 0. The untrained GRU's z hovers around {un['mean_rest']:.2f} at every "
                "step, markers or not: it half-forgets all the time. ")
        if not r["solved"]:
            text.append(head + f"This run did not solve the adding problem (test MSE {r['test_mse']:.4f}), so its "
                               "gates are not read here.")
        elif not m["dropping"]:
            text.append(head + f"Trained (test MSE {r['test_mse']:.4f}), no unit lowers z at the markers beyond "
                               "chance: this run stores the numbers some other way.")
        else:
            both = len(set(m["dropping"]) & set(m["holders"]))
            text.append(head + f"Trained (test MSE {r['test_mse']:.4f}), z starts to act as a switch: "
                        f"{len(m['dropping'])} of {results['setup']['adding_hidden']} units open their write at the "
                        "marked "
                        f"numbers (z falls to {m['writers_at_marker']:.2f} there on average) and close it on the "
                        f"unmarked steps between (z {m['writers_hold']:.2f}). ")
            if m["holders"]:
                best = m["strongest"]
                z_best = best["z_between"]
                text[-1] += (f"{len(m['holders'])} units still carry the first number when the second arrives (their "
                             f"state then correlates with it at |r| ≥ {hold_r}; {both} of them are also writers; "
                             f"before training {len(un['holders'])} units do). Their z is "
                             f"{m['holders_z_between']:.2f} between the markers against {m['holders_z_marker']:.2f} at "
                             "them: the gate leans towards *hold* between the markers")
                if m["holders_z_between"] < 0.9:
                    text[-1] += ", but it is far from the ideal z = 1 — each step still mixes in some of the candidate"
                text[-1] += (f". The strongest carrier, unit {best['unit']} (r = {best['r']:+.2f}), has "
                             f"z {z_best:.2f} between the markers")
                moves = (best["step_marker"], best["step_between"])
                text[-1] += (f"; its h moves by {moves[0]:.3f} per step at a marker and by {moves[1]:.3f} between "
                             "them")
                if z_best < 0.5 and moves[1] < 0.2 * moves[0]:
                    text[-1] += (": with the gate more open than closed it still keeps its value, because its "
                                 "candidate (which reads h) writes the same value again — holding need not mean z ≈ 1.")
                else:
                    text[-1] += "."
            else:
                text[-1] += "No single unit carries the first number across the gap: the memory is spread out."
    return text


def _seed_rows(results: dict[str, Any]) -> list[list[Any]]:
    """Per seed, the counts the verdicts rest on."""
    rows = []
    for f in results["forget"]["seeds"]:
        t, u = f["models"]["trained"], f["models"]["untrained"]
        rows.append([f"LSTM LM, seed {f['seed']}", f"perplexity {f['perplexity']:.1f}",
                     f"{len(t['end']['dropping'])} / {len(t['specific']['dropping'])} / {len(t['sentence_units'])}",
                     f"{len(u['end']['dropping'])} / {len(u['specific']['dropping'])} / {len(u['sentence_units'])}"])
    for cell, v in results["update"].items():
        for r in v["seeds"]:
            t, u = r["models"]["trained"], r["models"]["untrained"]
            rows.append([f"{cell}, seed {r['seed']}", f"test MSE {r['test_mse']:.4f}" + ("" if r["solved"] else
                                                                                        " (not solved)"),
                         f"{len(t['dropping'])} writers, {len(t['holders'])} holders",
                         f"{len(u['dropping'])} writers, {len(u['holders'])} holders"])
    return rows


def _gru_rows(view: dict[str, Any]) -> list[list[str]]:
    rows = []
    for cell, r in view["update"].items():
        for m, c in r["models"].items():
            rows.append([f"{cell}, {m}", f"{c['mean_at']:.3f} ± {c['std_at']:.3f}",
                         f"{c['mean_rest']:.3f} ± {c['std_rest']:.3f}",
                         "–" if c["mean_after"] is None else f"{c['mean_after']:.3f}", f"{c['p_value']:.3g}",
                         f"{len(c['dropping'])} of {view['setup']['adding_hidden']}",
                         f"{c['writers_at_marker']:.3f} → {c['writers_hold']:.3f}",
                         f"{len(c['holders'])} (max r {c['max_r']:.2f})",
                         "–" if not c["holders"] else f"{c['holders_z_marker']:.3f} → {c['holders_z_between']:.3f}"])
    return rows


def report(results: dict[str, Any], rules: tuple[Rule, ...] = ()) -> str:
    """report.md: per-seed counts, seed 0 in detail, the reading in words, the verdicts and their ``rules``."""
    view = seed_view(results, 0)
    s, f = view["setup"], view["forget"]
    drop, hold_r, solved = view["drop"], view["hold_r"], view["solved_below"] / 6  # MSE below this: solved
    H = s["hidden_size"]
    header = ["model", "f at position ± sd (n)", "f compared with ± sd (n)", "difference", "p (perm.)",
              "units that drop", "largest unit drop"]
    rows = [_row(f"{m}, sentence end vs words inside", f["models"][m]["end"], H) for m in f["models"]]
    rows += [_row(f"{m}, sentence end vs other punctuation", f["models"][m]["specific"], H) for m in f["models"]]
    rows += [_row(f"{m}, first word after vs words inside", f["models"][m]["first"], H) for m in f["models"]]
    token_rows = [[k["kind"], k["n"], "–" if k["reset_units"] is None else f"{k['reset_units']:.3f}",
                   "–" if k["all_units"] is None else f"{k['all_units']:.3f}"] for k in f["by_token"]]
    lr = ", ".join(f"{k}: {v:.1f}" for k, v in results["forget"]["validation_perplexity"].items())
    lines = ["# What the gates do", "", setup_line(results), "",
             f"{s['seeds']} seed(s) of every model. Per seed (the verdicts rest on these counts): LSTM LM — units "
             "that drop at sentence ends / below other punctuation there / both (sentence units); GRUs — writers "
             "and holders:", "",
             *table(["model", "trained to", "trained", "untrained twin"], _seed_rows(results)), "",
             "## 1. The LSTM's forget gate at sentence boundaries", "",
             f"Word-level LSTM language model on Jane Austen (paragraphs unwrapped): embedding {s['embed_dim']}, "
             f"hidden {H}, {f['epochs']} epoch(s), BPTT {s['bptt']}, batch {s['batch_size']}, lr "
             f"{results['forget']['lr']:g} (validation perplexity by lr — {lr}). Seed 0: held-out perplexity "
             f"{f['perplexity']:.1f} ({f['train_seconds']:.0f} s), traced over {f['trace_tokens']:,} held-out tokens "
             f"({f['counts']['end']} sentence ends, {f['counts']['inside']:,} words inside sentences, "
             f"{f['counts']['punctuation']:,} other punctuation marks); `c_t = f ⊙ c_{{t-1}} + i ⊙ g`, so f ≈ 0 "
             "empties the memory cell. The untrained row is the same network with the weights training started "
             "from.", "",
             "Mean over units of f (± its spread over positions); *units that drop*: f lower at the position than "
             f"at the compared positions by more than {drop} and beyond the 5 % family-wise permutation threshold "
             f"({s['permutations']} shuffles).", "", *table(header, rows), "",
             "What else the units that reset at sentence ends react to (seed 0, trained, mean f at each kind of "
             "token):",
             "", *table(["token", "n", "f of the units that reset", "f of all units"], token_rows), "",
             "![forget gate over a passage](forget_passage.png)", "", "![per-unit drops](forget_units.png)", "",
             "## 2. The GRU's update gate across a gap", "",
             f"Both rnnkit GRUs (and the lecture) write h_t = (1 − z) ⊙ n + z ⊙ h_{{t-1}}: z is the *hold* gate. "
             f"Adding problem T = {s['adding_T']}, hidden {s['adding_hidden']}, batch {s['adding_batch']}, ≤ "
             f"{s['adding_steps']} updates, lr per cell the best of "
             f"{', '.join(f'{x:g}' for x in s['adding_lr_grid'])} by held-out MSE ("
             + ", ".join(f"{c} {v['lr']:g}" for c, v in results["update"].items()) + "); z traced on 256 held-out "
             "sequences. *Writers*: units whose z is significantly lower at the markers than between them (same "
             f"test). *Holders*: units whose state just before the second marker correlates with the first marked "
             f"number at |r| ≥ {hold_r} (over the 256 sequences). Seed 0:", "",
             *table(["model", "z at markers", "z between", "z after 2nd", "p (perm.)", "writers",
                     "writers: z marker → between", "holders", "holders: z marker → between"], _gru_rows(view)), "",
             *(f"- {cell}: test MSE {r['test_mse']:.4f} (baseline 0.167; solved below {solved:.4f}), "
               f"{r['steps']} updates, {r['seconds']:.0f} s" for cell, r in view["update"].items()), "",
             "![update gate](update_gate.png)", "", "## Reading (seed 0)", "", *(p + "\n" for p in reading(view)),
             "Permutation p-values treat positions as independent; neighbouring steps are not, so they are "
             "optimistic — the untrained network is the control that matters.", "",
             *verdict_section(results["claims"], rules)]
    return "\n".join(lines)
