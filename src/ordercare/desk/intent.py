"""What a customer contact is about: one of the case reasons a customer can raise.

A small supervised text classifier (scikit-learn), trained on the project's own labelled
corpus (``desk/corpus/contacts.csv``, French and English). Word n-grams catch the phrases
("marqué livré", "cancel my order"); character n-grams inside word boundaries survive the
typos, missing accents and shorthand of chats and phone transcripts.

Confidence is a calibrated probability. Below ``min_confidence`` the model does not guess:
the reason becomes ``other`` and ``needs_review`` is set, so a human reads the contact rather
than a playbook acting on a coin toss.

The default model is trained from the shipped corpus on first use and kept in-process
(``load_default_model``). Training takes about a second, so a persisted pickle would buy
little and cost a cache directory, a corpus-hash key, and unpickling files from disk —
which a scikit-learn upgrade can silently break.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

#: The case reasons (CONTRACT §3) a customer can raise in a contact.
CUSTOMER_REASONS: tuple[str, ...] = (
    "where_is_my_order",
    "missing_item",
    "damaged_or_defective",
    "not_as_described",
    "not_received",
    "wrong_address",
    "refund_request",
    "cancel_request",
    "late_delivery",
    "other",
)

#: Below this calibrated probability the contact goes to a human as ``other``.
DEFAULT_MIN_CONFIDENCE = 0.35

_ORDER_ID = re.compile(r"\b(?:o-\d+|\d{3}-\d{7}(?:-\d{7})?)\b")
_DIGITS = re.compile(r"\d+")


def normalise(text: str) -> str:
    """Lowercase, fold accents, and blank out numbers.

    Why: French customers type with and without accents; order numbers, prices and page
    numbers say nothing about the reason (their *presence* does, hence the placeholders).
    """
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = folded.replace("’", "'")
    folded = _ORDER_ID.sub(" zorderid ", folded)
    return _DIGITS.sub("0", folded)


@dataclass(frozen=True)
class IntentGuess:
    """The model's reading of one contact.

    ``reason`` is what callers act on; ``best_guess`` is the top class even when it was too
    unsure to use, so the reviewer sees what the model thought.
    """

    reason: str
    confidence: float
    needs_review: bool
    best_guess: str


def _features() -> FeatureUnion:
    words = TfidfVectorizer(
        preprocessor=normalise, analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
        token_pattern=r"(?u)\b\w+\b", min_df=1,
    )
    chars = TfidfVectorizer(
        preprocessor=normalise, analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
        min_df=2,
    )
    return FeatureUnion([("words", words), ("chars", chars)])


class IntentModel:
    """TF-IDF (word 1-2 grams + char_wb 2-5 grams) into a calibrated linear SVM."""

    def __init__(self, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> None:
        self.min_confidence = min_confidence
        self._pipeline: Pipeline | None = None

    def train(self, texts: Sequence[str], labels: Sequence[str]) -> IntentModel:
        """Fit on labelled texts; returns ``self`` so it chains."""
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        unknown = sorted(set(labels) - set(CUSTOMER_REASONS))
        if unknown:
            raise ValueError(f"unknown reasons {unknown}; allowed: {', '.join(CUSTOMER_REASONS)}")
        svm = LinearSVC(C=0.5, class_weight="balanced")
        classifier = CalibratedClassifierCV(svm, method="sigmoid", cv=3)
        self._pipeline = Pipeline([("features", _features()), ("classifier", classifier)])
        self._pipeline.fit(list(texts), list(labels))
        return self

    def classify_many(self, texts: Iterable[str]) -> list[IntentGuess]:
        """Read many contacts at once (vectorising in a batch is much faster)."""
        if self._pipeline is None:
            raise RuntimeError("IntentModel.train() must be called before predicting")
        batch = list(texts)
        if not batch:
            return []
        probabilities = self._pipeline.predict_proba(batch)
        classes = self._pipeline.classes_
        guesses = []
        for row in probabilities:
            best = int(row.argmax())
            confidence = float(row[best])
            label = str(classes[best])
            unsure = confidence < self.min_confidence
            guesses.append(IntentGuess(
                reason="other" if unsure else label,
                confidence=confidence,
                needs_review=unsure,
                best_guess=label,
            ))
        return guesses

    def classify(self, text: str) -> IntentGuess:
        """Read one contact, with the review flag and the model's best guess."""
        return self.classify_many([text])[0]

    def predict_many(self, texts: Iterable[str]) -> list[tuple[str, float]]:
        """``(reason, confidence)`` per text; unsure texts come back as ``other``."""
        return [(g.reason, g.confidence) for g in self.classify_many(texts)]

    def predict(self, text: str) -> tuple[str, float]:
        """``(reason, confidence)``; an unsure text comes back as ``other``."""
        guess = self.classify(text)
        return guess.reason, guess.confidence


@dataclass(frozen=True)
class LabelledContact:
    text: str
    lang: str
    reason: str
    split: str


def read_corpus(text: str) -> list[LabelledContact]:
    """Parse the corpus CSV (columns ``text,lang,reason,split``)."""
    rows = csv.DictReader(text.splitlines(keepends=True))
    return [LabelledContact(r["text"], r["lang"], r["reason"], r["split"]) for r in rows]


def load_corpus() -> list[LabelledContact]:
    """The corpus shipped with the package."""
    source = resources.files("ordercare.desk") / "corpus" / "contacts.csv"
    return read_corpus(source.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def load_default_model() -> IntentModel:
    """The model trained on the shipped corpus's ``train`` split, built once per process."""
    train = [c for c in load_corpus() if c.split == "train"]
    return IntentModel().train([c.text for c in train], [c.reason for c in train])
