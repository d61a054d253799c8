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
from sklearn.preprocessing import FunctionTransformer
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
_PHONE = re.compile(r"(?:\+|\b00)?\d[\d .()-]{7,}\d")
_DIGITS = re.compile(r"\d+")
_GREETING = re.compile(
    r"^(hello|hi|hey|dear|good (morning|afternoon|evening)|to whom|bonjour|bonsoir|salut|"
    r"madame|monsieur|cher|chere|bjr)\b"
)
_CLOSING = re.compile(
    r"^(thanks|thank you|kind regards|regards|best|cheers|many thanks|looking forward|"
    r"awaiting|sincerely|yours|merci|cordialement|bien (a vous|cordialement)|bonne (journee|"
    r"soiree)|salutations|dans l'attente|j'attends votre|a bientot)\b"
)

#: Concepts a reason is usually said with, in both languages, on folded lowercase text.
#: Why: ~90 examples per reason cannot teach every synonym; a cue feature lets one
#: "fissure" stand for "cracked", "fele", "brise" the model never saw together.
#: A word ending in ``\w*`` is a stem; every other word must match whole.
CUES: dict[str, str] = {
    "where": r"\b(where|wheres|ou (est|en est|se trouve)|est ou|status|statut|etat de|track\w*|"
             r"suivre|eta|when will|quand (est|vais|sera|arrive|je)\w*|has it (shipped|been sent)|"
             r"dispatched|(been|was) (sent|shipped)|expediee?s?|est partie?|progress|avancement|"
             r"nouvelles|any news|any update|out for delivery|en cours de livraison|en route|"
             r"on (its|the) way)\b",
    "delivered": r"\b(delivered|livree?s?|handed|remise?|signed( for)?|signee?|left (it )?at|"
                 r"deposee?|letterbox|mailbox|boite aux lettres|proof of delivery|preuve de "
                 r"livraison|locker|consigne|casier)\b",
    "not_got": r"(never (got|received|had|reached|came)|not received|didn'?t (get|receive)|"
               r"no (package|parcel|box)|\bnothing\b|\brien\b|pas recu|jamais (eu|recu|parvenu)|"
               r"n'est pas la|not here|isn'?t here|wasn'?t there|empty porch|n'ont jamais|"
               r"ne l'ai (pas|toujours pas|jamais)|don'?t have it|not with me|disappeared|disparu)",
    "late": r"\b(late|delay\w*|overdue|retard\w*|should have (arrived|been|come)|supposed to|"
            r"was due|due (on|before)|promised|promise|promis|prevue?|expected|estimated|"
            r"estimee?|aurait du|devait|censee?|past the|passed|depassee?|missed|rate la|a temps|"
            r"on time|still waiting|j'attends toujours|ages ago|repoussee?|deadline)\b",
    "missing": r"\b(missing|manqu\w*|absent|not inside|wasn'?t (in|there|included)|n'etait pas|"
               r"n'y (est|etait) pas|only (got|received|had|one|half)|que (deux|trois|la moitie)|"
               r"sans (son|sa|ses|le|la|les)|without (the|its|a)|incomplete?|empty|vide|forgot|"
               r"oublie|the rest|le reste|half|moitie|short (one|of))\b",
    "broken": r"\b(broken?|cass\w*|crack\w*|fissur\w*|fele\w*|fendu|shatter\w*|brise\w*|"
              r"damaged?|abime\w*|dent(ed)?|cabosse\w*|torn|tear|ripp\w*|dechir\w*|"
              r"defect\w*|faulty|stopped working|(fonctionne|marche) (plus|pas)|doesn'?t work|"
              r"won'?t (work|switch|turn|charge|connect)|ne s'allume|turn on|error|erreur|leak\w*|"
              r"coule|chipped|ebrech\w*|scratch\w*|rayee?s?|bent|tordue?|snapp?\w*|lache|"
              r"pages?|blank|blanches?|in pieces|en (mille )?morceaux|noise|bruit|overheat\w*|"
              r"chauffe|dead|morts?|unusable|inutilisable|peeling|ecaill\w*|unglued|decoll\w*)\b",
    "different": r"\b(wrong|mauvaise?|trompee?s?|different|autre (modele|marque|livre|couleur)|"
                 r"not what|pas ce que|instead of|au lieu du?|listing|annonce|description|"
                 r"described|decrite?|advertised|annoncee?|photos?|pictures?|fake|contrefacon|"
                 r"imitation|copie|copy|knock-off|genuine|conforme|fiche|edition|version|size|"
                 r"taille|pointure|colou?r|couleur)\b",
    "address": r"\b(address|adresse|adress|postcode|code postal|zip( code)?|street|rue|flat|"
               r"appart|appartement|apartment|moved|demenage\w*|redirect\w*|reroute\w*|"
               r"deliver(ed)? to|send it to|livrer? (a|au|chez)|point relais|pickup point|"
               r"digicode|building code)\b",
    "refund": r"\b(refund\w*|rembours\w*|money back|argent|reimburs\w*|charged|debitee?|"
              r"prelev\w*|recredit\w*|store credit|avoir|voucher|bon d'achat|compensation)\b",
    "cancel": r"\b(cancel\w*|annul\w*|stop (my|the) order|arretez|arreter la|stoppez|retract\w*|"
              r"withdraw|don'?t (send|ship)|ne l'(envoyez|expediez) pas|by mistake|par erreur|"
              r"by accident|sans faire expres|duplicate|doublon|call off|renoncer)\b",
    "account": r"\b(account|compte|password|mot de passe|log ?in|connecter|invoice|facture|"
               r"newsletter|payment methods?|moyens? de paiement|gift card|carte cadeau|promo|"
               r"review|avis|in stock|en stock|warranty|garantie|data|donnees|app|appli|"
               r"website|seller on|vendeur sur|discount|reduction|hours|horaires|thanks?|merci|"
               r"card (was )?declined|carte (a ete )?refusee)\b",
}
#: Asking for a call back: a fact for the dossier (see ``facts.py``), noise for the reason.
_CALLBACK = re.compile(
    r"\b(could someone |can someone |can an agent |i'd like a |please |merci de |"
    r"quelqu'un peut |un conseiller peut |je souhaite )?(call me( back)?|callback|call back|"
    r"phone me|ring me( back)?|rappele[rz][- ]moi|me rappeler|m'appeler|me telephoner|"
    r"etre rappelee?)\b"
)
#: Words a phone transcript is full of and that carry no meaning.
_FILLERS = re.compile(
    r"\b(uh|um|erm|euh|bah|hein|voila|you know|en fait|so basically|allo)\b"
)
_CUES = {name: re.compile(pattern) for name, pattern in CUES.items()}


def fold(text: str) -> str:
    """Lowercase without accents: customers type "reçu" and "recu" for the same word."""
    folded = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(c for c in folded if not unicodedata.combining(c))


def strip_boilerplate(text: str) -> str:
    """Drop an email's greeting line and everything from its sign-off on.

    Why: "Dear Sir or Madam" and a signature say nothing about the reason, and with a few
    hundred examples the model would otherwise learn who signs which complaint.
    """
    lines = [line.strip() for line in fold(text).splitlines()]
    lines = [line for line in lines if line]
    if len(lines) < 2:
        return lines[0] if lines else ""
    if len(lines[0].split()) <= 6 and _GREETING.match(lines[0]):
        lines = lines[1:]
    for i, line in enumerate(lines[1:], start=1):
        if len(line.split()) <= 8 and _CLOSING.match(line):
            lines = lines[:i]
            break
    return " ".join(lines)


def normalise(text: str) -> str:
    """The text the model reads: folded, without boilerplate, numbers blanked, cues marked.

    Why: order numbers, phones, prices and page numbers say nothing about the reason
    (their *presence* does, hence the placeholders).
    """
    body = strip_boilerplate(text)
    body = _CALLBACK.sub(" ", body)
    body = _FILLERS.sub(" ", body)
    body = _ORDER_ID.sub(" zorderid ", body)
    body = _PHONE.sub(" zphone ", body)
    body = _DIGITS.sub("0", body)
    cues = [f"zcue{name}" for name, pattern in _CUES.items() if pattern.search(body)]
    return body + " " + " ".join(cues)


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


def _normalise_all(texts: Iterable[str]) -> list[str]:
    return [normalise(t) for t in texts]


def _features() -> Pipeline:
    """Normalise once, then word and character n-grams side by side."""
    words = TfidfVectorizer(
        lowercase=False, analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
        token_pattern=r"(?u)\b\w+\b",
    )
    chars = TfidfVectorizer(
        lowercase=False, analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
    )
    return Pipeline([
        ("normalise", FunctionTransformer(_normalise_all)),
        ("ngrams", FeatureUnion([("words", words), ("chars", chars)])),
    ])


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
        classifier = CalibratedClassifierCV(svm, method="temperature", cv=3)
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
