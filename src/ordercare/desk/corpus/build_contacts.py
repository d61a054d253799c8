"""Build ``contacts.csv`` from the hand-written cores in ``sources/``.

Run from the repository root::

    python src/ordercare/desk/corpus/build_contacts.py

Why a builder rather than a hand-edited CSV: every core sentence was written by hand, but a
real contact wraps that sentence in a channel's habits (an email's greeting and signature, a
chat's missing punctuation and typos, a phone transcript's fillers). Doing that by hand for
800 messages is error-prone; doing it here keeps the wrapping reproducible (fixed seed) and
reviewable.

Why the split is made on cores, not on messages: the held-out score must measure how the
model copes with a phrasing it has never seen. Each core (and its translation, which shares
its line index) goes wholly to ``train`` or to ``test``; the greeting, sign-off, signature
and context pools are split too, so no wrapper sentence is shared across the split either.
"""

from __future__ import annotations

import csv
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20260528
TEST_SHARE = 0.25

Pools = dict[str, list[str]]


@dataclass(frozen=True)
class Core:
    """One hand-written sentence: what a customer means, before channel habits."""

    lang: str
    reason: str
    index: int
    text: str


#: Source batches, each an English file and its French counterpart with the same line order.
BATCHES = ("", "_2", "_3", "_4", "_5", "_6", "_7", "_8")


def read_cores(lang: str, batch: str = "") -> list[Core]:
    """Parse ``sources/<lang><batch>.txt``: ``# reason`` headers, one core per line."""
    cores: list[Core] = []
    reason = ""
    counts: dict[str, int] = {}
    source = HERE / "sources" / f"{lang}{batch}.txt"
    for raw in source.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            name = line.lstrip("#").strip()
            if re.fullmatch(r"[a-z_]+", name):
                reason = name
            continue
        index = counts.get(reason, 0)
        counts[reason] = index + 1
        cores.append(Core(lang, reason, index, line))
    return cores


def test_indices(cores: list[Core], rng: random.Random) -> set[tuple[str, int]]:
    """Pick ~25 % of core indices per reason; a core and its translation share the side."""
    chosen: set[tuple[str, int]] = set()
    for reason in sorted({c.reason for c in cores}):
        indices = sorted({c.index for c in cores if c.reason == reason})
        k = round(len(indices) * TEST_SHARE)
        chosen.update((reason, i) for i in rng.sample(indices, k))
    return chosen


# --- fillers: facts a real message carries -------------------------------------------------

PRODUCTS = {
    "en": ["coffee machine", "iPod nano 8GB", "blender", "desk lamp", "hair clipper",
           "bluetooth speaker", "electric toothbrush", "baby monitor", "air fryer",
           "wireless mouse", "e-reader", "smartwatch", "rice cooker", "drone"],
    "fr": ["machine à café", "iPod nano 8 Go", "blender", "lampe de bureau", "tondeuse",
           "enceinte bluetooth", "brosse à dents électrique", "babyphone", "friteuse sans huile",
           "souris sans fil", "liseuse", "montre connectée", "cuiseur à riz", "drone"],
}
ACCESSORIES = {
    "en": ["charger", "pink silicone case", "USB cable", "remote", "power adapter",
           "carry bag", "spare filter", "stylus", "wall bracket"],
    "fr": ["chargeur", "étui rose en silicone", "câble USB", "télécommande",
           "adaptateur secteur", "sacoche", "filtre de rechange", "stylet", "support mural"],
}
BOOKS = ["Le Comte de Monte-Cristo", "Les Misérables", "Pride and Prejudice", "Madame Bovary",
         "Germinal", "Moby Dick", "Le Rouge et le Noir", "Great Expectations",
         "L'Étranger", "Middlemarch", "Bel-Ami", "Jane Eyre"]
CARRIERS = ["Colissimo", "Chronopost", "DPD", "UPS", "Mondial Relay", "DHL", "GLS",
            "Relais Colis"]
CITIES_FR = [("Lyon", "69003"), ("Paris", "75011"), ("Nantes", "44000"), ("Lille", "59000"),
             ("Toulouse", "31400"), ("Bordeaux", "33800"), ("Rennes", "35000"),
             ("Grenoble", "38000"), ("Marseille", "13006"), ("Strasbourg", "67000"),
             ("Montpellier", "34070"), ("Dijon", "21000")]
CITIES_UK = [("London", "NW1 6XE"), ("Leeds", "LS6 2AB"), ("Bristol", "BS8 1TH"),
             ("Manchester", "M14 5RB"), ("Edinburgh", "EH9 1PR"), ("Cardiff", "CF24 4HQ")]
STREETS_FR = ["rue des Lilas", "avenue Jean Jaurès", "boulevard Voltaire", "rue de la Paix",
              "allée des Tilleuls", "impasse du Moulin", "chemin des Vignes", "place Bellecour",
              "rue Victor Hugo", "quai de la Fosse", "rue du Général Leclerc"]
STREETS_UK = ["Elm Road", "Baker Street", "Victoria Avenue", "Church Lane", "Park Crescent",
              "Mill Street", "Queens Road"]
DAYS = {"en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
        "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"]}
MONTHS = {"en": ["March", "April", "May", "June", "October", "November"],
          "fr": ["mars", "avril", "mai", "juin", "octobre", "novembre"]}
SIGNERS = ["M. Durand", "J. Smith", "Karim B.", "L. Petit", "A. Moreau", "T. Nguyen"]
NAMES = ["Claire Martin", "Julien Robert", "Sophie Bernard", "Mehdi Haddad", "Laura Dubois",
         "Thomas Leroy", "Emma Wilson", "James Carter", "Nadia Benali", "Pierre Lambert",
         "Olivia Brown", "Hugo Fontaine", "Chloé Girard", "Daniel Moore", "Inès Roux",
         "Marc Lefèvre"]


def order_id(rng: random.Random) -> str:
    """Our ids (``o-123``, ``O-000123``) and marketplace ids (``402-1234567-1234567``)."""
    kind = rng.randrange(5)
    if kind == 0:
        return f"o-{rng.randint(1, 9999)}"
    if kind == 1:
        return f"O-{rng.randint(1, 999999):06d}"
    if kind == 2:
        return f"{rng.randint(100, 999)}-{rng.randint(0, 9999999):07d}"
    return f"{rng.randint(100, 999)}-{rng.randint(0, 9999999):07d}-{rng.randint(0, 9999999):07d}"


def phone(lang: str, rng: random.Random) -> str:
    digits = f"{rng.choice('67')}{rng.randint(0, 99999999):08d}"
    pairs = " ".join(digits[i:i + 2] for i in range(1, 9, 2))
    styles = [f"0{digits[0]} {pairs}", f"0{digits}", f"+33 {digits[0]} {pairs}",
              f"0{digits[0]}.{pairs.replace(' ', '.')}", f"+33 (0){digits[0]} {pairs}"]
    if lang == "en":
        styles.append(f"+44 7700 {rng.randint(900000, 900999)}")
    return rng.choice(styles)


def address(lang: str, rng: random.Random) -> str:
    if lang == "en" and rng.random() < 0.5:
        city, code = rng.choice(CITIES_UK)
        return f"{rng.randint(1, 120)} {rng.choice(STREETS_UK)}, {city} {code}"
    city, code = rng.choice(CITIES_FR)
    sep = rng.choice([", ", " ", ", "])
    return f"{rng.randint(1, 140)} {rng.choice(STREETS_FR)}{sep}{code} {city}"


def fill(text: str, lang: str, rng: random.Random) -> str:
    """Replace every ``{placeholder}`` with a fresh, plausible value."""
    p1 = rng.randint(12, 320)
    p2 = p1 + rng.randint(3, 24)
    month = rng.choice(MONTHS[lang])
    day1 = rng.randint(2, 20)
    amount = f"{rng.randint(5, 240)},{rng.choice(['00', '90', '99', '49'])} €"
    if lang == "en":
        amount = f"€{amount[:-2].replace(',', '.')}"
    city = rng.choice(CITIES_FR + (CITIES_UK if lang == "en" else []))[0]
    values: dict[str, Callable[[], str]] = {
        "order": lambda: order_id(rng),
        "product": lambda: rng.choice(PRODUCTS[lang]),
        "accessory": lambda: rng.choice(ACCESSORIES[lang]),
        "book": lambda: rng.choice(BOOKS),
        "p1": lambda: str(p1),
        "p2": lambda: str(p2),
        "p1_minus": lambda: str(p1 - 1),
        "p2_plus": lambda: str(p2 + 1),
        "carrier": lambda: rng.choice(CARRIERS),
        "day": lambda: rng.choice(DAYS[lang]),
        "date": lambda: f"{day1} {month}" if lang == "fr" else f"{month} {day1}",
        "date2": lambda: (f"{day1 + 6} {month}" if lang == "fr" else f"{month} {day1 + 6}"),
        "city": lambda: city,
        "signer": lambda: rng.choice(SIGNERS),
        "addr": lambda: address(lang, rng),
        "street": lambda: rng.choice(STREETS_FR + (STREETS_UK if lang == "en" else [])),
        "amount": lambda: amount,
        "phone": lambda: phone(lang, rng),
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)](), text)


# --- channel habits ----------------------------------------------------------------------

WRAPPERS: dict[str, Pools] = {
    "en": {
        "greeting": ["Hello,", "Hi there,", "Dear customer service,", "Good morning,",
                     "Hi,", "To whom it may concern,", "Hello team,", "Dear Sir or Madam,",
                     "Good afternoon,", "Hey,"],
        "context": ["I've been a loyal customer for years and this is the first time I write.",
                    "I bought this as a present for my mother.",
                    "I'm writing on behalf of my elderly father who has the account.",
                    "I already tried the chat yesterday without success.",
                    "I'm abroad at the moment so email is easier for me.",
                    "This was my first order on your site.",
                    "I ordered it together with a few other things last week.",
                    "Sorry for the long message, I wanted to give you all the details."],
        "closing": ["Thanks in advance.", "Kind regards,", "Best,", "Thank you for your help.",
                    "Looking forward to your reply.", "Regards,", "Cheers,",
                    "Many thanks,", "Awaiting your answer.", "Thanks,"],
        "angry": ["This is unacceptable.", "Very disappointed.", "FIX THIS NOW",
                  "I expect a quick answer.", "Honestly, what a mess.",
                  "Not impressed at all!!"],
        "callback": ["Please call me back on {phone}.", "Could someone call me? {phone}",
                     "Call me back please, {phone}.", "I'd like a callback at {phone}.",
                     "Can an agent phone me on {phone}?", "ring me back on {phone} pls"],
        "filler": ["uh", "um", "so", "like", "you know", "yeah", "erm", "right"],
        "opening": ["yes hi um", "hello yeah so", "hi uh good morning", "yeah hello",
                    "hi so basically", "hello um yes"],
    },
    "fr": {
        "greeting": ["Bonjour,", "Madame, Monsieur,", "Bonjour à vous,", "Bonsoir,",
                     "Bonjour le service client,", "Salut,", "Bonjour madame, monsieur,",
                     "Cher service client,", "Bjr,", "Hello,"],
        "context": ["Je suis cliente depuis des années et c'est la première fois que j'écris.",
                    "C'était un cadeau pour ma mère.",
                    "J'écris pour mon père âgé qui a le compte à son nom.",
                    "J'ai déjà essayé le chat hier sans succès.",
                    "Je suis à l'étranger en ce moment, le mail est plus simple pour moi.",
                    "C'était ma première commande sur votre site.",
                    "Je l'ai commandé avec d'autres articles la semaine dernière.",
                    "Désolé pour le long message, je voulais tout vous expliquer."],
        "closing": ["Merci d'avance.", "Cordialement,", "Bien à vous,",
                    "Merci pour votre aide.", "Dans l'attente de votre réponse.",
                    "Bonne journée,", "Salutations,", "Merci beaucoup,",
                    "J'attends votre retour.", "Bien cordialement,"],
        "angry": ["C'est inadmissible.", "Très déçu.", "C'EST N'IMPORTE QUOI",
                  "J'attends une réponse rapide.", "Franchement quelle galère.",
                  "Je suis vraiment mécontente !!"],
        "callback": ["Merci de me rappeler au {phone}.", "Quelqu'un peut m'appeler ? {phone}",
                     "Rappelez-moi svp, {phone}.", "Je souhaite être rappelé au {phone}.",
                     "Un conseiller peut me téléphoner au {phone} ?",
                     "rappelez moi au {phone} svp"],
        "filler": ["euh", "alors", "bon", "voilà", "en fait", "hein", "bah", "donc"],
        "opening": ["oui bonjour euh", "allô oui bonjour alors", "bonjour euh voilà",
                    "oui allô", "bonjour madame alors en fait", "oui bonjour donc"],
    },
}
CHAT_SWAPS = {
    "en": {"please": "pls", "you": "u", "your": "ur", "thanks": "thx", "are": "r",
           "because": "cuz", "I don't know": "idk"},
    "fr": {"s'il vous plaît": "svp", "commande": "cmd", "bonjour": "bjr", "c'est": "c",
           "je ne sais pas": "jsp", "quelque chose": "qqch", "pourquoi": "pk"},
}


def halves(pools: Pools, side: str) -> Pools:
    """Even items for train, odd for test: no wrapper sentence crosses the split."""
    start = 0 if side == "train" else 1
    return {k: v[start::2] for k, v in pools.items()}


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def roughen(text: str, lang: str, rng: random.Random, rate: float) -> str:
    """Chat and phone habits: shorthand, lowercase, no punctuation, a few typos."""
    for long, short in CHAT_SWAPS[lang].items():
        if rng.random() < 0.5:
            text = re.sub(rf"\b{re.escape(long)}\b", short, text, flags=re.IGNORECASE)
    if rng.random() < 0.6:
        text = text.lower()
    if rng.random() < 0.5:
        text = re.sub(r"[?!.,;:\"]", "", text)
    if lang == "fr" and rng.random() < 0.4:
        text = fold(text)
    words = [typo(w, rng) if rng.random() < rate else w for w in text.split(" ")]
    return " ".join(words)


def as_email(core: str, lang: str, pools: Pools, rng: random.Random) -> str:
    parts = [rng.choice(pools["greeting"]), ""]
    body = [core]
    if rng.random() < 0.4:
        body.insert(0, rng.choice(pools["context"]))
    if rng.random() < 0.12:
        body.append(rng.choice(pools["angry"]))
    if rng.random() < 0.1:
        body.append(fill(rng.choice(pools["callback"]), lang, rng))
    parts.append(" ".join(body))
    parts += ["", rng.choice(pools["closing"]), rng.choice(NAMES)]
    return "\n".join(parts)


def as_chat(core: str, lang: str, pools: Pools, rng: random.Random) -> str:
    text = roughen(core, lang, rng, rate=0.05)
    if rng.random() < 0.08:
        text += " " + rng.choice(pools["angry"])
    return text


def as_phone(core: str, lang: str, pools: Pools, rng: random.Random) -> str:
    words = re.sub(r"[?!.,;:\"]", "", core).lower().split()
    out: list[str] = []
    for w in words:
        out.append(w)
        if rng.random() < 0.08:
            out.append(rng.choice(pools["filler"]))
        elif rng.random() < 0.03:
            out.append(w)
    text = rng.choice(pools["opening"]) + " " + " ".join(out)
    if lang == "fr" and rng.random() < 0.3:
        text = fold(text)
    return text


def as_callback(core: str, lang: str, pools: Pools, rng: random.Random) -> str:
    ask = fill(rng.choice(pools["callback"]), lang, rng)
    return f"{ask} {core}" if rng.random() < 0.5 else f"{core} {ask}"


CHANNELS = [("email", as_email, 0.35), ("chat", as_chat, 0.35), ("phone", as_phone, 0.2),
            ("callback_request", as_callback, 0.1)]


def render(core: Core, side: str, rng: random.Random) -> str:
    pools = halves(WRAPPERS[core.lang], side)
    text = fill(core.text, core.lang, rng)
    names = [c[0] for c in CHANNELS]
    weights = [c[2] for c in CHANNELS]
    channel = rng.choices(names, weights)[0]
    shape = dict((c[0], c[1]) for c in CHANNELS)[channel]
    return shape(text, core.lang, pools, rng)


def build() -> list[dict[str, str]]:
    """Split each batch on its cores (stable: batch 1's split never moves), then render."""
    split_rng = random.Random(SEED)
    render_rng = random.Random(SEED + 1)
    rows = []
    for batch in BATCHES:
        cores = read_cores("en", batch) + read_cores("fr", batch)
        held_out = test_indices(cores, split_rng)
        for core in cores:
            side = "test" if (core.reason, core.index) in held_out else "train"
            rows.append({"text": render(core, side, render_rng), "lang": core.lang,
                         "reason": core.reason, "split": side})
    return rows


def main() -> None:
    rows = build()
    with (HERE / "contacts.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=["text", "lang", "reason", "split"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} contacts to {HERE / 'contacts.csv'}")


if __name__ == "__main__":
    main()
