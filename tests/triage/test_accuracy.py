"""Accuracy over the labelled corpus may not regress below the targets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotline.triage import triage_text

DATA = Path(__file__).resolve().parents[1] / "data"
TARGETS = {"language": 0.98, "jurisdiction": 0.95, "needs_location": 0.95}
NOW = datetime(2025, 6, 12, 18, 30, tzinfo=UTC)


def _rows(name: str) -> list[dict]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def test_corpus_is_big_and_covers_every_jurisdiction(gazetteer):
    rows = _rows("triage_corpus.jsonl")
    assert len(rows) >= 260
    counts = {slug: 0 for slug in gazetteer.jurisdictions}
    for row in rows:
        assert row["language"] in ("en", "es")
        assert row["jurisdiction"] is None or row["jurisdiction"] in counts
        if row["jurisdiction"]:
            counts[row["jurisdiction"]] += 1
    assert min(counts.values()) >= 13, counts
    assert sum(1 for r in rows if r["jurisdiction"] is None) >= 30


@pytest.mark.parametrize("corpus", ["triage_corpus.jsonl", "triage_holdout.jsonl"])
def test_accuracy_meets_targets(gazetteer, corpus):
    rows = _rows(corpus)
    right = dict.fromkeys(TARGETS, 0)
    wrong: list[str] = []
    for row in rows:
        got = triage_text(row["text"], gazetteer, row["from"], now=NOW).public()
        for field in TARGETS:
            if got[field] == row[field]:
                right[field] += 1
            else:
                wrong.append(f"{field}: {row['text']!r} expected {row[field]!r} got {got[field]!r}")
    accuracy = {field: right[field] / len(rows) for field in TARGETS}
    for field, target in TARGETS.items():
        assert accuracy[field] >= target, (field, accuracy[field], wrong)
