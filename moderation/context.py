"""Context for blocked words: what a listed word means in its sentence.

A word list alone cannot tell 「お前を殺す」 (a threat) from 「集積所のネズミを殺す薬」 (pest
control, a ward topic), nor 「ばか」 said of a person from 「この計画はばかげている」 (strong but
civil criticism of a plan). MeCab (fugashi with unidic-lite, as ``analytics`` uses) reads the
sentence: the object of a verb of killing (the noun before を) and the word a match sits in.
Only sentences that hold a listed word are analysed, so the cost is paid by few texts. Without
the tagger, every match stands: context may only make moderation more lenient, never stricter.
"""

from __future__ import annotations

import unicodedata

from moderation import tagging
from moderation.normalize import fold_word

#: verbs of killing, as folded entries start (殺す, 殺してやる, ころす, ぶっころす)
KILLING = ("殺", "ころ", "ぶっころ", "ぶっ殺")
#: what a ward is asked to kill: pests, vermin and weeds; matched on the lemma or the written
#: form of the object, or the end of a compound (ドブネズミ, スズメバチ)
_PESTS = """
鼠 ネズミ ねずみ 溝鼠 二十日鼠 クマネズミ ゴキブリ ごきぶり 蜚蠊 害虫 害獣 害鳥 虫 毛虫 蛆 ウジ
烏 カラス からす 蚊 ボウフラ 孑孑 蜂 ハチ バチ 雀蜂 スズメバチ アシナガバチ 蠅 蝿 ハエ
白蟻 シロアリ 蟻 アリ 蚤 ノミ ダニ 壁蝨 虱 シラミ 南京虫 トコジラミ 百足 ムカデ 蛞蝓 ナメクジ
鳩 ハト ハクビシン アライグマ 蝙蝠 コウモリ 雑草 黴 カビ 菌 細菌 雑菌 ウイルス 外来種
"""
PESTS = frozenset(fold_word(w) for w in _PESTS.split())
#: suffixes that may come between the object and を (ネズミたちを, ゴキブリなどを)
_BETWEEN = frozenset({"達", "等", "など", "なんか", "共", "ども", "類", "ら"})
#: words that hold a listed insult and judge a thing, not a person (ばかげた計画)
CIVIL = frozenset({"馬鹿げる", "馬鹿馬鹿しい", "馬鹿らしい", "阿呆らしい", "阿呆臭い", "馬鹿臭い"})
#: characters read either side of a match
WINDOW = 24
#: matches of one text whose context is read; beyond, every match stands (a text of many
#: listed words is no civil text), and the cost of a scan stays linear
MAX_READ = 32
_FOOLISH = frozenset({"馬鹿", "阿呆"})
_SENTENCE_END = "。．.！!？?\n"


def _tokens(text: str) -> list[tuple[str, str, str, int, int]]:
    """(surface, lemma, part of speech, start, end in ``text``) of each word of ``text``."""
    out = []
    with tagging.tagger() as tagger:  # (its words are read before it goes back)
        if tagger is None:  # no MeCab dictionary: every match stands
            return []
        position = 0
        for word in tagger(text):
            surface = word.surface
            start = text.find(surface, position)
            if start < 0:
                start = position
            position = start + len(surface)
            feature = word.feature
            lemma = (getattr(feature, "lemma", None) or surface).split("-")[0]
            out.append((surface, lemma, getattr(feature, "pos1", "") or "", start, position))
    return out


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of the sentence around ``text[start:end]``, at most WINDOW characters either
    side: the words that decide are close to the match, and the work stays bounded."""
    low, high = max(0, start - WINDOW), min(len(text), end + WINDOW)
    begin = max(text.rfind(c, low, start) for c in _SENTENCE_END) + 1
    stops = [i for c in _SENTENCE_END if (i := text.find(c, end, high)) >= 0]
    return max(begin, low), min(stops) if stops else high


def is_killing(word: str) -> bool:
    """Whether a folded listed word is a verb of killing."""
    return word.startswith(KILLING)


def kills_a_pest(text: str, start: int, end: int) -> bool:
    """Whether the verb of killing at ``text[start:end]`` has a pest as its object
    (「ネズミを殺す」), read from the words before it: a noun, maybe a suffix (たち, など), を."""
    begin, _ = _sentence(text, start, end)
    before = unicodedata.normalize("NFKC", text[begin:start]).rstrip()
    if not before:
        return False
    tokens = _tokens(before)
    if not tokens or tokens[-1][0] not in ("を", "ヲ"):
        return False
    rest = tokens[:-1]
    while rest and (rest[-1][1] in _BETWEEN or rest[-1][0] in _BETWEEN):
        rest = rest[:-1]
    if not rest or rest[-1][2] != "名詞":
        return False
    surface, lemma = fold_word(rest[-1][0]), fold_word(rest[-1][1])
    if surface in PESTS or lemma in PESTS:
        return True
    # the end of a compound noun: ドブネズミ, スズメバチ (never a lone kana: か, あり)
    return any(len(p) >= 2 and surface.endswith(p) for p in PESTS)


def in_civil_word(text: str, start: int, end: int) -> bool:
    """Whether the match ``text[start:end]`` lies inside a word that judges a thing
    (ばかげている, ばかばかしい), not a person."""
    begin, stop = _sentence(text, start, end)
    local_start, local_end = start - begin, end - begin
    tokens = _tokens(text[begin:stop])
    for n, (_surface, lemma, _pos, t_start, t_end) in enumerate(tokens):
        if t_start <= local_start and local_end <= t_end:
            if lemma in CIVIL:
                return True
            # ばからしい, あほらしい: the noun and らしい, "seems foolish", said of a thing
            following = tokens[n + 1][0] if n + 1 < len(tokens) else ""
            return lemma in _FOOLISH and following == "らしい"
    return False
