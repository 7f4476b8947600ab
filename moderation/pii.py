"""Personal data in free text: マイナンバー, phone numbers, e-mail, postal codes, addresses, cards.

Every detector searches the NFKC copy (``Normalized.text``), where full-width digits, letters and
punctuation are already ASCII, and reports spans of the *original* text through
``Normalized.span``.

Two rules keep this safe to run on anything a visitor types:

* every pattern is linear: quantifiers are bounded or run over a class that cannot also match what
  follows, and candidates are checked in Python with bounded work each, so a megabyte of digits,
  hyphens or ``@`` costs a single pass;
* nothing found is ever put into ``detail``, an exception or a log: details are fixed words such
  as ``"mobile"`` or ``"context"``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
from phonenumbers import PhoneNumberType

from moderation.findings import Finding, Kind
from moderation.normalize import Normalized

__all__ = [
    "find_personal_data",
    "is_valid_my_number",
    "luhn_valid",
    "my_number_check_digit",
]

_ASCII_DIGITS = frozenset("0123456789")

# --- check digits -----------------------------------------------------------------------------

# Q_n for n = 1..11 (n counts from the right of the first 11 digits): n + 1 up to 6, then n - 5.
_MY_NUMBER_WEIGHTS = tuple(n + 1 if n <= 6 else n - 5 for n in range(1, 12))


def _is_ascii_digits(s: str) -> bool:
    # str.isdigit() alone accepts "１" and "²"; the check digits are defined on ASCII digits.
    return s.isascii() and s.isdigit()


def my_number_check_digit(first_11_digits: str) -> int:
    """The My Number check digit (番号法施行令 / 総務省令) for the first 11 digits."""
    if len(first_11_digits) != 11 or not _is_ascii_digits(first_11_digits):
        # the message never repeats the argument: it may be most of somebody's My Number
        raise ValueError("expected exactly 11 ASCII digits")
    total = 0
    for weight, ch in zip(_MY_NUMBER_WEIGHTS, reversed(first_11_digits), strict=True):
        total += (ord(ch) - 48) * weight
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_valid_my_number(digits: str) -> bool:
    """True if ``digits`` is exactly 12 ASCII digits whose last one is the My Number check digit."""
    if len(digits) != 12 or not _is_ascii_digits(digits):
        return False
    return my_number_check_digit(digits[:11]) == ord(digits[11]) - 48


def luhn_valid(digits: str) -> bool:
    """True if ``digits`` (ASCII digits only, at least two) passes the Luhn check."""
    if len(digits) < 2 or not _is_ascii_digits(digits):
        return False
    total = 0
    for index, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if index % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# --- character classes (of the NFKC text) ----------------------------------------------------

# NFKC keeps these dashes as they are (only U+2011 and U+FF0D change, to U+2010 and "-"); the
# long-vowel mark ー is what many people type between full-width digits.
_HYPHENS = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc"
_HYPHEN_SET = frozenset(_HYPHENS)
_H = "[" + _HYPHENS.replace("-", r"\-") + "]"
_H_OR_DOT = "[." + _HYPHENS.replace("-", r"\-") + "]"
# one separator allowed between any two digits of a My Number or card
_SEP = "[ ." + _HYPHENS.replace("-", r"\-") + "]"
_H_OR_DOT_SET = frozenset("." + _HYPHENS)
_CARD_SEP = "[ " + _HYPHENS.replace("-", r"\-") + "]"

_DIGIT_RE = re.compile(r"[0-9]")
_DELETE_DIGITS = str.maketrans("", "", "0123456789")
_DIGIT_RUN_RE = re.compile(r"[0-9]+")

# --- マイナンバー ------------------------------------------------------------------------------

# 12 digits, at most one separator between two of them, not inside a longer run of digits (with or
# without separators) and not after "+" (so "+81 90 1234 5678" stays a phone number).
_MY_NUMBER_RE = re.compile(
    rf"[0-9](?<![0-9+][0-9])(?<![0-9]{_SEP}[0-9])(?:{_SEP}?[0-9]){{11}}(?![0-9])(?!{_SEP}[0-9])"
)
_MY_NUMBER_CONTEXT_RE = re.compile(
    r"マイナンバー|個人番号|my[ \-]?number|individual[ \-]number", re.IGNORECASE
)
_CONTEXT_WINDOW = 20


def _digits_of(text: str, start: int, end: int) -> str:
    return "".join(_DIGIT_RUN_RE.findall(text, start, end))


def _my_numbers(text: str, add: _Add) -> None:
    for m in _MY_NUMBER_RE.finditer(text):
        if not is_valid_my_number(_digits_of(text, m.start(), m.end())):
            continue
        context = _MY_NUMBER_CONTEXT_RE.search(text, max(0, m.start() - _CONTEXT_WINDOW), m.start())
        if context:
            add(Kind.MY_NUMBER, m.start(), m.end(), "context", 0.99)
        else:
            add(Kind.MY_NUMBER, m.start(), m.end(), "", 0.9)


# --- cards -------------------------------------------------------------------------------------

_CARD_RE = re.compile(
    rf"[0-9](?<![0-9+][0-9])(?<![0-9]{_SEP}[0-9])(?:{_CARD_SEP}?[0-9]){{12,18}}(?![0-9])(?!{_SEP}[0-9])"
)


def _card_brand(digits: str) -> str:
    two, four = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return "visa"
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "mastercard"
    if two in (34, 37):
        return "amex"
    if 3528 <= four <= 3589:
        return "jcb"
    return "card"


def _cards(text: str, add: _Add) -> None:
    for m in _CARD_RE.finditer(text):
        # "4111 1111 1111 1111 2 times": the run may carry a stray group; try the longest
        # group-aligned prefix first (at most a handful of groups, so bounded work).
        groups = list(_DIGIT_RUN_RE.finditer(text, m.start(), m.end()))
        digits = "".join(g.group() for g in groups)
        for k in range(len(groups), 0, -1):
            if k < len(groups):
                digits = digits[: -len(groups[k].group())]
            if len(digits) < 13:
                break
            if luhn_valid(digits):
                add(Kind.CARD, m.start(), groups[k - 1].end(), _card_brand(digits), 0.95)
                break


# --- phone numbers -----------------------------------------------------------------------------

# A candidate starts with "+", "(0" or "0" and is groups of digits joined by one gap: a dash or
# dot, one space, or a bracket with optional spaces ("(03)1234-5678", "03(1234)5678",
# "+81 (0)3-1234-5678"). Groups are bounded and gaps are non-digits, so there is one way to match.
# A national number's first group has two digits at least ("03", "090"), which also keeps
# "0 0 0 0 …" from being a candidate at every zero.
_PHONE_GAP = rf"(?:[ ]?[(][ ]?|[ ]?[)][ ]?|[ ]?{_H}[ ]?|[. ])"
# written after the first character so that re can skip ahead to "+", "(" or "0" quickly; a
# pattern that begins with a lookbehind is tried at every position
_PHONE_START = rf"(?<![0-9+].)(?<![0-9]{_H_OR_DOT}.)"
_PHONE_RE = re.compile(
    rf"(?:\+{_PHONE_START}[0-9]{{1,15}}|\({_PHONE_START}0[0-9]{{1,14}}|0{_PHONE_START}[0-9]{{1,14}})"
    rf"(?:{_PHONE_GAP}[0-9]{{1,15}}){{0,5}}"
)
_PHONE_TYPES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.VOIP: "ip_phone",
    PhoneNumberType.UAN: "navi_dial",  # 0570
    PhoneNumberType.SHARED_COST: "navi_dial",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.PREMIUM_RATE: "premium",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
}


def _jp_number_pattern() -> re.Pattern[str]:
    """One pattern for every kind of Japanese number in phonenumbers' own metadata."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("JP")
    descs = (
        metadata.fixed_line,
        metadata.mobile,
        metadata.toll_free,
        metadata.premium_rate,
        metadata.shared_cost,
        metadata.personal_number,
        metadata.voip,
        metadata.pager,
        metadata.uan,
    )
    patterns = [d.national_number_pattern for d in descs if d and d.national_number_pattern]
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# A fast "certainly not" before number_type(), which tries these patterns one by one in Python:
# digit-heavy junk makes many candidates of the right length, and nearly all fail here.
_JP_NUMBER_RE = _jp_number_pattern()


def _phone_type(digits: str, international: bool) -> str | None:
    """The kind of a valid number (``"mobile"``…), or None when phonenumbers says invalid."""
    national = None
    if not international:
        if digits.startswith("00"):
            return None  # carrier prefixes (0033…), not somebody's number; and cheap to refuse
        national = digits[1:]  # drop the trunk prefix 0
    elif digits.startswith("81"):
        national = digits[3:] if digits[2:3] == "0" else digits[2:]  # "+81 (0)3…"
    if national and national[0] != "0" and not digits.startswith("010"):
        # ("010" is the international call prefix from Japan; parse() knows what follows it.)
        # We already hold the digits, so build the number ourselves: parse() is four fifths of
        # the cost, and number_type() is UNKNOWN exactly when a Japanese number is invalid.
        if _JP_NUMBER_RE.fullmatch(national) is None:
            return None
        number = phonenumbers.PhoneNumber(country_code=81, national_number=int(national))
    else:
        try:
            number = phonenumbers.parse(("+" if international else "") + digits, "JP")
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_valid_number(number):
            return None
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.UNKNOWN:
        return None
    return _PHONE_TYPES.get(kind, "phone")


def _phone_at(text: str, m: re.Match[str]) -> tuple[int, int, str] | None:
    """The longest group-aligned prefix of candidate ``m`` that is a valid number."""
    international = text[m.start()] == "+"
    groups = list(_DIGIT_RUN_RE.finditer(text, m.start(), m.end()))
    digits = "".join(g.group() for g in groups)
    for k in range(len(groups), 0, -1):
        if k < len(groups):
            digits = digits[: -len(groups[k].group())]
        n = len(digits)
        # Japanese national numbers have 10 or 11 digits with the leading 0; E.164 at most 15.
        if n < (8 if international else 10):
            break
        if n > (15 if international else 11):
            continue
        end = groups[k - 1].end()
        after = text[end : end + 2]
        if after[:1] in _ASCII_DIGITS:
            continue  # cut inside a longer run of digits
        if len(after) == 2 and after[0] in _H_OR_DOT_SET and after[1] in _ASCII_DIGITS:
            continue  # "03-1234-5678-9": part of a longer hyphenated number
        kind = _phone_type(digits, international)
        if kind is None:
            continue
        start = m.start()
        if text[start] == "(" and text[groups[0].end() : groups[0].end() + 1] != ")":
            start += 1  # "(090-1234-5678)": the bracket is prose, not part of the number
        return start, end, kind
    return None


def _phones(text: str, add: _Add) -> None:
    pos = 0
    # Junk repeats itself ("03 03 03 …"): remember each candidate's outcome, by its text and the
    # two characters after it (all that _phone_at reads), as offsets from its start. The cache
    # lives for this call only.
    seen: dict[str, tuple[int, int, str] | None] = {}
    while True:
        m = _PHONE_RE.search(text, pos)
        if m is None:
            return
        candidate = m.group()
        # at least 8 digits (E.164 after "+"), 10 for a national number: counted in C, so the
        # many short candidates of digit-heavy junk cost little
        digits = len(candidate) - len(candidate.translate(_DELETE_DIGITS))
        hit = None
        if digits >= (8 if candidate[0] == "+" else 10):
            key = text[m.start() : m.end() + 2]
            if key in seen:
                relative = seen[key]
                if relative is not None:
                    hit = (m.start() + relative[0], m.start() + relative[1], relative[2])
            else:
                hit = _phone_at(text, m)
                seen[key] = (
                    None if hit is None else (hit[0] - m.start(), hit[1] - m.start(), hit[2])
                )
        if hit is None:
            # "〒060-0001 03-1234-5678": a failed candidate may hide a number that starts at a
            # later space-separated group, so search again just after its start.
            pos = m.start() + 1
            continue
        start, end, kind = hit
        add(Kind.PHONE, start, end, kind, 0.95)
        pos = end


# --- e-mail ------------------------------------------------------------------------------------

_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_LOCAL_MAX = 64
# "@", and the ways people spell it to dodge filters: (at) [at] {at} <at>, " at ", あっと, アット
# (every branch starts with a plain character, so that re can skip ahead to the next candidate)
_AT_WORD = r"(?:あっと(?:まーく)?|アット(?:マーク)?) ?"
_AT_BRACKETED = r" ?at ?[)\]}>] ?"
_AT_RE = re.compile(
    rf"@| (?:at |[(\[{{<]{_AT_BRACKETED}|{_AT_WORD})"
    rf"|\({_AT_BRACKETED}|\[{_AT_BRACKETED}|\{{{_AT_BRACKETED}|<{_AT_BRACKETED}|{_AT_WORD}",
    re.IGNORECASE,
)
_DOT = r"(?:\.|[ ]?[(\[{<][ ]?dot[ ]?[)\]}>][ ]?| dot |[ ]?(?:どっと|ドット)[ ]?)"
# labels cannot contain a dot or space, so each repetition ends where its label ends
_DOMAIN_RE = re.compile(
    rf"(?:[A-Za-z0-9\-]{{1,63}}{_DOT}){{1,8}}[A-Za-z]{{2,24}}(?![A-Za-z0-9])", re.IGNORECASE
)
_PLAIN_DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")


def _may_have_email(text: str) -> bool:
    if "@" in text or "あっと" in text or "アット" in text:
        return True
    if "at" not in text and "AT" not in text and "At" not in text:
        return False  # most Japanese posts: no need to lower-case them
    lower = text.lower()
    return any(marker in lower for marker in (" at ", "(at)", "[at]", "{at}", "<at>", "( at )"))


def _emails(text: str, add: _Add) -> None:
    last_end = 0
    for at in _AT_RE.finditer(text):
        if at.start() < last_end:
            continue  # inside the previous address
        # the local part, read backwards from the marker (bounded: at most 64 characters)
        start = at.start()
        limit = max(last_end, start - _LOCAL_MAX)
        while start > limit and text[start - 1] in _LOCAL_CHARS:
            start -= 1
        while start < at.start() and text[start] == ".":
            start += 1
        if start == at.start():
            continue
        domain = _DOMAIN_RE.match(text, at.end())
        if domain is None:
            continue
        plain_domain = _PLAIN_DOMAIN_CHARS.issuperset(domain.group())
        if at.group() == "@" and plain_domain:
            add(Kind.EMAIL, start, domain.end(), "", 0.95)
        elif at.group().lower() == " at " and plain_domain:
            # "look at example.com" is prose; " at " counts only with a spelt-out dot as well
            continue
        else:
            add(Kind.EMAIL, start, domain.end(), "obfuscated", 0.85)
        last_end = domain.end()


# --- postal codes ------------------------------------------------------------------------------

_POSTAL_MARK_RE = re.compile(rf"〒[ :]{{0,2}}[0-9]{{3}}{_H}?[0-9]{{4}}(?![0-9])")
# bare "123-4567": not inside a phone number, a longer number or a code like "AB-123-4567",
# and not a range of prices or counts ("100-1000円", "300-1500人")
_POSTAL_BARE_RE = re.compile(
    rf"[0-9](?<![0-9A-Za-z+¥$€£〒][0-9])(?<![0-9A-Za-z]{_H_OR_DOT}[0-9])[0-9]{{2}}{_H}[0-9]{{4}}"
    rf"(?![0-9])(?!{_H_OR_DOT}[0-9A-Za-z])"
    r"(?![ ]?(?:[円人名個件回本枚台点位倍歳才年月日時分秒%条項]|yen\b|people\b|km\b|kg\b))"
)
_POSTAL_PLAIN_RE = re.compile(r"[0-9](?<![0-9][0-9])[0-9]{6}(?![0-9])")
_POSTAL_CONTEXT_RE = re.compile(
    r"郵便番号|〒|postal[ \-]?code|post[ \-]?code|zip(?:[ \-]?code)?", re.IGNORECASE
)
_POSTAL_WINDOW = 15


def _postal_codes(text: str, add: _Add) -> None:
    for m in _POSTAL_MARK_RE.finditer(text):
        add(Kind.POSTAL_CODE, m.start(), m.end(), "postal_mark", 0.95)
    for pattern in (_POSTAL_BARE_RE, _POSTAL_PLAIN_RE):
        for m in pattern.finditer(text):
            if text[max(0, m.start() - 3) : m.start()].rstrip(" :").endswith("〒"):
                continue  # already reported with its mark
            window = max(0, m.start() - _POSTAL_WINDOW)
            if _POSTAL_CONTEXT_RE.search(text, window, m.start()):
                add(Kind.POSTAL_CODE, m.start(), m.end(), "context", 0.9)
            elif pattern is _POSTAL_BARE_RE:
                add(Kind.POSTAL_CODE, m.start(), m.end(), "bare", 0.6)


# --- addresses ---------------------------------------------------------------------------------

_KANJI_NUMERALS = "〇一二三四五六七八九十"
_COMP = rf"(?:[0-9]{{1,4}}|[{_KANJI_NUMERALS}]{{1,4}})"
# The number part of a Japanese address: components joined by 丁目 / 番地(の) / 番 / の / a dash,
# with an optional last unit. Components and joiners are disjoint, and both repetitions are
# bounded, so a run of "丁目" or "1-" is one short attempt per position.
_ADDRESS_UNIT = "(?:丁目|番地|番|号(?:室)?)"
_ADDRESS_NUMBER_RE = re.compile(
    # one class first so that re skips ahead to it; the lookbehinds only bite after a digit
    rf"[0-9{_KANJI_NUMERALS}](?<![0-9][0-9])(?<![0-9]{_H}[0-9])(?<![0-9][.:,/][0-9])"
    rf"(?:(?<=[0-9])[0-9]{{0,3}}|[{_KANJI_NUMERALS}]{{0,3}})"
    rf"(?:(?:(?:丁目|番地の?|番|の|{_H}){_COMP}){{1,4}}{_ADDRESS_UNIT}?|{_ADDRESS_UNIT})"
)
_COMP_RE = re.compile(rf"[0-9]+|[{_KANJI_NUMERALS}]+")
_ADMIN_UNITS = frozenset("都道府県市区町村郡")
_PLACE_MAX = 24
# words that end a run of kanji before a number without being a place ("第1-2-3条", "結果1-2")
_NOT_PLACE_ENDINGS = (
    "第", "約", "計", "全", "各", "毎", "例", "問", "図", "表", "式", "条", "項", "章", "節", "巻",
    "版", "号", "番", "回", "期", "年", "月", "日", "時", "分", "秒", "間", "率", "比", "差", "点",
    "対", "結果", "得点", "試合", "電話", "品番", "型番", "注文", "価格", "金額", "合計", "会員",
)  # fmt: skip
# counters after "1-2-3" that make it a quantity or a clause, not an address
_COUNTERS = frozenset("人名個件回本枚台点位倍歳才年月日時分秒円%条項章節巻")
# words that introduce an address and are not part of it
_LEAD_WORDS = ("現住所", "所在地", "住所", "在住", "自宅", "本社", "住")
_EN_ADDRESS_RE = re.compile(
    r"[1-9](?<![0-9A-Za-z\-].)[0-9]{0,3}(?:-[0-9]{1,4}){1,3}"
    r",? [A-Z][a-z]{1,20}(?:-(?:cho|machi))?,? [A-Z][a-z]{1,20}-(?:ku|shi|cho|machi|mura|gun)"
    r"(?![A-Za-z])"
    r"|(?:[A-Z](?<![0-9A-Za-z\-].)[a-z]{1,20} |(?<![0-9A-Za-z\-]))"
    r"[0-9]{1,2}-chome(?:,? [0-9]{1,4}(?:-[0-9]{1,4}){0,2})?(?![0-9])"
)
_EN_ADDRESS_HINTS = ("-ku", "-shi", "-cho", "-machi", "-mura", "-gun")  # "-chome" has "-cho"


def _is_place_char(ch: str) -> bool:
    # kanji, katakana (with ー), 々 〇 ヶ: what town names are written in; hiragana is left out
    # because it is mostly particles, and taking it would swallow the sentence before the address
    return "\u4e00" <= ch <= "\u9fff" or "\u30a1" <= ch <= "\u30fc" or ch in "々〇ヶ"


def _place_start(text: str, start: int) -> int:
    """Where the place name before the number part at ``start`` begins (``start`` if none)."""
    i = start
    if i >= 2 and text[i - 1] == " " and _is_place_char(text[i - 2]):
        i -= 1  # "本町 4-5-6"
    taken = 0
    while i > 0 and taken < _PLACE_MAX:
        ch = text[i - 1]
        taken += 1
        if _is_place_char(ch):
            i -= 1
        elif ch in "のが" and i < start and _is_place_char(text[i]) and _is_place_char(text[i - 2]):
            i -= 1  # 丸の内, 霞が関, 自由が丘
        elif ch == " " and i >= 2 and text[i - 2] in _ADMIN_UNITS:
            i -= 1  # "東京都 千代田区 千代田1-1-1"
        elif ch in _ASCII_DIGITS and text[i] in "条線":
            # Sapporo's grid: 北8条西5丁目
            while i > 0 and text[i - 1] in _ASCII_DIGITS and taken < _PLACE_MAX:
                i -= 1
                taken += 1
        else:
            break
    while i < start and text[i] == " ":
        i += 1
    place = text[i:start]
    for word in _LEAD_WORDS:
        at = place.rfind(word)
        if at >= 0 and at + len(word) < len(place.rstrip()):
            i += at + len(word)
            place = text[i:start]
    return i


def _address_at(text: str, m: re.Match[str]) -> tuple[int, int, str, float] | None:
    """Judge one number part: an address (start, end, detail, confidence) or None."""
    part = m.group()
    end = m.end()
    after = text[end : end + 2]
    if after and after[0] in _HYPHEN_SET and after[1:2] in _ASCII_DIGITS and len(after) == 2:
        return None  # "1-2-3-4-5-6": part of a longer number
    comps = _COMP_RE.findall(part)
    start = _place_start(text, m.start())
    place = text[start : m.start()].rstrip()
    has_admin = any(ch in _ADMIN_UNITS for ch in place)
    place_ok = len(place) >= 2 and not place.endswith(_NOT_PLACE_ENDINGS)
    if all(not c.isascii() for c in comps) and not place_ok:
        return None  # "一丁目一番地" is also an idiom ("the top priority"); want a town name
    if "丁目" in part:
        if len(comps) >= 2 or has_admin:
            return start, end, "chome", 0.85
        return None
    if "番" in part:
        if "番地" in part and (len(comps) >= 2 or place_ok):
            return start, end, "banchi", 0.8
        # "2番3号", or "中央2番3": 番 must join two numbers ("3番線", "1番2番" are not addresses)
        joined = "番地" not in part and len(comps) >= 2 and not part.endswith("番")
        if joined and ("号" in part or place_ok):
            return start, end, "banchi", 0.8
        return None
    # "中央1-2-3": dashes only; needs a place name right before it and no counter after it
    if any(not c.isascii() for c in comps) or comps[0][0] == "0" or len(comps) < 2:
        return None
    if "の" in part or not place_ok or after[:1] in _COUNTERS:
        return None
    if len(comps) == 2 and (not has_admin or len(comps[0]) > 4):
        return None
    if len(comps) >= 3 and len(comps[0]) > 3:
        return None
    return start, end, "hyphen", 0.7


def _may_have_address(text: str) -> bool:
    # without digits only kanji numerals remain: 中央一丁目, 三番地
    return "丁目" in text or "番" in text


def _addresses(text: str, add: _Add, digits: int) -> None:
    if digits >= 2 or "丁目" in text or "番" in text:
        for m in _ADDRESS_NUMBER_RE.finditer(text):
            hit = _address_at(text, m)
            if hit is not None:
                add(Kind.ADDRESS, *hit)
    if digits and "-" in text and any(hint in text for hint in _EN_ADDRESS_HINTS):
        for m in _EN_ADDRESS_RE.finditer(text):
            add(Kind.ADDRESS, m.start(), m.end(), "romaji", 0.7)


# --- putting it together -----------------------------------------------------------------------

_Add = Callable[[Kind, int, int, str, float], None]

# Which finding survives when two overlap: lower wins, then the longer one.
_PRIORITY = {
    Kind.MY_NUMBER: 0,
    Kind.CARD: 0,
    Kind.EMAIL: 1,
    Kind.PHONE: 2,
    Kind.ADDRESS: 3,
    Kind.POSTAL_CODE: 4,
}


def _count_digits(text: str) -> int:
    if _DIGIT_RE.search(text) is None:
        return 0
    return sum(map(text.count, "0123456789"))


def find_personal_data(norm: Normalized) -> list[Finding]:
    """Personal data in ``norm``: findings with spans of the original text, sorted, disjoint."""
    text = norm.text
    found: list[Finding] = []

    def add(kind: Kind, start: int, end: int, detail: str, confidence: float) -> None:
        first, last = norm.span(start, end)
        if first < last:
            found.append(Finding(kind, first, last, detail, confidence))

    digits = _count_digits(text)
    # cheap gates first: most posts have no digits and no "@", and then only addresses written
    # with kanji numerals ("中央一丁目") are possible
    if digits >= 7:
        if digits >= 12:
            _my_numbers(text, add)
        if digits >= 13:
            _cards(text, add)
        if digits >= 8:
            _phones(text, add)
        _postal_codes(text, add)
    if _may_have_email(text):
        _emails(text, add)
    if digits or _may_have_address(text):
        _addresses(text, add, digits)
    if len(found) < 2:
        return found
    return _disjoint(found, len(norm.original))


def _disjoint(found: list[Finding], length: int) -> list[Finding]:
    """Keep the winners of overlapping findings (by priority, then length), sorted by start."""
    found.sort(key=lambda f: (_PRIORITY.get(f.kind, 9), f.start - f.end, f.start))
    taken = bytearray(length)
    kept: list[Finding] = []
    for f in found:
        # bytearray.find runs in C; the total work is bounded by the lengths of the findings
        if taken.find(1, f.start, f.end) >= 0:
            continue
        taken[f.start : f.end] = b"\x01" * (f.end - f.start)
        kept.append(f)
    kept.sort(key=lambda f: f.start)
    return kept
