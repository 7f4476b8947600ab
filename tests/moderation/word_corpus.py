"""A labelled corpus for blocked words in context: what a ward reads in its first week.

``ABUSE`` must be refused (threats) and ``INSULTS`` held for a moderator, however they are
spelled; ``CIVIL`` is what residents write about pests, weeds and plans, strongly but civilly,
and must be published. ``bench/moderation_bench.py`` prints the precision and recall of the
seed lists on it; ``tests/moderation/test_scan.py`` holds them to a floor.
"""

from __future__ import annotations

ABUSE = [
    "お前を殺す",
    "死ね",
    "お前なんか死ねばいい",
    "区長を殺してやる",
    "あいつらを殺す",
    "担当者を殺すぞ",
    "職員をぶっ殺す",
    "ｺﾛｼﾃﾔﾙ",
    "殺す",
    "ネズミを殺すようにお前を殺す",
    "区役所を爆破する",
    "I will kill you",
]
INSULTS = [
    "お前はばかだ",
    "担当者はバカ",
    "区長は無能",
    "この税金泥棒め",
    "役立たずの職員",
    "あほか",
    "You are an idiot",
]
CIVIL = [
    "集積所のネズミを殺す薬を撒いてほしい",
    "ゴキブリを殺す薬剤を集合住宅にも配ってください",
    "公園のスズメバチを殺す駆除を早めにお願いします",
    "ドブネズミを殺す業者を区で手配してほしい",
    "カラスを殺すのではなく、ネットで防いでください",
    "蚊を殺すためにボウフラ対策をしてほしい",
    "害虫を殺す消毒を年に二回に増やしてください",
    "空き家のシロアリを殺す費用を補助してほしい",
    "この計画はばかげている",
    "ばかげた計画だと思います。撤回してください",
    "こんな予算の使い方はばかばかしい",
    "ばからしい手続きを減らしてほしい",
    "そればかりは困ります",
    "この案には強く反対します。区民の声を聞いていない",
    "説明会の進め方はひどかった。もっと丁寧にしてください",
    "殺処分ゼロを目指してください",
]
