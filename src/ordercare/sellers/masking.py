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
_SPELLED_TLDS = "com|fr|org|eu|shop|store|io|info|biz"
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
    rf"(?:\.[a-z]{{2,24}}\b|{_DOT_SPELLED}(?:{_SPELLED_TLDS})\b)"
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
_SEP = r"[ .\-\u00a0]"
_PHONE_INTL = re.compile(
    r"(?<![\w+])(?:\((?:\+|00)\s?[1-9]\d{0,2}\)|(?:\+|00)\s?[1-9]\d{0,2})"  # +33, 0033, (+44)
    r"(?:" + _SEP + r"?\(0\))?"  # +33 (0)6 ...
    r"(?>(?:" + _SEP + r"?(?:\(\d{1,5}+\)|\d{1,5}+)){2,7})"  # the national number, in groups
    r"(?!\w)"
)
_PHONE_NATIONAL = re.compile(r"(?<![\w+])0" + _SEP + r"?[1-9](?:" + _SEP + r"?\d){8,9}(?!\w)")
_PHONE_NANP = re.compile(r"(?<![\w+])(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[ .\-])\d{3}[ .\-]\d{4}(?!\w)")
_TRAILING = ".,;:!?)"


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
    return MaskResult(out, counts["email"], counts["phone"], counts["link"])


def _looks_like_a_site(found: str) -> bool:
    """A word-like TLD (``.de``, ``.it``) is a link only with a path or a subdomain."""
    return "/" in found or found.count(".") >= 2


def _enough_digits(found: str) -> bool:
    """A phone number has at least 8 digits after its 00 or + (E.164 allows up to 15)."""
    digits = re.sub(r"\D", "", found.replace("(0)", ""))
    if found.lstrip("( ").startswith("00"):
        digits = digits[2:]
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
