"""Accuracy of `triage_text` over the labelled corpus `tests/data/triage_corpus.jsonl`.

    .venv/bin/python benchmarks/triage_accuracy.py [--verbose] [--corpus PATH]

Prints one row per field (language, jurisdiction, needs_location and each SALUTE field) and, with
`--verbose`, every failure. Exits 1 when language < 0.98, jurisdiction < 0.95 or
needs_location < 0.95.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hotline.triage import Gazetteer, gazetteer_from_config, triage_text  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "triage_corpus.jsonl"
TARGETS = {"language": 0.98, "jurisdiction": 0.95, "needs_location": 0.95}
FIELDS = ("language", "jurisdiction", "needs_location", "activity", "uniform", "equipment",
          "size", "time")
NOW = datetime(2025, 6, 12, 18, 30, tzinfo=UTC)


def load_corpus(path: Path = CORPUS) -> list[dict[str, Any]]:
    """The labelled messages, one JSON object a line."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _size(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if not value:
        return None
    size = {"agents": value.get("agents"), "vehicles": value.get("vehicles")}
    return size if any(v is not None for v in size.values()) else None


def _comparable(labels: dict[str, Any], has_time: bool) -> dict[str, Any]:
    """The fields compared, from a `Triage.public()` or a corpus row (the same keys)."""
    salute = labels["salute"]
    return {
        "language": labels["language"],
        "jurisdiction": labels["jurisdiction"],
        "needs_location": labels["needs_location"],
        "activity": set(salute["activity"]),
        "uniform": set(salute["uniform"]),
        "equipment": set(salute["equipment"]),
        "size": _size(salute["size"]),
        "time": has_time,
    }


def observed(result: dict[str, Any]) -> dict[str, Any]:
    """The comparable fields of a `Triage.public()`."""
    return _comparable(result, result["salute"]["time"] is not None)


def expected(row: dict[str, Any]) -> dict[str, Any]:
    """The comparable fields of a corpus row."""
    return _comparable(row, bool(row["salute"]["time"]))


def evaluate(rows: list[dict[str, Any]], gazetteer: Gazetteer
             ) -> tuple[dict[str, float], list[tuple[dict[str, Any], str, Any, Any]]]:
    """(accuracy per field, failures as (row, field, expected, got))."""
    right = dict.fromkeys(FIELDS, 0)
    failures = []
    for row in rows:
        got = observed(triage_text(row["text"], gazetteer, row.get("from"), now=NOW).public())
        want = expected(row)
        for field in FIELDS:
            if got[field] == want[field]:
                right[field] += 1
            else:
                failures.append((row, field, want[field], got[field]))
    return {f: right[f] / len(rows) for f in FIELDS}, failures


def _show(value: Any) -> str:
    if isinstance(value, set):
        return "{" + ", ".join(sorted(value)) + "}"
    return json.dumps(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", "-v", action="store_true", help="list every failure")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--messages", type=int, help="only the first N messages of the corpus")
    parser.add_argument("--field", action="append", help="only list failures of this field")
    args = parser.parse_args(argv)

    rows = load_corpus(args.corpus)[:args.messages]
    gazetteer = gazetteer_from_config(ROOT / "config")
    accuracy, failures = evaluate(rows, gazetteer)

    print(f"triage accuracy over {len(rows)} messages ({args.corpus.name})\n")
    print(f"{'field':<16}{'accuracy':>10}{'correct':>10}{'target':>9}  status")
    print("-" * 52)
    ok = True
    for field in FIELDS:
        target = TARGETS.get(field)
        passed = target is None or accuracy[field] >= target
        ok &= passed
        correct = round(accuracy[field] * len(rows))
        status = "" if target is None else ("ok" if passed else "FAIL")
        print(f"{field:<16}{accuracy[field]:>10.3f}{correct:>6}/{len(rows):<3}"
              f"{'' if target is None else f'{target:.2f}':>9}  {status}")
    print("\nRESULT messages=" + str(len(rows)) + " " + " ".join(
        f"{field}={accuracy[field]:.3f}" for field in FIELDS))
    if args.verbose:
        shown = [f for f in failures if not args.field or f[1] in args.field]
        print(f"\n{len(shown)} failures")
        for row, field, want, got in shown:
            print(f"  [{field}] {row['text']!r} from={row.get('from')}\n"
                  f"      expected {_show(want)}  got {_show(got)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
