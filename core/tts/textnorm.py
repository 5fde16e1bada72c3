"""Text normalization for TTS: written forms rewritten as spoken words, every rewrite recorded.

    >>> normalize("Dr. Smith won 1st place on 3/4/2025 for $5.50").text
    'Doctor Smith won first place on March fourth, twenty twenty-five for five dollars and fifty cents'

Each `Rewrite` keeps its span in the raw text and in the output, so a UI can highlight what
changed and why (currency, date, time, ordinal, number, abbreviation, symbol). Dates are read
month/day/year, as in American English, since the offline voice is en_US.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

KINDS = ("currency", "date", "time", "ordinal", "percent", "year", "number", "abbreviation", "symbol")

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")

# (singular, plural, cent singular, cent plural)
CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", "sen", "sen"),
}
SCALES = {"k": "thousand", "thousand": "thousand", "m": "million", "million": "million",
          "bn": "billion", "billion": "billion", "trillion": "trillion"}

# Always the same expansion.
ABBREVIATIONS = {
    "Mr.": "Mister", "Mrs.": "Missus", "Ms.": "Miz", "Prof.": "Professor", "Jr.": "Junior",
    "Sr.": "Senior", "Mt.": "Mount", "Ave.": "Avenue", "Rd.": "Road", "Blvd.": "Boulevard",
    "vs.": "versus", "etc.": "et cetera", "e.g.": "for example", "i.e.": "that is",
    "approx.": "approximately", "Gen.": "General", "Capt.": "Captain", "Sgt.": "Sergeant",
    "Jan.": "January", "Feb.": "February", "Mar.": "March", "Apr.": "April", "Aug.": "August",
    "Sep.": "September", "Sept.": "September", "Oct.": "October", "Nov.": "November",
    "Dec.": "December", "&": "and",
}
# Title before a name, place after one: "Dr. Smith" / "Baker Dr.", "St. Paul" / "Main St."
TITLE_OR_PLACE = {"Dr.": ("Doctor", "Drive"), "St.": ("Saint", "Street")}

YEAR_CUES = ("in", "since", "by", "year", "until", "till", "from", "of", "circa", "before", "after")


@dataclass(frozen=True)
class Rewrite:
    """One change: `source` (raw[start:end]) became `spoken` (text[out_start:out_end])."""

    kind: str
    source: str
    spoken: str
    start: int
    end: int
    out_start: int
    out_end: int


@dataclass(frozen=True)
class Normalized:
    """The raw text, the text a voice reads, and each rewrite between them."""

    raw: str
    text: str
    rewrites: tuple[Rewrite, ...]

    def highlights(self) -> list[tuple[str, str | None]]:
        """The output text as (segment, kind or None) pairs, for a highlighted-text view."""
        out: list[tuple[str, str | None]] = []
        pos = 0
        for r in self.rewrites:
            if r.out_start > pos:
                out.append((self.text[pos:r.out_start], None))
            out.append((r.spoken if r.spoken else f"[{r.source} removed]", r.kind))
            pos = r.out_end
        if pos < len(self.text):
            out.append((self.text[pos:], None))
        return out


def _words(n: int | float, to: str = "cardinal") -> str:
    from num2words import num2words  # small, but only needed when there are digits

    # num2words writes "one thousand, two hundred"; the comma would become a pause.
    return num2words(n, to=to).replace(",", "")


def _number(raw: str) -> str:
    """'1,234.5' -> 'one thousand, two hundred and thirty-four point five'."""
    clean = raw.replace(",", "")
    if "." in clean:
        whole, frac = clean.split(".", 1)
        head = _words(int(whole or "0"))
        return head + " point " + " ".join(_words(int(d)) for d in frac)
    return _words(int(clean))


def _currency(symbol: str, amount: str, scale: str | None) -> str:
    one, many, cent, cents = CURRENCIES[symbol]
    clean = amount.replace(",", "")
    if scale:
        return f"{_number(clean)} {SCALES[scale.lower()]} {many}"
    whole, _, frac = clean.partition(".")
    units = int(whole or "0")
    sub = int((frac + "00")[:2]) if frac else 0
    parts = []
    if units or not sub:
        parts.append(f"{_words(units)} {one if units == 1 else many}")
    if sub:
        parts.append(f"{_words(sub)} {cent if sub == 1 else cents}")
    return " and ".join(parts)


def _year(y: int) -> str:
    return _words(y, to="year")


def _date(month: int, day: int, year: str) -> str | None:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    y = int(year)
    if len(year) == 2:
        y += 2000 if y < 50 else 1900
    return f"{MONTHS[month - 1]} {_words(day, to='ordinal')}, {_year(y)}"


def _time(hour: int, minute: int, ampm: str | None) -> str | None:
    if hour > 23 or minute > 59:
        return None
    if minute == 0:
        spoken = f"{_words(hour)} o'clock" if not ampm else _words(hour)
    elif minute < 10:
        spoken = f"{_words(hour)} oh {_words(minute)}"
    else:
        spoken = f"{_words(hour)} {_words(minute)}"
    if ampm:
        spoken += " a m" if ampm.lower().startswith("a") else " p m"
    return spoken


_PATTERN = re.compile(
    r"(?P<currency>(?P<cur>[$€£¥])\s?(?P<amount>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?:\s?(?P<scale>k|m|bn|thousand|million|billion|trillion)\b)?)"
    r"|(?P<date>\b(?P<d1>\d{1,2})/(?P<d2>\d{1,2})/(?P<d3>\d{4}|\d{2})\b)"
    r"|(?P<isodate>\b(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})\b)"
    r"|(?P<time>\b(?P<hh>\d{1,2}):(?P<mm>\d{2})(?:\s?(?P<ampm>(?i:[ap]\.?m\.?))(?![a-zA-Z]))?)"
    r"|(?P<hour>\b(?P<h2>\d{1,2})\s?(?P<ampm2>(?i:[ap]\.?m\.?))(?![a-zA-Z]))"
    r"|(?P<ordinal>\b(?P<ord>\d+)(?:st|nd|rd|th)\b)"
    r"|(?P<percent>(?P<pct>\d+(?:\.\d+)?)\s?%)"
    r"|(?P<number>(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|(?<![\w])\d+(?:\.\d+)?(?![\d]))"
    r"|(?P<title>\b(?:Dr|St)\.)"
    r"|(?P<abbr>" + "|".join(
        (r"(?<!\w)" if k[0].isalpha() else "") + re.escape(k) for k in sorted(ABBREVIATIONS, key=len, reverse=True)
    ) + r")"
)


def _is_symbol(ch: str) -> bool:
    """Emoji and pictographs: nothing a voice can say."""
    cat = unicodedata.category(ch)
    return cat in ("So", "Sk", "Cs", "Co") or ch in "\u200d\ufe0f\ufe0e"


def _rewrite(m: re.Match, raw: str) -> tuple[str, str] | None:
    """(kind, spoken) for one match, or None to leave it as written."""
    g = m.group
    if g("currency"):
        return "currency", _currency(g("cur"), g("amount"), g("scale"))
    if g("date"):
        spoken = _date(int(g("d1")), int(g("d2")), g("d3"))
        if spoken is None:  # not a date: read the numbers
            return "number", " slash ".join(_number(g(k)) for k in ("d1", "d2", "d3"))
        return "date", spoken
    if g("isodate"):
        spoken = _date(int(g("im")), int(g("id")), g("iy"))
        return ("date", spoken) if spoken else None
    if g("time"):
        spoken = _time(int(g("hh")), int(g("mm")), g("ampm"))
        if spoken is None:  # not a time of day: read the numbers
            return "number", f"{_number(g('hh'))} {_number(g('mm'))}"
        if (g("ampm") or "").endswith(".") and re.match(r"\s*$|\s+[A-Z]", raw[m.end():]):
            spoken += "."  # "at 7 p.m. Then": the period also ends the sentence
        return ("time", spoken) if spoken else None
    if g("hour"):
        spoken = _time(int(g("h2")), 0, g("ampm2"))
        if spoken and g("ampm2").endswith(".") and re.match(r"\s*$|\s+[A-Z]", raw[m.end():]):
            spoken += "."
        return ("time", spoken) if spoken else None
    if g("ordinal"):
        return "ordinal", _words(int(g("ord")), to="ordinal")
    if g("percent"):
        return "percent", _number(g("pct")) + " percent"
    if g("number"):
        token = g("number")
        before = raw[: m.start()].rstrip().rsplit(" ", 1)[-1].lower() if raw[: m.start()].strip() else ""
        if re.fullmatch(r"1[1-9]\d\d|20\d\d", token) and before in YEAR_CUES:
            return "year", _year(int(token))
        return "number", _number(token)
    if g("title"):
        title, place = TITLE_OR_PLACE[g("title")]
        after = raw[m.end():]
        if re.match(r"\s+[A-Z]", after):
            return "abbreviation", title
        # "Main St." at the end of a sentence: the period also ends the sentence.
        return "abbreviation", place + ("." if not after.strip() or re.match(r"\s+$", after) else "")
    if g("abbr"):
        return "abbreviation", ABBREVIATIONS[g("abbr")]
    return None


def normalize(raw: str) -> Normalized:
    """Rewrite numbers, ordinals, dates, times, currency, percentages and abbreviations as words,
    and drop emoji and other pictographic symbols. Whitespace runs collapse to one space."""
    rewrites: list[Rewrite] = []
    out: list[str] = []
    out_len = 0
    pos = 0

    def emit(piece: str) -> None:
        nonlocal out_len
        out.append(piece)
        out_len += len(piece)

    def plain(segment: str, offset: int) -> None:
        # Copy text through, dropping symbols (each run recorded as one rewrite).
        i = 0
        while i < len(segment):
            if _is_symbol(segment[i]):
                j = i
                while j < len(segment) and (_is_symbol(segment[j]) or segment[j] == " " and j + 1 < len(segment)
                                            and _is_symbol(segment[j + 1])):
                    j += 1
                rewrites.append(Rewrite("symbol", segment[i:j], "", offset + i, offset + j, out_len, out_len))
                i = j
                continue
            emit(segment[i])
            i += 1

    for m in _PATTERN.finditer(raw):
        result = _rewrite(m, raw)
        if result is None:
            continue
        kind, spoken = result
        plain(raw[pos:m.start()], pos)
        rewrites.append(Rewrite(kind, m.group(0), spoken, m.start(), m.end(), out_len, out_len + len(spoken)))
        emit(spoken)
        pos = m.end()
    plain(raw[pos:], pos)
    text = "".join(out)
    # Collapse whitespace, keeping the rewrites' output spans right.
    collapsed, moved = _collapse(text)
    rewrites = [Rewrite(r.kind, r.source, r.spoken, r.start, r.end, moved(r.out_start), moved(r.out_end))
                for r in rewrites]
    return Normalized(raw=raw, text=collapsed, rewrites=tuple(rewrites))


def _collapse(text: str):
    """Whitespace runs -> one space, trimmed; returns the text and a function old offset -> new offset."""
    new_index = []
    out = []
    prev_space = True  # trims leading whitespace
    for ch in text:
        new_index.append(len(out))
        if ch.isspace():
            if prev_space:
                continue
            out.append(" ")
            prev_space = True
        else:
            out.append(ch)
            prev_space = False
    new_index.append(len(out))
    while out and out[-1] == " ":
        out.pop()
    n = len(out)
    return "".join(out), lambda i: min(new_index[i], n)
