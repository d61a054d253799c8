"""Messages to customers, rendered from Jinja2 templates in their language (fr, en).

Templates live beside this module (``templates/<lang>/<name>.txt.j2``); the first line of a
template is ``Subject: ...``. A missing variable is an error, never an empty gap in a mail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

LANGS = ("en", "fr")
# How a day is written to the customer ("Monday 1 June", "lundi 1 juin"): the sim's customers
# read the dates we tell them with the same words.
DAY_WORDS = {"en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
             "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")}
MONTH_WORDS = {"en": ("January", "February", "March", "April", "May", "June", "July", "August",
                       "September", "October", "November", "December"),
               "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                      "septembre", "octobre", "novembre", "décembre")}


_ZONES: dict[int, timezone] = {}
_DAY_NAMES: dict[tuple[int, str], str] = {}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_US = 86_400_000_000


def zone(tz_min: int) -> timezone:
    found = _ZONES.get(tz_min)
    if found is None:
        found = _ZONES[tz_min] = timezone(timedelta(minutes=tz_min))
    return found


_LOCAL_EPOCHS: dict[int, datetime] = {}


def local(at_us: int, tz_min: int) -> datetime:
    """An instant in the customer's local time (exact: integer arithmetic, no float).

    The epoch is converted to the offset once; adding a timedelta to it keeps the offset,
    which saves a time-zone conversion per message written.
    """
    epoch = _LOCAL_EPOCHS.get(tz_min)
    if epoch is None:
        epoch = _LOCAL_EPOCHS[tz_min] = _EPOCH.astimezone(zone(tz_min))
    return epoch + timedelta(microseconds=at_us)


_DATES: dict[int, str] = {}
_OFFSETS: dict[int, str] = {}
_CLOCKS: list[str | None] = [None] * 86_400  # "HH:MM:SS" by second of the day, filled as met


def iso_local(at_us: int, tz_min: int) -> str:
    """``local(at_us, tz_min).isoformat()``, character for character, without building a
    datetime: the date part is cached per day, the offset per zone and the time of day per
    second. Every case, action and message row carries such times, so this runs a few times
    per event."""
    day, rem = divmod(at_us + tz_min * 60_000_000, _DAY_US)
    date = _DATES.get(day)
    if date is None:
        date = _DATES[day] = (_EPOCH + timedelta(days=day)).date().isoformat() + "T"
    offset = _OFFSETS.get(tz_min)
    if offset is None:
        hours, minutes = divmod(abs(tz_min), 60)
        offset = _OFFSETS[tz_min] = f"{'-' if tz_min < 0 else '+'}{hours:02d}:{minutes:02d}"
    seconds, micro = divmod(rem, 1_000_000)
    clock = _CLOCKS[seconds]
    if clock is None:
        minute, second = divmod(seconds, 60)
        hour, minute = divmod(minute, 60)
        clock = _CLOCKS[seconds] = f"{hour:02d}:{minute:02d}:{second:02d}"
    if micro:
        return f"{date}{clock}.{micro:06d}{offset}"
    return f"{date}{clock}{offset}"


def format_day(at_us: int, tz_min: int, lang: str) -> str:
    """'Monday 1 June' / 'lundi 1 juin' in the customer's local calendar (cached per day)."""
    day = (at_us + tz_min * 60_000_000) // _DAY_US
    key = (day, lang)
    found = _DAY_NAMES.get(key)
    if found is None:
        d = (_EPOCH + timedelta(days=day)).date()
        found = _DAY_NAMES[key] = f"{DAY_WORDS[lang][d.weekday()]} {d.day} {MONTH_WORDS[lang][d.month - 1]}"
    return found


def format_day_hour(at_us: int, tz_min: int, lang: str) -> str:
    """'Monday 1 June, 14:00' / 'lundi 1 juin à 14h00', in the reader's local time."""
    t = local(at_us, tz_min)
    day = format_day(at_us, tz_min, lang)
    return f"{day} à {t.hour}h{t.minute:02d}" if lang == "fr" else f"{day}, {t.hour:02d}:{t.minute:02d}"


def format_money(amount: float, currency: str, lang: str) -> str:
    if lang == "fr":
        return f"{amount:,.2f}".replace(",", " ").replace(".", ",") + f" {currency}"
    return f"{amount:,.2f} {currency}"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("ordercare.notify", "templates"),
                      undefined=StrictUndefined, autoescape=False, auto_reload=False, keep_trailing_newline=False,
                      trim_blocks=True, lstrip_blocks=True)
    return env


def render(lang: str, template: str, **context: Any) -> tuple[str, str]:
    """Return (subject, body) of ``template`` in ``lang`` (English when unknown)."""
    lang = lang if lang in LANGS else "en"
    text = environment().get_template(f"{lang}/{template}.txt.j2").render(lang=lang, **context)
    first, _, body = text.strip().partition("\n")
    subject = first.removeprefix("Subject:").strip()
    return subject, body.strip()
