"""The lecture's "GRU is a little faster than LSTM", timed where both cells run the same code.

    python benchmarks/gru_lstm_speed.py [--threads 1] [--repeats 7]

Times the LSTM and the reset-after GRU at equal hidden size on rnnkit's reference loop (forward+backward; equal
and varied lengths: the same code for both cells) and with the defaults a user gets (``Recurrent(cell)`` as
built, forward+backward, and streaming ``step()`` at batch 1, each on the backend rnnkit picks), all interleaved
in one process (the lstm-vs-gru experiment's own function). Writes benchmarks/results/gru-lstm-speed-<machine>.json.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from rnnkit.bench.timing import machine_tag, write_results
from rnnkit.experiments.lstm_vs_gru import FULL
from rnnkit.experiments.lstm_vs_gru_speed import DEFAULTS, SHARED, implementation_timing

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per candidate (default 7)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    E, H = FULL["embed_dim"], FULL["hidden_size"]
    times = implementation_timing([H], E, repeats=args.repeats)
    lstm, gru = f"lstm@{H}", f"gru@{H}"
    records = []
    for name, what in {**SHARED, **DEFAULTS}.items():
        ratio = times[name][lstm] / times[name][gru]
        record = {"implementation": name, "what": what, "ms": times[name], "lstm_over_gru": ratio}
        records.append(record)
        print(f"{name:18s} LSTM {times[name][lstm]:8.3f} ms  GRU {times[name][gru]:8.3f} ms  "
              f"GRU is ×{record['lstm_over_gru']:.2f} as fast  ({what})")
    path = ROOT / "benchmarks" / "results" / f"gru-lstm-speed-{machine_tag()}.json"
    print("wrote", write_results(path, records, command="python benchmarks/gru_lstm_speed.py", embed_dim=E,
                                 hidden_size=H, backends=times["ran"],
                                 threads=args.threads))


if __name__ == "__main__":
    main()
