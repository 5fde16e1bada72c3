"""Small shared pieces for the benchmarks: percentiles and a table printer."""
from __future__ import annotations

import numpy as np


def pct(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def table(rows: list[list], headers: list[str]) -> str:
    cells = [headers] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in cells[1:]])


def timed(fn, runs: int) -> tuple[float, float, float]:
    """(median wall s, best wall s, median CPU s of this process) over `runs` calls. On a shared,
    busy machine the CPU seconds divided by the threads used estimate the wall time on idle cores."""
    import statistics
    import time

    times, cpu = [], []
    for _ in range(runs):
        start, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - c0)
    return statistics.median(times), min(times), statistics.median(cpu)
