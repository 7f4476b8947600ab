"""Normalising and splitting free text into content words (Japanese, English, mixed).

Japanese goes through fugashi (MeCab) with unidic-lite: nouns, verbs, adjectives and adjectival
nouns as their dictionary lemma, without numbers, pronouns, dependent words or the few verbs
that carry no topic (する, ある, いる...). Latin-script words are lower-cased English words
without English stop words. Particles and auxiliaries are never content words, so they never
reach a label.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import unicodedata
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from moderation import tagging

CONTENT_POS = {"名詞", "動詞", "形容詞", "形状詞"}
SKIP_POS2 = {"数詞", "非自立可能", "助数詞可能", "助数詞"}
# lemmas that are content words to the dictionary but say nothing about a topic
_JAPANESE_STOP = """
する ある いる なる 思う 言う 良い 無い 出来る 行う 下さる 頂く 貰う 御座る 有る 居る 為る
成る 欲しい 気 方 事 物 所 時 人 皆 様 さん 的 化 等 中 上 下 前 後 今 年 月 日 件 点 感じる
考える 見る 来る 行く 分かる 知る 持つ 使う 入る 出る 聞く 書く 大丈夫 本当 色々 沢山 是非
よう こと もの ところ とき ため ほう みんな どう なに 何 誰 此れ 其れ 彼れ 此処 其処 区 場合
最近 毎日 今回 以前 自分 私 僕 皆さん お願い 問題 必要 状況 対応 まま
多く 全部 全て 一部 半分 殆ど 大半 以上 以下 程度 前後 辺り 他 外 際 為 度 回 頃
"""
JAPANESE_STOP = frozenset(_JAPANESE_STOP.split())
ENGLISH_STOP = frozenset(ENGLISH_STOP_WORDS) | {"please", "thank", "thanks", "like", "want", "just"}
JAPANESE_LETTER = re.compile(
    r"[\u3041-\u3096\u30a1-\u30fa\u30fc\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f々〆]"
)
WHITESPACE = re.compile(r"\s+")
LETTER = re.compile(r"[^\W\d_]")
LATIN_WORD = re.compile(r"[a-z][a-z'’-]*[a-z]|[a-z]")
#: addresses, e-mail addresses and bare domains (a known ending, or any ending followed by a
#: path: example.tokyo/a): never words of a topic ("com", "https", "tokyo")
LINK = re.compile(
    r"(?:https?|ftp)://\S*|www\.\S*|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|jp|info|io|co|biz|me|app|dev|xyz|tokyo|gov"
    r"|edu|int|uk|us|cn|kr|tw|link|site|online|shop|page|ly|html?|php)\b\S*"
    r"|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,24}/\S*",
    re.IGNORECASE,
)
#: parts of a compound noun besides nouns: 接頭辞 (お, 再), 接尾辞-名詞的 (場, 車, 性)
PREFIX, SUFFIX = "接頭辞", "接尾辞"
#: marks, in a text's phrases, a whole word inside one of its compounds (not a phrase itself)
PART = "\x1f"


def unlinked(text: str) -> str:
    r"""``text`` with its addresses (LINK) replaced by a space. Every address holds "://", "."
    or "@": a text with none is returned as it is, without the search (whose ``[\w.+-]+@``
    tries every run of letters, Japanese ones too, at each of its starts)."""
    if "." in text or "@" in text or "://" in text:
        return LINK.sub(" ", text)
    return text


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits to ASCII, half-width kana to full) and lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def content_words(
    text: str,
    forms: dict[str, Counter] | None = None,
    phrases: list[str] | None = None,
    parts: bool = True,
) -> list[str]:
    """The topic-bearing words of ``text``, in order, as lemmas (ごみ, ゴミ and 塵 are one).

    ``forms``, when given, counts how each lemma was written, for labels people read;
    ``phrases``, when given, receives the text's phrases as written (``Phrases``), and the
    whole words inside its compounds marked with PART (unless ``parts`` is false).
    MeCab's text output is read directly (surface, readings, lemma, part of speech): building
    a Python object per token costs twice the time of the analysis itself.
    """
    words: list[str] = []
    # NFKC but not lower case: phrases keep the case residents wrote (LED, not led)
    flat = WHITESPACE.sub(" ", unlinked(unicodedata.normalize("NFKC", text)))
    chunker = Phrases(phrases, parts) if phrases is not None else None
    for line in tagging.parse(flat).split("\n"):
        columns = line.split("\t")
        if len(columns) < 5:  # EOS
            continue
        surface, lemma, pos = columns[0], columns[3], columns[4].split("-")
        if chunker is not None:
            chunker.add(surface, lemma, pos)
        if surface.isascii():
            lowered = surface.lower()
            latin = [w for w in LATIN_WORD.findall(lowered) if len(w) > 1 and w not in ENGLISH_STOP]
            words.extend(latin)
            if forms is not None:
                for word in latin:
                    _count(forms, word, word)
            continue
        pos1, pos2 = pos[0], pos[1] if len(pos) > 1 else ""
        if pos1 not in CONTENT_POS or pos2 in SKIP_POS2:
            continue
        if pos2 in ("代名詞", "固有名詞") and pos1 == "名詞" and len(surface) < 2:
            continue
        # unidic lemmas of loan words carry their origin: "ベンチ-bench" → ベンチ
        lemma = (lemma or surface).split("-")[0]
        if lemma and lemma not in JAPANESE_STOP and not lemma.isdigit():
            words.append(lemma)
            if forms is not None:
                # nouns as written (ごみ), verbs and adjectives in their dictionary form
                _count(forms, lemma, surface if pos1 == "名詞" else lemma)
    if chunker is not None:
        chunker.end()
    return words


class Phrases:
    """Phrases as residents wrote them, from MeCab's tokens in order: compound nouns
    (一時預かり, 駐輪場, 粗大ごみ: runs of nouns with their prefixes and suffixes, never cut
    inside a word) and short object–verb phrases (ベンチを増やす: a compound noun, を, the
    verb in its dictionary form). A bare verb or adjective is never a phrase, nor a lone
    stop word (方, こと), a number or a pronoun."""

    def __init__(self, out: list[str], parts: bool = True) -> None:
        self.out = out
        self.parts = parts  # the whole words inside compounds too
        self.run: list[tuple[str, str, str]] = []  # (surface, lemma, pos1) of the noun run
        self.noun = ""  # the last finished compound noun, waiting for を and a verb
        self.wo = False
        self.after_number = False

    def _flush(self) -> None:
        run = self.run
        while run and run[-1][2] == PREFIX:  # a prefix cannot end a noun
            run.pop()
        self.run, self.noun = [], ""
        if not run:
            return
        phrase = "".join(s for s, _, _ in run)
        if len(run) == 1:
            surface, lemma, _ = run[0]
            if lemma in JAPANESE_STOP or surface in JAPANESE_STOP or len(surface) < 2:
                return
        self.out.append(phrase)
        self.noun = phrase
        if not self.parts:
            return
        # the whole words inside it (カラス of カラス対策), marked: they count for this text
        # only where someone wrote them on their own (never 自転 of 自転車 by itself)
        for start in range(len(run)):
            if run[start][2] == SUFFIX:
                continue
            for end in range(start + 1, len(run) + 1):
                if end - start == len(run) or run[end - 1][2] == PREFIX:
                    continue
                part = "".join(s for s, _, _ in run[start:end])
                if len(part) >= 2 and part not in JAPANESE_STOP:
                    self.out.append(PART + part)

    def add(self, surface: str, lemma: str, pos: list[str]) -> None:
        pos1, pos2 = pos[0], pos[1] if len(pos) > 1 else ""
        lemma = (lemma or surface).split("-")[0]
        after_number, self.after_number = self.after_number, pos2 == "数詞" or surface.isdigit()
        if surface.isascii():
            # English: each word that is not a stop word (MeCab calls every Latin word a
            # noun, so runs of them would join "sidewalk near")
            self.end()
            lowered = surface.lower()
            if LATIN_WORD.fullmatch(lowered) and len(lowered) > 2 and lowered not in ENGLISH_STOP:
                self.out.append(surface)
            return
        if after_number and len(pos) > 2 and pos[2] == "助数詞可能":
            self.end()  # ３丁目, ５年: a counter after a number is not a topic
            return
        nominal = (
            (pos1 == "名詞" and pos2 not in ("数詞", "代名詞", "非自立可能", "助数詞"))
            or pos1 == PREFIX
            or (pos1 == SUFFIX and pos2 == "名詞的" and bool(self.run))
        )
        if nominal:
            if self.wo:
                self.wo = False
            self.run.append((surface, lemma, pos1))
            return
        if self.run:
            self._flush()
            # a run just ended: を may follow, then a verb
            if pos1 == "助詞" and surface == "を":
                self.wo = True
                return
        elif self.wo and self.noun and pos1 == "動詞" and pos2 != "非自立可能":
            if lemma not in JAPANESE_STOP:
                self.out.append(f"{self.noun}を{lemma}")
        elif self.noun and pos1 == "助詞" and surface == "を":
            self.wo = True
            return
        self.wo, self.noun = False, ""  # anything else ends a noun–を–verb phrase

    def end(self) -> None:
        if self.run:
            self._flush()
        self.noun, self.wo = "", False


#: from this many texts the words are found by as many processes as there are CPUs (MeCab's
#: analysis is most of the time of a large clustering, and each process has its own tagger)
PARALLEL_FROM = 20_000


def _words_of_chunk(
    texts: list[str], with_phrases: bool = False, parts: bool = True
) -> tuple[list[list[str]], dict[str, Counter], list[list[str]] | None]:
    forms: dict[str, Counter] = {}
    # one object per distinct word: pickled once (its copies as references) and held once
    # by the parent, instead of a string per occurrence (most of a large run's memory)
    same: dict[str, str] = {}
    one = same.setdefault
    if not with_phrases:
        words = [[one(w, w) for w in content_words(t, forms)] for t in texts]
        return words, forms, None
    phrases: list[list[str]] = []
    words = []
    for text in texts:
        found: list[str] = []
        words.append([one(w, w) for w in content_words(text, forms, found, parts)])
        phrases.append([one(p, p) for p in found])
    return words, forms, phrases


def content_words_many(
    texts: list[str],
    forms: dict[str, Counter] | None = None,
    phrases: list[list[str]] | None = None,
    parts: bool = True,
) -> list[list[str]]:
    """``content_words`` of each text (and the forms, merged; with ``phrases``, an empty
    list, each text's phrases appended to it, with the words inside compounds unless
    ``parts`` is false), in several processes for many texts: the same result as one by
    one."""
    workers = min(os.cpu_count() or 1, 8)
    with_phrases = phrases is not None
    if len(texts) < PARALLEL_FROM or workers < 2:
        words, chunk_forms, found = _words_of_chunk(texts, with_phrases, parts)
        done = [(words, chunk_forms, found)]
    else:
        size = -(-len(texts) // workers)
        chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
        # fork: the children start with the tagger's module loaded and leave by os._exit
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(len(chunks), mp_context=context) as pool:
            repeat = [with_phrases] * len(chunks), [parts] * len(chunks)
            done = list(pool.map(_words_of_chunk, chunks, *repeat))
    words = []
    for chunk_words, chunk_forms, chunk_phrases in done:
        words.extend(chunk_words)
        if with_phrases:
            phrases.extend(chunk_phrases)
        if forms is not None:
            for lemma, written in chunk_forms.items():
                forms.setdefault(lemma, Counter()).update(written)
    return words


def _count(forms: dict[str, Counter], lemma: str, written: str) -> None:
    counter = forms.get(lemma)
    if counter is None:
        counter = forms[lemma] = Counter()
    counter[written] += 1


def japanese_share(text: str) -> float:
    """The share of letters in ``text`` that are kana or kanji."""
    letters = len(LETTER.findall(text))
    return len(JAPANESE_LETTER.findall(text)) / letters if letters else 0.0
