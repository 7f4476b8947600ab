"""Personal-data detection: My Number check digits, a labelled corpus, properties, hostile input."""

from __future__ import annotations

import json
import random
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moderation.findings import Finding, Kind
from moderation.normalize import nfkc
from moderation.pii import (
    find_personal_data,
    is_valid_my_number,
    luhn_valid,
    my_number_check_digit,
)
from tests.moderation.pii_corpus import ENGLISH, JAPANESE, NEGATIVE, POSITIVE

BLNS = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "naughty-strings" / "blns.json"


def scan(text: str) -> list[Finding]:
    return find_personal_data(nfkc(text))


def spans(text: str, kind: Kind) -> set[tuple[int, int]]:
    return {(f.start, f.end) for f in scan(text) if f.kind == kind}


# --- check digits ------------------------------------------------------------------------------


def test_my_number_check_digit_known_values() -> None:
    # worked by hand: sum(P_n * Q_n) = 212 for 12345678901, 212 % 11 = 3, 11 - 3 = 8
    assert my_number_check_digit("12345678901") == 8
    assert is_valid_my_number("123456789018")
    assert not is_valid_my_number("123456789014")
    assert my_number_check_digit("00000000000") == 0  # remainder 0 → 0


def test_my_number_check_digit_matches_the_formula() -> None:
    rng = random.Random(7)
    for _ in range(1000):
        body = "".join(rng.choice("0123456789") for _ in range(11))
        total = sum(int(body[11 - n]) * (n + 1 if n <= 6 else n - 5) for n in range(1, 12))
        remainder = total % 11
        assert my_number_check_digit(body) == (0 if remainder <= 1 else 11 - remainder)


@pytest.mark.parametrize(
    "bad", ["", "1234567890", "123456789012", "１２３４５６７８９０１", "1234567890a"]
)
def test_my_number_check_digit_rejects_bad_input_without_echoing_it(bad: str) -> None:
    with pytest.raises(ValueError) as error:
        my_number_check_digit(bad)
    assert not bad or bad not in str(error.value)


@pytest.mark.parametrize(
    "digits",
    ["12345678901", "1234567890180", "12345678901４", "1234 5678 9018", "", "²23456789018"],
)
def test_is_valid_my_number_wants_exactly_12_ascii_digits(digits: str) -> None:
    assert not is_valid_my_number(digits)


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("")
    assert not luhn_valid("4111 1111 1111 1111")
    assert not luhn_valid("４１１１１１１１１１１１１１１１")


# --- 50,000 My Numbers -------------------------------------------------------------------------

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
SEPARATORS = [" ", "-", "‐", "‑", "–", "—", "−", "ー", ".", "－", "　", "．"]


def _plain(d: str, rng: random.Random) -> str:
    return d


def _spaced(d: str, rng: random.Random) -> str:
    return f"{d[:4]} {d[4:8]} {d[8:]}"


def _hyphenated(d: str, rng: random.Random) -> str:
    return f"{d[:4]}-{d[4:8]}-{d[8:]}"


def _full_width(d: str, rng: random.Random) -> str:
    return d.translate(FULL_WIDTH)


def _mixed(d: str, rng: random.Random) -> str:
    out = []
    for index, ch in enumerate(d):
        if index and rng.random() < 0.35:
            out.append(rng.choice(SEPARATORS))
        out.append(ch.translate(FULL_WIDTH) if rng.random() < 0.5 else ch)
    return "".join(out)


LAYOUTS: dict[str, Callable[[str, random.Random], str]] = {
    "plain": _plain,
    "spaced": _spaced,
    "hyphenated": _hyphenated,
    "full_width": _full_width,
    "mixed": _mixed,
}
TEMPLATES = [
    ("マイナンバーは", "です。"),
    ("個人番号：", "\n"),
    ("番号", "を記入しました。"),
    ("私のは ", " だよ。"),
    ("My number is ", ". "),
    ("ID: ", " thanks. "),
    ("(mynumber ", ") "),
]
PER_TEXT = 50  # numbers per text: one call checks many, so 50,000 checks stay fast


def _valid_numbers(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    numbers = []
    for _ in range(count):
        body = f"{rng.randrange(10**11):011d}"
        numbers.append(body + str(my_number_check_digit(body)))
    return numbers


def _wrong_check_digit(number: str, rng: random.Random) -> str:
    return number[:11] + str((int(number[11]) + rng.randrange(1, 10)) % 10)


def _texts(
    numbers: list[str], layout: Callable[[str, random.Random], str], seed: int
) -> list[tuple[str, list[tuple[int, int]]]]:
    """Texts of PER_TEXT sentences, each with one number, and the numbers' spans."""
    rng = random.Random(seed)
    texts = []
    for first in range(0, len(numbers), PER_TEXT):
        parts: list[str] = []
        where: list[tuple[int, int]] = []
        length = 0
        for number in numbers[first : first + PER_TEXT]:
            before, after = rng.choice(TEMPLATES)
            shown = layout(number, rng)
            start = length + len(before)
            where.append((start, start + len(shown)))
            sentence = before + shown + after
            parts.append(sentence)
            length += len(sentence)
        texts.append(("".join(parts), where))
    return texts


@pytest.mark.parametrize("layout", LAYOUTS)
def test_ten_thousand_valid_my_numbers_per_layout(layout: str) -> None:
    numbers = _valid_numbers(seed=2024 + list(LAYOUTS).index(layout), count=10_000)
    missed = 0
    for text, expected in _texts(numbers, LAYOUTS[layout], seed=1):
        found = spans(text, Kind.MY_NUMBER)
        missed += len(set(expected) - found)
        assert found <= set(expected), f"{layout}: a my_number span that is not one of ours"
    assert missed == 0, f"{layout}: {missed} of 10,000 valid My Numbers missed"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_wrong_check_digit_is_never_a_my_number(layout: str) -> None:
    rng = random.Random(99)
    numbers = [_wrong_check_digit(n, rng) for n in _valid_numbers(seed=5, count=10_000)]
    assert not any(is_valid_my_number(n) for n in numbers)
    for text, _ in _texts(numbers, LAYOUTS[layout], seed=2):
        assert not spans(text, Kind.MY_NUMBER)


def test_my_number_context_and_detail() -> None:
    text = "マイナンバーは 1234 5678 9018 です"
    [finding] = scan(text)
    assert (finding.kind, finding.detail, finding.confidence) == (Kind.MY_NUMBER, "context", 0.99)
    [plain] = scan("番号 1234 5678 9018 です")
    assert plain.detail == "" and plain.confidence < finding.confidence
    for f in scan("123456789018 and individual number 123456789018"):
        assert "123456789018" not in f.detail


@pytest.mark.parametrize(
    "text",
    [
        "1234567890180",  # part of a longer run
        "01234567890185",
        "1-234567890180",
        "+81 1234 5678 9018",  # after "+": a phone number's shape
    ],
)
def test_my_number_not_inside_longer_numbers(text: str) -> None:
    assert not spans(text, Kind.MY_NUMBER)


# --- other kinds -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("カード4111 1111 1111 1111で", "visa"),
        ("card 5555-5555-5555-4444.", "mastercard"),
        ("amex 378282246310005", "amex"),
        ("JCB 3530111333300000", "jcb"),
        ("4111 1111 1111 1111 2 times", "visa"),  # a stray group after the number
    ],
)
def test_cards(text: str, detail: str) -> None:
    [finding] = [f for f in scan(text) if f.kind == Kind.CARD]
    assert finding.detail == detail
    assert luhn_valid("".join(ch for ch in text[finding.start : finding.end] if ch.isdigit()))


def test_phone_details() -> None:
    kinds = {
        "03-1234-5678": "fixed",
        "090-1234-5678": "mobile",
        "050-1234-5678": "ip_phone",
        "0120-123-456": "toll_free",
        "0570-064-123": "navi_dial",
    }
    for number, detail in kinds.items():
        [finding] = scan(f"電話 {number} まで")
        assert (finding.kind, finding.detail) == (Kind.PHONE, detail)


def test_overlaps_resolved() -> None:
    # the phone-shaped digits inside an address are part of the e-mail
    text = "mail taro0312345678@example.jp"
    assert [(f.kind, text[f.start : f.end]) for f in scan(text)] == [
        (Kind.EMAIL, "taro0312345678@example.jp")
    ]
    # "(011)211-2111" holds a bare "211-2111": the phone wins
    text = "札幌 (011)211-2111"
    assert [(f.kind, text[f.start : f.end]) for f in scan(text)] == [(Kind.PHONE, "(011)211-2111")]


def test_details_never_hold_the_data() -> None:
    for sentence, labels in POSITIVE:
        for finding in scan(sentence):
            for substring, _ in labels:
                assert substring not in finding.detail


# --- the labelled corpus -----------------------------------------------------------------------


def test_corpus_size() -> None:
    assert len(JAPANESE) >= 60
    assert len(ENGLISH) >= 30
    assert len(NEGATIVE) >= 40
    for sentence, labels in POSITIVE:
        for substring, kind in labels:
            assert substring in sentence, (sentence, substring)
            assert Kind(kind) in {Kind.PHONE, Kind.EMAIL, Kind.POSTAL_CODE, Kind.ADDRESS}


def test_corpus_recall_and_precision(capsys: pytest.CaptureFixture[str]) -> None:
    expected: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    missed: list[tuple[str, str, str]] = []
    unexpected: list[tuple[str, str, str]] = []
    for sentence, labels in POSITIVE:
        found = {(f.kind.value, f.start, f.end) for f in scan(sentence)}
        wanted = set()
        for substring, kind in labels:
            start = sentence.index(substring)
            item = (kind, start, start + len(substring))
            wanted.add(item)
            expected[kind] += 1
            if item in found:
                hit[kind] += 1
            else:
                missed.append((sentence, substring, kind))
        unexpected += [(sentence, sentence[s:e], k) for k, s, e in found - wanted]
    recall = {kind: hit[kind] / expected[kind] for kind in sorted(expected)}
    with capsys.disabled():
        print("\npersonal-data corpus recall:", {k: f"{v:.3f}" for k, v in recall.items()})
        print(f"  ({len(JAPANESE)} Japanese, {len(ENGLISH)} English, {len(NEGATIVE)} negative)")
    for kind in ("phone", "email", "postal_code", "address"):
        assert recall[kind] == 1.0, [m for m in missed if m[2] == kind]
    assert not unexpected  # precision 1.0 on the positive sentences too


@pytest.mark.parametrize("sentence", NEGATIVE)
def test_negatives_have_no_findings(sentence: str) -> None:
    assert scan(sentence) == []


def test_negative_twelve_digit_numbers_really_are_not_my_numbers() -> None:
    for digits in ("123456789012", "987654321098", "202412345678"):
        assert not is_valid_my_number(digits)
    assert not luhn_valid("1234567890123456")
    assert not luhn_valid("0312345678901")


# --- properties --------------------------------------------------------------------------------


def _well_formed(text: str, findings: list[Finding]) -> None:
    previous_end = 0
    for f in findings:
        assert 0 <= f.start < f.end <= len(text)
        assert f.start >= previous_end  # sorted and disjoint
        previous_end = f.end


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text(text: str) -> None:
    _well_formed(text, scan(text))


_DIGITISH = st.text(alphabet="0123456789０１２３ -ー.+()@〒丁目番地号atド", max_size=60)


@settings(max_examples=300, deadline=None)
@given(_DIGITISH)
def test_any_digit_soup(text: str) -> None:
    _well_formed(text, scan(text))


def _neutral(ch: str) -> bool:
    # characters that cannot join the inserted item: no digits, ASCII letters or the punctuation
    # phones and addresses are written with, even after NFKC
    folded = unicodedata.normalize("NFKC", ch)
    return not any(c.isdigit() or (c.isascii() and c.isalnum()) or c in "@+._%-" for c in folded)


NEUTRAL_TEXT = st.text(alphabet=st.characters(codec="utf-8").filter(_neutral), max_size=40)


@st.composite
def phone_numbers(draw: st.DrawFn) -> str:
    shape = draw(st.sampled_from(["mobile", "tokyo", "plus", "plain", "full_width"]))
    prefix = draw(st.sampled_from(["090", "080", "070"]))
    a = draw(st.integers(1000, 9999))
    b = draw(st.integers(0, 9999))
    if shape == "tokyo":
        number = f"03-{draw(st.integers(3000, 6999))}-{b:04d}"
    elif shape == "plus":
        number = f"+81 {prefix[1:]} {a} {b:04d}"
    elif shape == "plain":
        number = f"{prefix}{a}{b:04d}"
    else:
        number = f"{prefix}-{a}-{b:04d}"
    if shape == "full_width":
        number = number.translate(FULL_WIDTH).replace("-", "－")
    return number


def test_generated_phones_are_valid() -> None:
    # the strategy's shapes are all valid numbers, so a miss below is the detector's fault
    for number in ("090-1000-0000", "03-3000-0000", "+81 70 9999 9999", "08012340000"):
        assert phonenumbers.is_valid_number(phonenumbers.parse(number, "JP"))


EMAILS = st.builds(
    "{}{}{}.{}".format,
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._+-", min_size=1, max_size=20).filter(
        lambda s: s.strip(".")[:1].isalnum() and s[-1] != "." and s[0] != "."
    ),
    st.sampled_from(["@", "＠", "(at)", " [at] ", " あっと "]),
    st.from_regex(r"[a-z][a-z0-9]{0,10}(\.[a-z][a-z0-9]{0,10}){0,2}", fullmatch=True),
    st.sampled_from(["jp", "com", "org", "co.jp", "ne.jp"]),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(NEUTRAL_TEXT, st.one_of(phone_numbers(), EMAILS), NEUTRAL_TEXT)
def test_inserted_item_is_found(before: str, item: str, after: str) -> None:
    text = before + item + after
    is_email = any(marker in item for marker in ("at", "@", "＠", "あっと"))
    kind = Kind.EMAIL if is_email else Kind.PHONE
    findings = scan(text)
    _well_formed(text, findings)
    found = {(f.kind, f.start, f.end) for f in findings}
    assert (kind, len(before), len(before) + len(item)) in found


# --- hostile input -----------------------------------------------------------------------------

ADVERSARIAL = {
    "dash": "1-" * 500_000,
    "zeros": "0" * 1_000_000,
    "at": "a@" * 300_000,
    "chome": "丁目" * 300_000,
    "spaced": "1 " * 500_000,
    "plus81": "+81" * 300_000,
    "postal_mark": "〒" * 500_000,
}


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_adversarial_inputs_complete(name: str) -> None:
    text = ADVERSARIAL[name]
    _well_formed(text, scan(text))


def test_a_megabyte_of_mixed_text_completes() -> None:
    rng = random.Random(3)
    pieces = ["本日の説明会にご参加ありがとうございました。", "03-1234-5678", "taro@example.jp"]
    pieces += ["〒100-0001", "東京都千代田区千代田1-1-1", "4111 1111 1111 1111", "2024-01-15"]
    pieces += ["1,234円", " "]
    text = "".join(rng.choice(pieces) for _ in range(80_000))[:1_000_000]
    _well_formed(text, scan(text))


def test_naughty_strings() -> None:
    if not BLNS.exists():
        pytest.fail(f"{BLNS} is missing: the datasets live in ../shared beside the project")
    strings = json.loads(BLNS.read_text(encoding="utf-8"))
    assert len(strings) > 500
    for s in strings:
        _well_formed(s, find_personal_data(nfkc(s)))
