"""Speed of triage: per-message time in-process (warm) and one cold `python -c` run.

    .venv/bin/python benchmarks/triage_speed.py [--rounds 5]

Targets: median triage under 2 ms per message, a cold start (import, gazetteer, one message)
under 1.5 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.triage_accuracy import CORPUS, load_corpus  # noqa: E402
from hotline.triage import gazetteer_from_config, triage_text  # noqa: E402

COLD = ("from pathlib import Path; from hotline.triage import gazetteer_from_config, triage_text; "
        "g = gazetteer_from_config(Path('config')); "
        "triage_text('la migra en la 24 y mission sf', g, '+14155550123')")
NOW = datetime(2025, 6, 12, 18, 30, tzinfo=UTC)


def warm_timings(rounds: int, messages: int | None = None) -> list[float]:
    """Seconds per message, every message of the corpus (or its first `messages`) `rounds`
    times (after one warm-up)."""
    gazetteer = gazetteer_from_config(ROOT / "config")
    rows = load_corpus(CORPUS)[:messages]
    for row in rows:
        triage_text(row["text"], gazetteer, row.get("from"), now=NOW)
    timings = []
    for _ in range(rounds):
        for row in rows:
            start = time.perf_counter()
            triage_text(row["text"], gazetteer, row.get("from"), now=NOW)
            timings.append(time.perf_counter() - start)
    return timings


def cold_run(repeat: int) -> list[float]:
    """Wall seconds of a fresh interpreter that imports, builds the gazetteer, triages one."""
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", COLD], cwd=ROOT, check=True)
        walls.append(time.perf_counter() - start)
    return walls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the corpus")
    parser.add_argument("--cold", type=int, default=3, help="cold runs (the median is shown)")
    parser.add_argument("--messages", type=int, help="only the first N messages of the corpus")
    args = parser.parse_args(argv)

    timings = sorted(warm_timings(args.rounds, args.messages))
    median = statistics.median(timings) * 1000
    p99 = timings[min(len(timings) - 1, int(0.99 * len(timings)))] * 1000
    cold = statistics.median(cold_run(args.cold))

    print(f"triage speed ({len(timings)} warm triages, {args.cold} cold runs, "
          f"python {sys.version.split()[0]})\n")
    print(f"{'measure':<34}{'value':>10}{'target':>10}  status")
    print("-" * 62)
    rows = [("warm median per message (ms)", median, 2.0),
            ("warm p99 per message (ms)", p99, None),
            ("warm max per message (ms)", timings[-1] * 1000, None),
            ("cold python -c, median (s)", cold, 1.5)]
    ok = True
    for name, value, target in rows:
        passed = target is None or value < target
        ok &= passed
        status = "" if target is None else ("ok" if passed else "FAIL")
        print(f"{name:<34}{value:>10.3f}{'' if target is None else f'{target:.1f}':>10}  {status}")
    print(f"\nRESULT messages={len(timings)} warm_median_ms={median:.3f} warm_p99_ms={p99:.3f} "
          f"cold_s={cold:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
