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


LANGUAGES = ("zh", "ht", "vi", "ko", "tl", "ar", "fr", "ru", "pt", "bn", "pl", "so", "am", "ur")


def test_the_multilingual_corpus_has_ten_messages_a_language_or_more():
    rows = _rows("triage_multilingual.jsonl")
    for code in LANGUAGES:
        assert sum(1 for r in rows if r["language"] == code) >= 10, code


@pytest.mark.parametrize("code", LANGUAGES)
def test_each_language_is_detected(gazetteer, code):
    """Language >= 0.95 for every configured language (the languages issue's target)."""
    rows = [r for r in _rows("triage_multilingual.jsonl") if r["language"] == code]
    wrong = [(r["text"], got) for r in rows
             if (got := triage_text(r["text"], gazetteer, r["from"], now=NOW).language) != code]
    assert 1 - len(wrong) / len(rows) >= 0.95, wrong


def test_multilingual_messages_find_their_jurisdiction(gazetteer):
    rows = _rows("triage_multilingual.jsonl")
    wrong = [(r["text"], r["jurisdiction"], got) for r in rows
             if (got := triage_text(r["text"], gazetteer, r["from"], now=NOW).jurisdiction)
             != r["jurisdiction"]]
    assert 1 - len(wrong) / len(rows) >= 0.93, wrong
