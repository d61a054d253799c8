"""What a customer contact is about: one of the case reasons a customer can raise.

A small supervised text classifier (scikit-learn), trained on the project's own labelled
corpus (``desk/corpus/contacts.csv``, French and English). Word n-grams catch the phrases
("marqué livré", "cancel my order"); character n-grams inside word boundaries survive the
typos, missing accents and shorthand of chats and phone transcripts.

Confidence is a calibrated probability. Below ``min_confidence`` the model does not guess:
the reason becomes ``other`` and ``needs_review`` is set, so a human reads the contact rather
than a playbook acting on a coin toss.

The default model is trained from the shipped corpus on first use and kept in-process
(``load_default_model``). Training takes 1-2 s, so a persisted pickle would buy little and
would cost a cache directory, a corpus-hash key, and unpickling files from disk — which a
scikit-learn upgrade can silently break, and which is code execution if the file is not ours.
"""

from __future__ import annotations

import csv
import io
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
DEFAULT_MIN_CONFIDENCE = 0.4

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
#: Why: some 170 examples per reason cannot teach every synonym; a cue feature lets one
#: "fissure" stand for "cracked", "fele", "brise" the model never saw together.
#: Each entry is a regular expression; one ending in ``\w*`` is a stem, others match whole.
CUES: dict[str, tuple[str, ...]] = {
    "where": (
        "where", "wheres", "ou (est|en est|se trouve)", "est ou", "status", "statut", "etat de",
        r"track\w*", "suivre", "eta", "when will", r"quand (est|vais|sera|arrive|je)\w*",
        "has it (shipped|been sent)", "dispatched", "(been|was) (sent|shipped)", "expediee?s?",
        "est partie?", "progress", "avancement", "nouvelles", "any news", "any update",
        "out for delivery", "en cours de livraison", "en route", "on (its|the) way", "follow",
        "suivi", "trace", "whereabouts", r"locali[sz]\w*", "posted", "poste", "en chemin",
        "sent out", "left the (warehouse|depot)", "quitte", "how far", "encore loin",
        "tracking number", "numero de suivi", "lien de suivi", "infos?", "informations?",
        "pending", "en attente", "en preparation", "preparing", "processing",
    ),
    "delivered": (
        "delivered", "livree?s?", "handed", "remise?", "signed( for)?", "signee?", "left (it )?at",
        "deposee?", "letterbox", "mailbox", "boite aux lettres", "proof of delivery",
        "preuve de livraison", "locker", "consigne", "casier",
    ),
    "not_got": (
        "never (got|received|had|reached|came)", "not received", "didn'?t (get|receive)",
        "no (package|parcel|box)", "nothing", "rien", "pas recu", "jamais (eu|recu|parvenu)",
        "n'est pas la", "not here", "isn'?t here", "wasn'?t there", "empty porch", "n'ont jamais",
        "ne l'ai (pas|toujours pas|jamais)", "don'?t have it", "not with me", "disappeared",
        "disparu",
    ),
    "late": (
        "late", r"delay\w*", "overdue", r"retard\w*", "should have (arrived|been|come)",
        "supposed to", "was due", "due (on|before)", "promised", "promise", "promis", "prevue?",
        "expected", "estimated", "estimee?", "aurait du", "devait", "censee?", "past the",
        "passed", "depassee?", "missed", "rate la", "a temps", "on time", "still waiting",
        "j'attends toujours", "ages ago", "repoussee?", "deadline", "behind schedule",
        "running late", "respectee?", "not kept", "pas tenue?", "since (the|last)",
        "depuis (le|la)", "il y a (plusieurs|trois|deux|0) jours", "days late", "de retard",
    ),
    "missing": (
        "missing", r"manqu\w*", "absent", "not inside", "wasn'?t (in|there|included)",
        "n'etait pas", "n'y (est|etait) pas", "only (got|received|had|one|half)",
        "que (deux|trois|la moitie)", "sans (son|sa|ses|le|la|les)", "without (the|its|a)",
        "incomplete?", "empty", "vide", "forgot to (send|pack|put|include)", "oublie (de|d')",
        "the rest", "le reste", "half", "moitie", "short (one|of)", "n'etaient pas",
        "n'y (sont|etaient) pas", "n'etait plus", "n'y est plus", "wasn'?t in it",
        "should (have been|be) in( it)?", "left out", "not included", "pas inclus", r"partial\w*",
        r"incomplet\w*", "only part", "une partie", "none in it", "aucune?", "came on its own",
        "venue? seule?", "no (screws|cable|charger|manual|instructions|batteries)",
        "pas de (vis|cable|chargeur|notice|piles)",
    ),
    "broken": (
        "broken?", r"cass\w*", r"crack\w*", r"fissur\w*", r"fele\w*", "fendu", r"shatter\w*",
        r"brise\w*", "damaged?", r"abime\w*", "dent(ed)?", r"cabosse\w*", "torn", "tear",
        r"ripp\w*", r"dechir\w*", r"defect\w*", "faulty", "stopped working",
        "(fonctionne|marche) (plus|pas)", "doesn'?t work",
        "won'?t (work|switch|turn|charge|connect)", "ne s'allume", "turn on", "error", "erreur",
        r"leak\w*", "coule", "chipped", r"ebrech\w*", r"scratch\w*", "rayee?s?", "bent", "tordue?",
        r"snapp?\w*", "lache", "pages?", "blank", "blanches?", "in pieces", "en (mille )?morceaux",
        "noise", "bruit", r"overheat\w*", "chauffe", "dead", "morts?", "unusable", "inutilisable",
        "peeling", r"ecaill\w*", "unglued", r"decoll\w*", "pieces", "morceaux", "split", "fente",
        "swollen", "gonflee?", "wrong with", "souci avec", "probleme (de|avec)", "faults?",
        "panne", "grille", "burnt", r"brule\w*", "smashed", "explosee?", "crackles?",
        r"gresill\w*", "streaks?", "trainees?", "died", "rendu l'ame", "sparks?", "etincelles?",
        "defaillante?", "endommagee?", "ecrasee?", "crushed", "arrachees?", "torn out",
        "illisibles?", "unreadable", "stuck together", "collees?", "fuite?", "fuit", "leaks?",
    ),
    "different": (
        "wrong", "mauvaise?", "trompee?s?", "different", "autre (modele|marque|livre|couleur)",
        "not what", "pas ce que", "instead of", "au lieu du?", "listing", "annonce", "description",
        "described", "decrite?", "advertised", "annoncee?", "photos?", "pictures?", "fake",
        "contrefacon", "imitation", "knock-off", "genuine", "conforme", "fiche", "edition",
        "version", "size", "taille", "pointure", "colou?r", "couleur", "teinte", "shade", "brand",
        "marque", "model", "modele", "caracteristiques", "specifications?", "specs", "faux",
        "fausse", "lied", "mentait", "ressemble", "look like", "smaller", "bigger", "plus petite?",
        "plus grande?", "not (genuine|original)", "pas (un )?vrai", "paperback", "hardback",
        "broche", "relie", "never ordered", r"jamais command\w*", "not mine", "pas (a )?moi",
        "someone else'?s", "quelqu'un d'autre", "not my (order|item|parcel)",
    ),
    "address": (
        "address", "adresse", "adress", "postcode", "code postal", "zip( code)?", "street", "rue",
        "flat", "appart", "appartement", "apartment", "moved", r"demenage\w*", r"redirect\w*",
        r"reroute\w*", "deliver(ed)? to", "send it to", "livrer? (a|au|chez)", "point relais",
        "pickup point", "digicode", "building code", "ship it to", "envoyez-le (chez|au|a)",
        "town", "ville", "city", "house number", "numero de (rue|batiment)", "shipping details",
        "informations de livraison", "amend", "rectifier", "corriger", "correct",
    ),
    "refund": (
        r"refund\w*", r"rembours\w*", "money back", "argent", r"reimburs\w*", "charged",
        "debitee?", r"prelev\w*", r"recredit\w*", "store credit", "un avoir", "voucher",
        "bon d'achat", "compensation", "my money", "mon argent", "owe me", "me devez",
        "overcharged", "trop percu", "paid twice", "payee? deux fois",
    ),
    "cancel": (
        r"cancel\w*", r"annul\w*", "stop (my|the) order", "arretez", "arreter la", "stoppez",
        r"retract\w*", "withdraw", "don'?t (send|ship)", "ne l'(envoyez|expediez) pas",
        "by mistake", "par erreur", "by accident", "sans faire expres", "twice", "deux fois",
        "call off", "renoncer", "void", "supprimer la commande", "laissez tomber", "scrap",
        "don'?t want (it|this)", "n'en veux plus", "changed my mind", "change d'avis",
    ),
    "account": (
        "account", "compte", "password", "mot de passe", "log ?in", "connecter", "invoice",
        "facture", "newsletter", "payment methods?", "moyens? de paiement", "gift card",
        "carte cadeau", "promo", "review", "avis", "in stock", "en stock", "warranty", "garantie",
        "data", "donnees", "app", "appli", "website", "seller on", "vendeur sur", "discount",
        "reduction", "hours", "horaires", "thanks?", "merci", "card (was )?declined",
        "carte (a ete )?refusee", "shop", "boutique", "magasin", "history", "historique",
        "e?mails?", "sms", "texts", "profil", "profile", "membership", "abonnement",
        "subscription", "prime",
    ),
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
_CUES = {
    name: re.compile(r"\b(?:" + "|".join(words) + r")\b") for name, words in CUES.items()
}


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
        lowercase=False, analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2,
    )
    return Pipeline([
        ("normalise", FunctionTransformer(_normalise_all)),
        ("ngrams", FeatureUnion([("words", words), ("chars", chars)])),
    ])


class IntentModel:
    """TF-IDF (word 1-2 grams + char_wb 3-5 grams) into a calibrated linear SVM.

    Calibration is temperature scaling: one parameter for all ten reasons, so it needs
    little data and keeps the SVM's ranking. ``ensemble=False`` keeps the SVM fitted on all
    the training data (the folds only fit the temperature), which reads unseen phrasings
    better than an average of SVMs that each saw two thirds of it.
    """

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
        svm = LinearSVC(C=1.0, class_weight="balanced", tol=1e-3, random_state=0)
        classifier = CalibratedClassifierCV(svm, method="temperature", cv=3, ensemble=False)
        self._pipeline = Pipeline([("features", _features()), ("classifier", classifier)])
        self._pipeline.fit(list(texts), list(labels))
        return self

    def with_min_confidence(self, min_confidence: float) -> IntentModel:
        """The same trained model with another review threshold (no retraining)."""
        other = IntentModel(min_confidence)
        other._pipeline = self._pipeline
        return other

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
    rows = csv.DictReader(io.StringIO(text, newline=""))
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
