"""The facts a customer states in a contact: order ids, pages, phones, an address, a wish.

This is deliberately rules, not the classifier: these facts have a shape (an order id, a
page range, a postcode) and a rule that states the shape is exact, explainable and cheap to
fix when a customer writes it in a new way. Everything here is pure — text in, facts out —
so the dossier can show *why* it believes the customer wants a replacement.

Text is matched on a folded copy (lowercase, no accents; same length as the original, so a
match's span is valid in both) because customers write "à", "a" and "À" for the same word.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Literal

import msgspec

Wish = Literal["refund", "replacement"]


class Address(msgspec.Struct, frozen=True):
    """A postal address as the customer wrote it; ``country`` is guessed from the postcode."""

    line: str
    postcode: str
    city: str
    country: str


class ItemMatch(msgspec.Struct, frozen=True):
    """The order line the customer most likely means (index into the titles given)."""

    index: int
    title: str
    score: float


class ContactFacts(msgspec.Struct, frozen=True):
    """Everything a contact states that a playbook can act on without re-reading it."""

    order_ids: tuple[str, ...] = ()
    pages: tuple[int, int] | None = None
    phones: tuple[str, ...] = ()
    new_address: Address | None = None
    wants: Wish | None = None
    changed_mind: bool = False
    callback: bool = False
    item: ItemMatch | None = None


def fold(text: str) -> str:
    """Lowercase without accents, one character per character (spans stay valid)."""
    out = []
    for char in text:
        base = unicodedata.normalize("NFKD", char)
        kept = "".join(c for c in base if not unicodedata.combining(c))
        out.append(kept.lower()[:1] if len(kept) >= 1 else char.lower()[:1] or " ")
    folded = "".join(out).replace("’", "'")
    return folded if len(folded) == len(text) else text.lower()


# --- order ids -----------------------------------------------------------------------------

_ORDER_ID = re.compile(r"(?<![\w-])(?:[oO]-\d{1,12}|\d{3}-\d{7}(?:-\d{7})?)(?![\w-])")


def order_ids(text: str) -> tuple[str, ...]:
    """Our ids (``o-123``, ``O-000123``) and marketplace ids (``402-1234567[-1234567]``)."""
    return tuple(dict.fromkeys(m.group(0) for m in _ORDER_ID.finditer(text)))


# --- pages ---------------------------------------------------------------------------------

_PAGE = r"(?:pages?|pp?\.?)"
_TO = r"(?:-|–|—|a|au|to|through|thru|until|jusqu'a(?: la)?|and|et)"
_PAGE_RANGE = re.compile(
    rf"(?:\b(?:de|from|between|entre)\s+(?:la\s+|les\s+)?)?\b{_PAGE}\s*(\d{{1,4}})\s*{_TO}\s*"
    rf"(?:la\s+)?(?:{_PAGE}\s*)?(\d{{1,4}})\b"
)
_SINGLE_PAGE = re.compile(rf"\b{_PAGE}\s*(\d{{1,4}})\b")


def pages(text: str) -> tuple[int, int] | None:
    """The page range a customer names ("pages 47 à 58", "p. 47-58"); one page is (n, n)."""
    folded = fold(text)
    match = _PAGE_RANGE.search(folded)
    if match:
        first, last = int(match.group(1)), int(match.group(2))
        if first <= last:
            return first, last
    single = _SINGLE_PAGE.search(folded)
    if single:
        page = int(single.group(1))
        return page, page
    return None


# --- phones --------------------------------------------------------------------------------

_PHONE = re.compile(
    r"(?<![\w+])(?:\+|00)\d[\d \t.\-()]{6,18}\d(?!\d)"
    r"|(?<![\w+])0[1-9]([ .\-]?)\d{2}(?:\1\d{2}){3}(?!\d|[.\-]\d)"
)


def normalise_phone(raw: str) -> str:
    """E.164 when the number says its country or is French ("06 12…" → "+336 12…")."""
    compact = raw.replace("(0)", "")
    digits = re.sub(r"\D", "", compact)
    if compact.startswith("+") and 8 <= len(digits) <= 15:
        return "+" + digits
    if compact.startswith("00") and 8 <= len(digits) - 2 <= 15:
        return "+" + digits[2:]
    if len(digits) == 10 and digits.startswith("0"):
        return "+33" + digits[1:]
    return raw.strip()


def phones(text: str) -> tuple[str, ...]:
    """Phone numbers, normalised; order ids are masked first so they never read as phones."""
    masked = _ORDER_ID.sub(lambda m: "#" * len(m.group(0)), text)
    found = (normalise_phone(m.group(0)) for m in _PHONE.finditer(masked))
    return tuple(dict.fromkeys(found))


# --- addresses -----------------------------------------------------------------------------

_FR_STREET = (
    r"rue|avenue|av\.|boulevard|bd|allee|impasse|chemin|place|quai|route|cours|square|"
    r"passage|residence|lotissement|lieu-dit|faubourg|rond-point|sentier|voie"
)
_FR_ADDRESS = re.compile(
    rf"\b(\d{{1,4}}(?:\s?(?:bis|ter))?,?\s+(?:{_FR_STREET})\b[^,\n\d]{{2,60}}?)\s*,?\s*"
    rf"(\d{{5}})\s+([a-z][a-z'\- ]{{1,40}})"
)
_UK_POSTCODE = r"[a-z]{1,2}\d[a-z\d]?\s*\d[a-z]{2}"
_UK_STREET = (
    r"street|st|road|rd|avenue|ave|lane|ln|crescent|close|drive|dr|way|place|square|"
    r"gardens|terrace|court|grove|hill|park|row|mews"
)
_UK_ADDRESS = re.compile(
    rf"\b(\d{{1,4}}[a-z]?,?\s+[a-z][a-z' \-]{{1,40}}?\s(?:{_UK_STREET}))\b\.?\s*,?\s*"
    rf"(?:([a-z][a-z\- ]{{1,30}}?)\s*,?\s*({_UK_POSTCODE})|({_UK_POSTCODE})\s*,?\s*"
    rf"([a-z][a-z\-]{{1,30}}))\b"
)
#: Words that end a city name in running text ("75011 Paris please", "… Lyon à la place").
_CITY_STOP = {
    "please", "pls", "merci", "svp", "thanks", "thank", "instead", "a", "au", "la", "plutot",
    "des", "from", "for", "pour", "and", "et", "now", "maintenant", "desormais", "thx", "asap",
    "rather", "not", "pas", "with", "avec", "ok", "cordialement", "regards", "s'il",
}
_NEW_CUE = re.compile(
    r"(new|nouvelle|nouvel|instead|plutot|a la place|send (it )?to|deliver(y)? to|livre[rz]? "
    r"(a|au|chez)|envoye[rz]|correct|bonne|right one|now at|desormais|maintenant|change|"
    r"update|mettre|redirect|reroute|should (be|read)|il faut lire)\W*$"
)
_OLD_CUE = re.compile(r"(old|ancienne|previous|precedente|au lieu du?|instead of|not)\W*$")


def _city(raw: str) -> str:
    """The city at the start of ``raw``: up to three words, ending at a word of running text
    (compared folded: "Lyon à la place" is Lyon, "à" being the stop word "a")."""
    words: list[str] = []
    for word in raw.split():
        if fold(word.strip(".,;!?")) in _CITY_STOP or len(words) == 3:
            break
        words.append(word.strip(".,;!?"))
    return " ".join(words)


def _candidates(text: str, folded: str) -> list[tuple[int, Address]]:
    found: list[tuple[int, Address]] = []
    for m in _FR_ADDRESS.finditer(folded):
        city = _city(text[m.start(3):m.end(3)].lower())
        if city:
            line = text[m.start(1):m.end(1)].strip(" ,")
            city_raw = text[m.start(3):m.start(3) + len(city)]
            found.append((m.start(), Address(line, m.group(2), city_raw.strip(), "FR")))
    for m in _UK_ADDRESS.finditer(folded):
        line = text[m.start(1):m.end(1)].strip(" ,")
        if m.group(3):
            city, code = text[m.start(2):m.end(2)], text[m.start(3):m.end(3)]
        else:
            code, city = text[m.start(4):m.end(4)], text[m.start(5):m.end(5)]
        found.append((m.start(), Address(line, code.upper(), city.strip(), "GB")))
    return sorted(found, key=lambda pair: pair[0])


def new_address(text: str) -> Address | None:
    """The address the customer wants used: the one introduced as new, else the last one."""
    folded = fold(text)
    candidates = _candidates(text, folded)
    if not candidates:
        return None

    def weight(pair: tuple[int, Address]) -> int:
        before = folded[max(0, pair[0] - 40):pair[0]]
        return int(bool(_NEW_CUE.search(before))) - int(bool(_OLD_CUE.search(before)))

    best = max(enumerate(candidates), key=lambda ic: (weight(ic[1]), ic[0]))
    return best[1][1]


# --- what the customer wants ---------------------------------------------------------------

_REFUND = re.compile(r"\b(refund\w*|rembours\w*|money back|mon argent|reimburs\w*|my money)\b")
_NOT_GOODS = (
    r"(?!(invoice|receipt|facture|tracking|suivi|numbers?|numero|links?|lien|labels?|"
    r"etiquette|e?mails?|code|details|info\w*|confirmation|copy|copie|update|photo))"
)
_REPLACEMENT = re.compile(
    r"\b(replac\w*|remplac\w*|exchange|echange\w*|resend|re-send|reship|new one|"
    r"a new \w+|un autre|une autre|un nouveau|une nouvelle|"
    r"send (me )?(it|them|one|another)\b(?! to\b)|"
    rf"send (me )?(the|a|my|another) {_NOT_GOODS}\w+\b(?! to\b)|"
    r"ship (me )?(it|another)\b(?! to\b)|"
    rf"(renvoye[rz]|envoye[rz]|expedie[rz])[- ]?(moi|le|la|les)? ?(le|la|l'|un|une|les|mon|ma|mes)"
    rf" ?{_NOT_GOODS}\w+|"
    r"recevoir (l'article|le produit|l'objet|mon \w+|ma \w+|le \w+|la \w+|l'\w+))"
)
_REJECT = re.compile(
    r"\b(instead of|rather than|not|no|don'?t want|do not want|no need for|not interested in|"
    r"plutot qu[e']|au lieu d[e']|pas d[e']|ne veux pas|sans|pas besoin d[e']|pas interessee? par)\s*"
    r"(a |an |the |my |un |une |le |la |l'|mon |de |d')?\s*$"
)
# "A new one" that is no wish of ours to fulfil: one the customer will buy elsewhere ("I will buy
# a new one", "j'en achèterai une autre ailleurs"), or the other thing they received ("j'ai reçu
# un autre modèle"). Neither asks for a replacement, nor (rejected) for a refund.
_NOT_A_WISH_BEFORE = re.compile(
    r"\b(buy|buying|bought|purchase|purchasing|purchased|received|achet\w*|recu\w*)\s+(myself\s+)?$")
_NOT_A_WISH_AFTER = re.compile(
    r"^\s*(\w+\s+)?(elsewhere|somewhere else|from (another|a different|an other) (shop|store|seller|site)|"
    r"ailleurs|dans un autre magasin|chez un autre)\b")


_WISHES: tuple[tuple[re.Pattern[str], Wish], ...] = (
    (_REFUND, "refund"),
    (_REPLACEMENT, "replacement"),
)


def wants(text: str) -> tuple[Wish | None, bool]:
    """What the customer asks for last, and whether that changed during the message.

    Why "last": customers change their mind mid-message ("I asked for a refund… actually
    send me the case"), and the final wish is the one to act on. A wish introduced by
    "instead of" / "plutôt qu'" is a rejection and counts for the other side; "a new one"
    bought elsewhere or received is no wish at all.
    """
    folded = fold(text)
    events: list[tuple[int, Wish, bool]] = []
    for pattern, kind in _WISHES:
        for m in pattern.finditer(folded):
            if kind == "replacement" and (_NOT_A_WISH_BEFORE.search(folded[max(0, m.start() - 25):m.start()])
                                          or _NOT_A_WISH_AFTER.search(folded[m.end():m.end() + 40])):
                continue
            rejected = bool(_REJECT.search(folded[max(0, m.start() - 25):m.start()]))
            events.append((m.start(), kind, not rejected))
    events.sort()
    chosen: list[Wish] = [kind for _, kind, positive in events if positive]
    if chosen:
        return chosen[-1], chosen[0] != chosen[-1]
    if events:
        return ("replacement" if events[-1][1] == "refund" else "refund"), False
    return None, False


# --- call back -----------------------------------------------------------------------------

_CALLBACK = re.compile(
    r"\b(call me( back)?|callback|call back|give me a (call|ring)|phone me|ring me|"
    r"rappele[rz][- ]?moi|me rappeler|m'appeler|appele[rz][- ]?moi|me telephoner|"
    r"telephone[rz][- ]?moi|etre rappelee?|un rappel|recall me)\b"
)
_NO_CALL = re.compile(
    r"\b((don'?t|do not|never|no need to|(you )?(don'?t|do not) need to) (call|phone|ring)|"
    r"ne m'appelez pas|ne me (rappelez|telephonez) pas|pas d'appel|ne pas me (rappeler|telephoner)|"
    r"(inutile|pas besoin|pas la peine|nul besoin) de (me )?(rappeler|appeler|telephoner))"
)


def wants_callback(text: str, channel: str | None = None) -> bool:
    """The customer asks to be called (or used the callback channel)."""
    if channel == "callback_request":
        return True
    folded = fold(text)
    return bool(_CALLBACK.search(folded)) and not _NO_CALL.search(folded)


# --- which order line ----------------------------------------------------------------------

#: French words customers use for things whose titles are often in English, and colours.
SYNONYMS: dict[str, str] = {
    "etui": "case", "coque": "case", "housse": "case", "pochette": "case", "rose": "pink",
    "livre": "book", "chargeur": "charger", "cable": "cable", "ecouteurs": "earphones",
    "casque": "headphones", "telecommande": "remote", "batterie": "battery", "noir": "black",
    "noire": "black", "blanc": "white", "blanche": "white", "bleu": "blue", "bleue": "blue",
    "rouge": "red", "vert": "green", "verte": "green", "gris": "grey", "gray": "grey",
    "sacoche": "bag", "sac": "bag", "montre": "watch", "tapis": "mat", "lampe": "lamp",
    "chaussures": "shoes", "souris": "mouse", "clavier": "keyboard", "ecran": "screen",
}
_STOPWORDS = {
    "the", "a", "an", "for", "of", "and", "with", "to", "in", "on", "my", "your", "it", "is",
    "le", "la", "les", "l", "un", "une", "des", "de", "du", "d", "pour", "et", "avec", "en",
    "mon", "ma", "mes", "au", "aux", "ce", "cette", "que", "qui", "est", "pas", "me", "i",
}


def _words(text: str) -> list[str]:
    words = []
    for word in re.findall(r"[a-z0-9]+", fold(text)):
        if word in _STOPWORDS or len(word) < 2:
            continue
        word = SYNONYMS.get(word, word)
        if len(word) > 3 and word.endswith("s"):
            word = word[:-1]
        words.append(word)
    return words


def _close(word: str, vocabulary: set[str]) -> bool:
    if word in vocabulary:
        return True
    if len(word) < 4:
        return False
    return any(
        len(other) >= 4 and SequenceMatcher(None, word, other).ratio() >= 0.85
        for other in vocabulary
    )


def match_item(text: str, titles: Sequence[str]) -> ItemMatch | None:
    """The order line the text is about, by shared words; ``None`` when unclear.

    Words are weighted by how few titles contain them, so "the case" picks the case line
    even though "iPod nano" appears in every title. Ties give ``None``: better to ask than to
    refund the wrong line. An order of one line can only mean that line.
    """
    if not titles:
        return None
    if len(titles) == 1:
        return ItemMatch(0, titles[0], 1.0)
    said = set(_words(text))
    title_words = [set(_words(t)) for t in titles]
    n = len(titles)

    def idf(word: str) -> float:
        df = sum(word in words for words in title_words)
        return math.log((n + 1) / df) if df else 0.0

    scores = []
    for words in title_words:
        total = sum(idf(w) for w in words) or 1.0
        hit = sum(idf(w) for w in words if _close(w, said))
        scores.append(hit * (0.5 + 0.5 * hit / total))
    ranked = sorted(range(n), key=lambda i: scores[i], reverse=True)
    best = ranked[0]
    if scores[best] <= 0 or (n > 1 and scores[ranked[1]] >= scores[best]):
        return None
    return ItemMatch(best, titles[best], round(scores[best], 3))


# --- everything at once --------------------------------------------------------------------


def extract_facts(
    text: str, line_titles: Sequence[str] = (), channel: str | None = None
) -> ContactFacts:
    """All facts of one contact; ``line_titles`` are the order's lines, in order."""
    wish, changed = wants(text)
    return ContactFacts(
        order_ids=order_ids(text),
        pages=pages(text),
        phones=phones(text),
        new_address=new_address(text),
        wants=wish,
        changed_mind=changed,
        callback=wants_callback(text, channel),
        item=match_item(text, line_titles),
    )
