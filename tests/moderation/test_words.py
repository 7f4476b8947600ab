"""Blocked words survive width, kana, spacing and punctuation tricks, and spare innocent words."""

from __future__ import annotations

import pytest

from moderation import Entry, WordList, default_entries, parse_list


@pytest.fixture(scope="module")
def words() -> WordList:
    return WordList(default_entries())


@pytest.mark.parametrize(
    ("text", "found", "severity"),
    [
        ("お前なんか死ねばいい", "死ね", "reject"),
        ("死　ね", "死　ね", "reject"),
        ("バカじゃないの", "バカ", "hold"),
        ("ばかじゃないの", "ばか", "hold"),
        ("ﾊﾞｶだ", "ﾊﾞｶ", "hold"),
        ("バ・カ", "バ・カ", "hold"),
        ("ば か", "ば か", "hold"),
        ("You are an IDIOT.", "IDIOT", "hold"),
        ("ｉｄｉｏｔ", "ｉｄｉｏｔ", "hold"),
        ("i.d.i.o.t", "i.d.i.o.t", "hold"),
        ("I will kill you", "I will kill", "reject"),
        ("税金 泥棒め", "税金 泥棒", "hold"),
        ("お前を殺す", "殺す", "reject"),
        ("あいつらを殺してやる", "殺してやる", "reject"),
        ("区長を 殺 す", "殺 す", "reject"),
        ("ネズミを見た。お前を殺す", "殺す", "reject"),  # the object is read in its sentence
        ("お前はばかだ", "ばか", "hold"),
    ],
)
def test_blocked_words_are_found(words, text, found, severity):
    findings = words.find(text)
    assert [(text[f.start : f.end], f.detail) for f in findings] == [(found, severity)]


@pytest.mark.parametrize(
    "text",
    [
        "そればかりは困ります",
        "少しねむい",
        "こころすなおに",
        "classic bass",
        "Scunthorpe is a town",  # no such entry, but the boundary rule covers cases like it
        "The skilled idiotic-sounding word idiotically",  # whole words only
        "雪がくずれる",
        "集積所のネズミを殺す薬を撒いてほしい",  # a pest as the object of 殺す
        "ゴキブリなどを殺してやる",
        "ｽｽﾞﾒﾊﾞﾁを殺す業者",
        "この計画はばかげている",  # a plan judged, no person insulted
        "ばかばかしい予算の使い方",
        "",
    ],
)
def test_innocent_text_is_not_flagged(words, text):
    assert words.find(text) == []


def test_staff_lists_and_exceptions():
    entries = parse_list("ひどい\thold\n!ひどいめ\nやめろ\treject\n# comment\n")
    words = WordList(entries)
    assert [f.detail for f in words.find("ひどい話")] == ["hold"]
    assert words.find("ひどいめにあった") == []
    assert [f.detail for f in words.find("ヤメロ")] == ["reject"]
    with pytest.raises(ValueError):
        parse_list("word\tsometimes")


def test_stricter_severity_wins():
    words = WordList([Entry("ひどい", "hold"), Entry("ひどい", "reject")])
    assert words.find("ひどい")[0].detail == "reject"


def test_overlapping_matches_become_one_finding():
    words = WordList([Entry("ばか"), Entry("ばかもの", "reject")])
    findings = words.find("このばかものめ")
    assert len(findings) == 1 and findings[0].detail == "reject"
