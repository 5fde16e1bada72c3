"""Text normalization: exact spoken forms, and each rewrite recorded where it happened."""
from __future__ import annotations

import pytest

from core.tts.textnorm import normalize


@pytest.mark.parametrize("raw,spoken", [
    ("Dr. Smith won 1st place on 3/4/2025 for $5.50",
     "Doctor Smith won first place on March fourth, twenty twenty-five for five dollars and fifty cents"),
    ("Dr. Smith paid $5.50 on May 3rd", "Doctor Smith paid five dollars and fifty cents on May third"),
    ("Meet me at 10:30 pm on St. Patrick's day.", "Meet me at ten thirty p m on Saint Patrick's day."),
    ("She lives at 5 Main St.", "She lives at five Main Street."),
    ("The train leaves at 7:05.", "The train leaves at seven oh five."),
    ("Lunch at 12:00 then.", "Lunch at twelve o'clock then."),
    ("It costs $1.01, or €3, or £2m.", "It costs one dollar and one cent, or three euros, or two million pounds."),
    ("50% of 1,234 people", "fifty percent of one thousand two hundred and thirty-four people"),
    ("Pi is 3.14", "Pi is three point one four"),
    ("Built in 1999 by Mr. & Mrs. Jones", "Built in nineteen ninety-nine by Mister and Missus Jones"),
    ("Due 2020-01-15, e.g. soon", "Due January fifteenth, twenty twenty, for example soon"),
    ("She came 21st", "She came twenty-first"),
    ("I 😀 love it 🎉", "I love it"),
    ("No digits here.", "No digits here."),
])
def test_spoken_forms(raw, spoken):
    assert normalize(raw).text == spoken


def test_rewrites_point_at_both_texts():
    n = normalize("Dr. Smith won 1st place on 3/4/2025 for $5.50")
    assert [r.kind for r in n.rewrites] == ["abbreviation", "ordinal", "date", "currency"]
    for r in n.rewrites:
        assert n.raw[r.start:r.end] == r.source
        assert n.text[r.out_start:r.out_end] == r.spoken
    # highlights cover the whole output text, in order
    assert "".join(seg for seg, _ in n.highlights()) == n.text


def test_symbols_are_recorded_as_removed():
    n = normalize("ok 😀 fine")
    assert [(r.kind, r.source, r.spoken) for r in n.rewrites] == [("symbol", "😀", "")]
    assert ("[😀 removed]", "symbol") in n.highlights()


def test_impossible_dates_and_times_stay_as_numbers():
    assert normalize("13/45/2020").text == "thirteen slash forty-five slash two thousand and twenty"
    assert normalize("25:99").text == "twenty-five ninety-nine"
