"""Per-language accuracy of triage over the labelled corpora: the English/Spanish corpus and its
holdout, and the multilingual one (`tests/data/triage_multilingual.jsonl`).

    .venv/bin/python benchmarks/language_accuracy.py [--verbose] [--detectors]

One row per language: messages, language detected right, jurisdiction right, needs_location
right, and the mean confidence. Targets (the languages issue): language >= 0.95 for every
language, jurisdiction >= 0.93 over the multilingual corpus; the multilingual holdout (written
apart from the code and the corpus) is reported without a target. With `--detectors`, also the
language accuracy of each candidate detector installed in this Python (fastText's lid.176 alone,
py3langid, pycld2, lingua), restricted to the configured languages where the library allows,
with its cost per message and its load time: the measurement behind the README's choice.
Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.triage_accuracy import NOW, expected, load_corpus, observed  # noqa: E402
from hotline.core.languages import load_languages  # noqa: E402
from hotline.triage import gazetteer_from_config, triage_text  # noqa: E402

DATA = ROOT / "tests" / "data"
CORPORA = ("triage_corpus.jsonl", "triage_holdout.jsonl", "triage_multilingual.jsonl",
           "triage_multilingual_holdout.jsonl")
MULTILINGUAL = ("triage_multilingual.jsonl", "triage_multilingual_holdout.jsonl")
LANGUAGE_TARGET = 0.95
JURISDICTION_TARGET = 0.93


def rows_of(names: tuple[str, ...] = CORPORA) -> list[dict[str, Any]]:
    """Every labelled row of the corpora that exist, with the corpus it came from."""
    rows = []
    for name in names:
        path = DATA / name
        if path.exists():
            rows.extend({**row, "corpus": name} for row in load_corpus(path))
    return rows


def evaluate(rows: list[dict[str, Any]]) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Per language: n, language, jurisdiction, needs_location (shares right), confidence."""
    gazetteer = gazetteer_from_config(ROOT / "config")
    languages = load_languages(ROOT / "config")
    table: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    failures = []
    for row in rows:
        result = triage_text(row["text"], gazetteer, row.get("from"), now=NOW,
                             languages=languages).public()
        got, want = observed(result), expected(row)
        line = table[row["language"]]
        line["n"] += 1
        line["confidence"] += result["language_confidence"]
        for field in ("language", "jurisdiction", "needs_location"):
            if got[field] == want[field]:
                line[field] += 1
            else:
                failures.append(f"  [{field}] {row['text']!r} from={row.get('from')}: "
                                f"expected {want[field]!r}, got {got[field]!r}")
    for line in table.values():
        for field in ("language", "jurisdiction", "needs_location", "confidence"):
            line[field] /= line["n"]
    return table, failures


def _detectors(codes: list[str]) -> dict[str, tuple[Callable[[str], str], float]]:
    """The candidate detectors importable here: name -> (detect, load seconds)."""
    found: dict[str, tuple[Callable[[str], str], float]] = {}
    allowed = frozenset(codes)
    import fasttext

    from hotline.triage.language import detect, model_path, model_scores, warm

    warm()
    start = time.perf_counter()
    fasttext.load_model(str(model_path()))  # what loading costs a fresh process
    load = time.perf_counter() - start
    found["hotline (script + lid.176 + word lists)"] = (lambda t: detect(t).code, load)

    def fasttext_alone(text: str) -> str:
        scores = model_scores(text, allowed)
        return max(scores, key=scores.__getitem__) if scores else "en"

    found["fastText lid.176 alone"] = (fasttext_alone, load)
    try:
        from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

        start = time.perf_counter()
        identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
        identifier.set_languages([c for c in codes if c in identifier.nb_classes])
        found["py3langid"] = (lambda t: identifier.classify(t)[0],
                              time.perf_counter() - start)
    except ImportError:
        pass
    try:
        import pycld2

        def cld2(text: str) -> str:
            _, _, details = pycld2.detect(text, bestEffort=True)
            for _, code, _, _ in details:
                base = code.partition("-")[0]
                if base in allowed:
                    return base
            return "en"

        found["pycld2"] = (cld2, 0.0)
    except ImportError:
        pass
    try:
        from lingua import Language, LanguageDetectorBuilder

        supported = [lang for lang in Language.all()
                     if lang.iso_code_639_1.name.lower() in allowed]
        start = time.perf_counter()
        lingua = LanguageDetectorBuilder.from_languages(*supported).build()
        lingua.detect_language_of("warm up")

        def lingua_detect(text: str) -> str:
            found_language = lingua.detect_language_of(text)
            return found_language.iso_code_639_1.name.lower() if found_language else "en"

        found["lingua"] = (lingua_detect, time.perf_counter() - start)
    except ImportError:
        pass
    return found


def compare(rows: list[dict[str, Any]], codes: list[str]) -> None:
    print("\nlanguage detectors over the same messages\n")
    print(f"{'detector':<42}{'accuracy':>9}{'worst language':>22}{'us/msg':>9}{'load s':>8}")
    print("-" * 90)
    for name, (function, load) in _detectors(codes).items():
        per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        start = time.perf_counter()
        for row in rows:
            per[row["language"]][1] += 1
            per[row["language"]][0] += function(row["text"]) == row["language"]
        cost = (time.perf_counter() - start) / len(rows) * 1e6
        right = sum(r for r, _ in per.values())
        worst = min(per.items(), key=lambda kv: kv[1][0] / kv[1][1])
        print(f"{name:<42}{right / len(rows):>9.3f}"
              f"{f'{worst[0]} {worst[1][0] / worst[1][1]:.2f}':>22}{cost:>9.0f}{load:>8.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", "-v", action="store_true", help="list every failure")
    parser.add_argument("--detectors", action="store_true",
                        help="compare the candidate detectors installed here")
    args = parser.parse_args(argv)
    rows = rows_of()
    table, failures = evaluate(rows)
    languages = load_languages(ROOT / "config")
    print(f"per-language triage accuracy over {len(rows)} messages "
          f"({', '.join(n for n in CORPORA if (DATA / n).exists())})\n")
    print(f"{'language':<24}{'n':>5}{'language':>10}{'jurisdiction':>14}{'needs_loc':>11}"
          f"{'confidence':>12}  status")
    print("-" * 84)
    ok = True
    for code in sorted(table, key=lambda c: (c not in ("en", "es"), c)):
        line = table[code]
        passed = line["language"] >= LANGUAGE_TARGET
        ok &= passed
        print(f"{languages.english_name(code) + ' (' + code + ')':<24}{int(line['n']):>5}"
              f"{line['language']:>10.3f}{line['jurisdiction']:>14.3f}"
              f"{line['needs_location']:>11.3f}{line['confidence']:>12.2f}  "
              f"{'ok' if passed else 'FAIL'}")
    results = {}
    for name in MULTILINGUAL:
        multilingual = [r for r in rows if r["corpus"] == name]
        if not multilingual:
            continue
        sub, _ = evaluate(multilingual)
        n = sum(line["n"] for line in sub.values())
        jurisdiction = sum(line["jurisdiction"] * line["n"] for line in sub.values()) / n
        language = sum(line["language"] * line["n"] for line in sub.values()) / n
        worst_here = min(sub.items(), key=lambda kv: kv[1]["language"])
        key = "holdout" if "holdout" in name else "multilingual"
        # the target is the corpus' (the languages issue's); the holdout, written apart from
        # the code and the corpus, is reported as measured
        passed = jurisdiction >= JURISDICTION_TARGET or key == "holdout"
        ok &= passed
        print(f"\n{name}: {int(n)} messages, language {language:.3f} (worst "
              f"{worst_here[0]} {worst_here[1]['language']:.2f}), jurisdiction "
              f"{jurisdiction:.3f}"
              + (f" (target {JURISDICTION_TARGET}) {'ok' if passed else 'FAIL'}"
                 if key != "holdout" else " (no target: measured)"))
        results.update({f"{key}_language": f"{language:.3f}",
                        f"{key}_jurisdiction": f"{jurisdiction:.3f}"})
    worst = min(table.items(), key=lambda kv: kv[1]["language"])
    if args.verbose:
        print(f"\n{len(failures)} failures")
        print("\n".join(failures))
    if args.detectors:
        compare(rows, list(languages.codes))
    english = table.get("en", {}).get("language", 0.0)
    spanish = table.get("es", {}).get("language", 0.0)
    print("\nRESULT " + " ".join([
        f"languages={len(table)}", f"messages={len(rows)}",
        f"worst_language={worst[0]}:{worst[1]['language']:.3f}",
        f"en={english:.3f}", f"es={spanish:.3f}",
        *(f"{k}={v}" for k, v in results.items()), f"targets={'met' if ok else 'missed'}"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
