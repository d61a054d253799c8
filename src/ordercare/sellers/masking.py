"""Buyer-seller messaging relay: mask contact details that would take the sale off-platform.

Buyers and sellers talk through the platform so that the buyer keeps the guarantee (a
claim needs the conversation) and the seller keeps paying for the sale. A seller who writes
"call me on 06 12 34 56 78" or "order directly on monshop.fr, 10 % off" is moving the buyer
away; a buyer who leaves an e-mail address exposes it. The relay therefore masks, in French
and English texts:

* e-mail addresses, plain (``jean@monshop.fr``) and spelled out (``jean [at] monshop [dot]
  fr``, ``jean arobase gmail point com``, ``jean at gmail dot com``);
* telephone numbers: French national (``06 12 34 56 78``, ``06.12.34.56.78``,
  ``0612345678``, even ``0 6 1 2 3 4 5 6 7 8``), international (``+33 6 12 34 56 78``,
  ``+33 (0)6 ...``, ``0033 6 ...``, ``+44 20 7946 0958``, ``+1 (415) 555-0132``), UK national
  and North-American (``(415) 555-0132``) formats;
* telephone numbers spelled out in words, or words and digits mixed (``zéro six douze
  trente-quatre cinquante-six soixante-dix-huit``, ``oh six one two, three four...``,
  ``06 douze 34 cinquante-six 78``): a run of number words that reads as a national number
  (0 and 9 digits) or an international one (00 and up to 13 digits);
* social handles (``@monshop``, ``insta : @mon.shop``; not ``@14h30``): a profile elsewhere
  is a link;
* links: anything with a scheme or ``www.``, bare domains on unambiguous top-level domains
  (``monshop.fr``, ``bit.ly/x``), on word-like ones (``.de``, ``.it``, ``.me``) only with a
  path or a subdomain, and spelled-out ones (``monshop point com``, ``monshop[.]fr``).
  Links to allowed domains (the platform, carriers' tracking pages;
  ``relay.allowed_domains`` in ``policy.yaml``) are kept: they help the buyer.

What must survive: prices (``12,50 €``), dates (``12/05/2026``, ``05.06.2026``), times,
postcodes, order numbers and tracking numbers (``6A12345678901``, ``1Z999AA10123456784``),
which the patterns exclude by shape (a phone is 0 + 9 digits, or + / 00 and a country code).
The result carries the count of what was masked; when the seller wrote the message, the
engine counts it against the seller.

Pure and deterministic; the patterns are compiled once at import.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial
from typing import Literal

from ordercare.sellers.policy import load_seller_policy

Lang = Literal["fr", "en"]

TOKENS: dict[str, dict[str, str]] = {
    "en": {"email": "[email removed]", "phone": "[phone removed]", "link": "[link removed]"},
    "fr": {"email": "[e-mail retiré]", "phone": "[téléphone retiré]", "link": "[lien retiré]"},
}

# Top-level domains a bare "name.tld" is taken for a link on. Two-letter TLDs that are also
# words (de, es, it, me, be, la, ca, to, in, us, at...) need more: "Merci.De rien" is a
# missing space, not a link; "shop.monshop.de" or "monshop.de/promo" is one (lowercase, a
# subdomain or a path). With a scheme or "www." any domain is a link.
_TLDS = (
    "com|net|org|fr|eu|ch|uk|nl|lu|pl|pt|info|biz|shop|store|online|site|website|app|io|co|"
    "xyz|ly|gl|gg|tv|club|pro|link|page|boutique|paris|bzh|corsica|alsace"
)
_WORDLIKE_TLDS = "de|es|it|be|me|at|in|to|us|la|ca|ma|re|am|fm|is|so|no|do|tk|ai|cc|ws"
# Endings after a dot spelled out: alone, the few that are no French word ("le point net du
# dossier" is no address); after an unambiguous "at" ([at], arobase), the usual ones too.
_SPELLED_TLDS = "com|fr|org|eu|shop|store|io|info|biz"
_SPELLED_TLDS_AFTER_AT = _SPELLED_TLDS + "|net|be|ch|ca|uk|nl|lu|pl|pt|online"
_WEBMAIL = (
    "gmail|googlemail|hotmail|outlook|live|msn|yahoo|ymail|icloud|me|aol|orange|wanadoo|free|"
    "sfr|neuf|laposte|bbox|gmx|proton|protonmail|yandex|mail"
)

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOT_SPELLED = r"(?:\s*[\[({]\s*(?:\.|dot|point)\s*[\])}]\s*|\s+(?:dot|point)\s+)"
_AT_BRACKETED = r"\s*[\[({]\s*(?:@|at|arobase)\s*[\])}]\s*"

_URL = re.compile(r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"'\]]+", re.IGNORECASE)
# Every repetition is bounded and every match starts at the beginning of a run (the
# lookbehinds), so a hostile message costs linear time, never a catastrophic backtrack.
_LOCAL = r"(?<![a-z0-9._%+-])[a-z0-9._%+-]{1,64}"
_EMAIL = re.compile(rf"{_LOCAL}\s?@\s?{_LABEL}(?:\s?\.\s?{_LABEL}){{0,8}}\s?\.\s?[a-z]{{2,24}}\b", re.IGNORECASE)
# a domain whose dots may be spelled out, and one where at least the last dot is
_DOMAIN_ANY_DOTS = (
    rf"{_LABEL}(?:(?:\.|{_DOT_SPELLED}){_LABEL}){{0,8}}"
    rf"(?:\.[a-z]{{2,24}}\b|{_DOT_SPELLED}(?:{_SPELLED_TLDS_AFTER_AT})\b)"
)
_DOMAIN_DOTS_SPELLED = rf"{_LABEL}(?:{_DOT_SPELLED}{_LABEL}){{0,8}}{_DOT_SPELLED}(?:{_SPELLED_TLDS})\b"
_EMAIL_SPELLED = re.compile(
    rf"{_LOCAL}(?:"
    # [at], (at), {at}, arobase: unambiguous, whatever the dots look like
    rf"(?:{_AT_BRACKETED}|\s+arobase\s+){_DOMAIN_ANY_DOTS}"
    # a plain " at " is a word too: only a spelled-out dot or a webmail makes it an address
    rf"|\s+at\s+(?:{_DOMAIN_DOTS_SPELLED}|(?:{_WEBMAIL})\.[a-z]{{2,6}}\b)"
    r")",
    re.IGNORECASE,
)
_DOMAIN = re.compile(rf"(?<![\w@.-])(?:{_LABEL}\.){{1,8}}(?:{_TLDS})\b(?![.-]\w)(?:/[^\s<>\"']*)?", re.IGNORECASE)
# word-like TLDs, lowercase only ("Merci.De rien" is a missing space)
_DOMAIN_WORDLIKE = re.compile(rf"(?<![\w@.-])(?:{_LABEL}\.){{1,8}}(?:{_WORDLIKE_TLDS})\b(?![.-]\w)(?:/[^\s<>\"']*)?")
_DOMAIN_SPELLED = re.compile(rf"\b{_DOMAIN_DOTS_SPELLED}", re.IGNORECASE)
# One separator between the groups of an international number (its groups are matched
# atomically, for linear time: a wider separator would swallow what follows the number, "78 -
# 9h", and lose the whole match); a French number may space its pairs wider ("06 - 12 - 34").
_SEP = r"[ .\-\u00a0\u202f\u2013]"
_SEP_WIDE = r"(?:[ .\-\u00a0\u202f\u2013]{1,3})"
# Between the groups of an international number: one separator, or spaces typed two or
# three at a time ("+33  6  12 ..."); not " - ", which may end the number ("78 - 9h").
_SEP_INTL = r"(?:[ \u00a0\u202f]{1,3}|[.\-\u2013])"
_PHONE_INTL = re.compile(
    r"(?<![\w+])(?:\((?:\+|00)\s?[1-9]\d{0,2}\)|(?:\+|00)\s{0,3}[1-9]\d{0,2})"  # +33, 0033, (+44)
    r"(?:" + _SEP_INTL + r"?\(0\))?"  # +33 (0)6 ...
    # the national number, in groups (a group is digits alone: "9h" after it is the hours)
    r"(?>(?:" + _SEP_INTL + r"?(?:\(\d{1,5}+\)|\d{1,5}+(?![^\W\d_]))){2,7})"
    r"(?!\w)"
)
_PHONE_NATIONAL = re.compile(r"(?<![\w+])0" + _SEP_WIDE + r"?[1-9](?:" + _SEP_WIDE + r"?\d){8,9}(?!\w)")
_PHONE_NANP = re.compile(r"(?<![\w+])(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[ .\-])\d{3}[ .\-]\d{4}(?!\w)")
_TRAILING = ".,;:!?)"
# A handle: "@" and a name, not an address (those are masked before, and hold a domain).
_HANDLE = re.compile(r"(?<![\w@.])@[a-z_](?:[a-z0-9_.]{1,28}[a-z0-9_])?(?![\w@])", re.IGNORECASE)

# Numbers in words, French and English, as the digits they stand for in a phone number
# read out ("zéro six" 06, "douze" 12, "soixante-dix-huit" 78, "quatre-vingt-douze" 92).
_UNITS = {"zero": 0, "zéro": 0, "oh": 0, "un": 1, "une": 1, "one": 1, "deux": 2, "two": 2, "trois": 3,
          "three": 3, "quatre": 4, "four": 4, "cinq": 5, "five": 5, "six": 6, "sept": 7, "seven": 7,
          "huit": 8, "eight": 8, "neuf": 9, "nine": 9}
_TEENS = {"dix": 10, "ten": 10, "onze": 11, "eleven": 11, "douze": 12, "twelve": 12, "treize": 13,
          "thirteen": 13, "quatorze": 14, "fourteen": 14, "quinze": 15, "fifteen": 15, "seize": 16,
          "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"vingt": 20, "vingts": 20, "twenty": 20, "trente": 30, "thirty": 30, "quarante": 40, "forty": 40,
         "cinquante": 50, "fifty": 50, "soixante": 60, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_DIX_UNITS = frozenset({"sept", "huit", "neuf"})  # dix-sept 17 ... (and soixante-dix-huit 78)
_REPEAT = {"double": 2, "triple": 3}
_NUMBER_WORDS = frozenset({*_UNITS, *_TEENS, *_TENS, *_REPEAT, "et"})
_NUMBER_TOKEN = re.compile(r"\d+|[a-zéè]+", re.IGNORECASE)
_BETWEEN = re.compile(r"[\s,.;:/\-\u2013]*")


@dataclass(frozen=True, slots=True)
class MaskResult:
    """The relayed text and what was masked in it."""

    text: str
    emails: int = 0
    phones: int = 0
    links: int = 0

    @property
    def masked(self) -> int:
        """How many contact details were masked (counted against a seller who sent them)."""
        return self.emails + self.phones + self.links


def mask_contact_details(text: str, lang: Lang = "en", allowed_domains: Collection[str] | None = None) -> MaskResult:
    """Mask e-mail addresses, phone numbers and off-platform links in ``text``.

    ``lang`` picks the wording of the placeholders (the reader's language).
    ``allowed_domains`` defaults to the policy's ``relay.allowed_domains``.
    """
    if allowed_domains is None:
        allowed_domains = load_seller_policy().relay.allowed_domains
    allowed = tuple(d.lower().lstrip(".") for d in allowed_domains)
    tokens = TOKENS[lang]
    counts = {"email": 0, "phone": 0, "link": 0}

    def replace(match: re.Match[str], kind: str, check: Callable[[str], bool] | None) -> str:
        found, kept = match.group(0), ""
        if kind == "link":
            while found and found[-1] in _TRAILING:  # sentence punctuation, not the link
                kept = found[-1] + kept
                found = found[:-1]
            if _is_allowed(found, allowed):
                return match.group(0)
        if check is not None and not check(found):
            return match.group(0)
        counts[kind] += 1
        return tokens[kind] + kept

    out = text
    for pattern, kind, check in _PASSES:
        out = pattern.sub(partial(replace, kind=kind, check=check), out)
    out, spelled = _mask_spelled_phones(out, tokens["phone"])
    counts["phone"] += spelled
    return MaskResult(out, counts["email"], counts["phone"], counts["link"])


def _spoken_digits(words: list[str]) -> str | None:
    """The digits a run of number words (and digit groups) is read as, or None if it does
    not read as one number: "zéro six douze" 0612, "dix-sept" 17, "soixante-dix-huit" 78,
    "quatre-vingt-douze" 92, "vingt et un" 21, "double six" 66."""
    out: list[str] = []
    i, n = 0, len(words)
    while i < n:
        w = words[i]
        nxt = words[i + 1] if i + 1 < n else ""
        if w.isdigit():
            out.append(w)
        elif w in _REPEAT and nxt in _UNITS:  # "double six" 66, "triple nine" 999
            out.append(str(_UNITS[nxt]) * _REPEAT[w])
            i += 1
        elif w == "quatre" and nxt in ("vingt", "vingts"):  # quatre-vingt(s): 80, then 81..99
            value, i = _tens_and_units(80, words, i + 2)
            out.append(str(value))
            continue
        elif w in _TENS:
            value, i = _tens_and_units(_TENS[w], words, i + 1)
            out.append(str(value))
            continue
        elif w == "dix" and nxt in _DIX_UNITS:
            out.append(str(10 + _UNITS[nxt]))
            i += 1
        elif w in _TEENS:
            out.append(str(_TEENS[w]))
        elif w in _UNITS:
            out.append(str(_UNITS[w]))
        else:
            return None  # ("et" outside a compound)
        i += 1
    return "".join(out)


def _tens_and_units(tens: int, words: list[str], i: int) -> tuple[int, int]:
    """``tens`` and what follows it in ``words`` from ``i``: a unit (trente-quatre, vingt et
    un), or for 60 and 80 a ten to nineteen (soixante-dix-huit, quatre-vingt-douze)."""
    n = len(words)
    if i + 1 < n and words[i] == "et" and words[i + 1] in ("un", "onze"):
        i += 1  # vingt et un, soixante et onze
    if i < n:
        w = words[i]
        if tens in (60, 80) and w == "dix" and i + 1 < n and words[i + 1] in _DIX_UNITS:
            return tens + 10 + _UNITS[words[i + 1]], i + 2
        if tens in (60, 80) and w in _TEENS:
            return tens + _TEENS[w], i + 1
        if w in _UNITS and _UNITS[w] > 0 and w != "oh":
            return tens + _UNITS[w], i + 1
    return tens, i


def _phone_like(digits: str) -> bool:
    """Digits read out that make a phone number: a national number (0 and 9 digits, as in
    France and the UK: "zéro six douze…", "oh seven seven…"), or an international one
    ("zéro zéro trente-trois six…"). Numbers read without a leading zero (a time, sizes, a
    price, a North American number said aloud) are left alone."""
    if digits.startswith("00"):
        return 11 <= len(digits) <= 15
    return digits.startswith("0") and digits[1:2] != "0" and len(digits) in (10, 11)


def _mask_spelled_phones(text: str, token: str) -> tuple[str, int]:
    """Mask phone numbers read out in words (or words and digits): a run of number words
    and short digit groups, two words at least, that reads as a phone number. Linear: each
    token is looked at once, each run read once."""
    lowered = text.lower()
    runs: list[tuple[int, int, list[str]]] = []  # start, end (of its last word that is not "et"), words
    start = end = -1
    words: list[str] = []
    last_end = -1
    for m in _NUMBER_TOKEN.finditer(lowered):
        w = m.group(0)
        number = w.isdigit() or w in _NUMBER_WORDS
        # "et" joins only inside a compound ("vingt et un"), never two numbers.
        if w == "et" and not (words and words[-1] in _TENS):
            number = False
        if number and words and _BETWEEN.fullmatch(lowered, last_end, m.start()):
            words.append(w)
        else:
            if words:
                runs.append((start, end, words))
            words = [w] if number and w != "et" else []
            start = m.start()
        if words:
            last_end = m.end()
            if w != "et":
                end = m.end()
    if words:
        runs.append((start, end, words))
    found = 0
    pieces: list[str] = []
    at = 0
    for start, end, words in runs:
        while words and words[-1] == "et":
            words.pop()
        said = sum(1 for w in words if not w.isdigit())
        if said < 2 or any(w.isdigit() and len(w) > 4 for w in words):
            continue  # digits alone (the patterns above), or an order number beside a count
        digits = _spoken_digits(words)
        if digits is not None and _phone_like(digits):
            pieces += [text[at:start], token]
            at = end
            found += 1
    if not found:
        return text, 0
    pieces.append(text[at:])
    return "".join(pieces), found


def _looks_like_a_site(found: str) -> bool:
    """A word-like TLD (``.de``, ``.it``) is a link only with a path or a subdomain."""
    return "/" in found or found.count(".") >= 2


def _enough_digits(found: str) -> bool:
    """A phone number has at least 8 digits after its 00 or +. One unbroken run of more than
    E.164's 15 is a parcel's tracking number or a reference ("00340434161094042557"), not a
    way to call the seller (a number in groups followed by more digits is one, all the same)."""
    digits = re.sub(r"\D", "", found.replace("(0)", ""))
    if found.lstrip("( ").startswith("00"):
        digits = digits[2:]
    if len(digits) > 15 and re.fullmatch(r"\(?(?:\+|00)?\d+\)?", found.strip()):
        return False
    return len(digits) >= 8


# Order matters: whole URLs first (they hold @ and digits), then addresses (they hold
# domains), then bare and spelled-out domains, then numbers. Placeholders hold none of them.
_PASSES: tuple[tuple[re.Pattern[str], str, Callable[[str], bool] | None], ...] = (
    (_URL, "link", None),
    (_EMAIL, "email", None),
    (_EMAIL_SPELLED, "email", None),
    (_DOMAIN, "link", None),
    (_DOMAIN_WORDLIKE, "link", _looks_like_a_site),
    (_DOMAIN_SPELLED, "link", None),
    (_PHONE_INTL, "phone", _enough_digits),
    (_PHONE_NATIONAL, "phone", None),
    (_PHONE_NANP, "phone", None),
    (_HANDLE, "link", None),
)


def _host(link: str) -> str:
    """The host of a link as written: scheme, path, port and credentials removed."""
    host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", link, flags=re.IGNORECASE)
    host = re.split(r"[/?#]", host, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0]
    return re.sub(_DOT_SPELLED, ".", host, flags=re.IGNORECASE).lower()


def _is_allowed(link: str, allowed: tuple[str, ...]) -> bool:
    host = _host(link)
    if host.startswith("www."):
        host = host[4:]
    return any(host == d or host.endswith("." + d) for d in allowed)
