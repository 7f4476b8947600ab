"""The ``flask koe`` command group: demo data and account administration."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_babel import force_locale
from sqlalchemy import func, select

from app.account.models import Profile
from app.auth import operations
from app.auth.models import Role, User
from app.auth.passwords import password_problem
from app.consultations import importing, results
from app.consultations import operations as consultation_ops
from app.consultations.importing import import_opinions
from app.consultations.models import Channel, Consultation, Disposition, ReactionKind, State
from app.events import operations as event_ops
from app.events.models import Attendance, Audience, Event, Mode, StreamState
from app.extensions import db
from app.forms import operations as forms_ops
from app.forms.models import FieldKind, FormState, OnlineForm
from app.moderation import operations as moderation_ops
from app.themes import operations as themes_ops
from app.timeutil import TOKYO, as_utc, utcnow

koe = AppGroup("koe", help="Koe administration commands.")

DEMO_PASSWORD = "koe-demo-2026"  # noqa: S105  (printed for the local demo; never in production)
DEMO_USERS = (
    ("admin@demo.koe.example", "管理者 花子", Role.ADMIN),
    ("staff@demo.koe.example", "道路公園課 佐藤", Role.STAFF),
    ("moderator@demo.koe.example", "モデレーター 鈴木", Role.MODERATOR),
    ("resident@demo.koe.example", "区民 田中", Role.RESIDENT),
)
# More staff, each in the ward department whose work they publish; the department decides whose
# form answers a staff member may read (app.forms), so the demo staff's is the survey's.
DEMO_STAFF = (
    ("kodomo@demo.koe.example", "子ども家庭支援課 高橋", Role.STAFF),
    ("kankyo@demo.koe.example", "環境清掃課 伊藤", Role.STAFF),
)
DEMO_DEPARTMENTS = {
    "admin@demo.koe.example": "情報政策課",
    "staff@demo.koe.example": "道路公園課",
    "moderator@demo.koe.example": "広報広聴課",
    "kodomo@demo.koe.example": "子ども家庭支援課",
    "kankyo@demo.koe.example": "環境清掃課",
}
PARKS_DEPARTMENT = "道路公園課"
CHILDCARE_DEPARTMENT = "子ども家庭支援課"
# Residents whose display names give the demo moderator something to decide.
DEMO_HELD_NAMES = (
    ("yamamoto@demo.koe.example", "山本（連絡は090-1111-2222まで）"),
    ("kawada@demo.koe.example", "ばか正直な川田"),
)
# Residents who reacted to the parks opinions (賛成・反対), enough for opinion groups to show
# (app.themes.operations.GROUPS_MIN_PEOPLE); they sign in with the demo password too.
DEMO_PANEL = tuple(
    (f"panel{n:02d}@demo.koe.example", f"区民 {name}")
    for n, name in enumerate(
        ("青木", "石井", "上田", "遠藤", "大野", "小川", "加藤", "木村", "小林", "斎藤", "清水",
         "高田", "中村", "西田"),
        start=1,
    )
)  # fmt: skip


@koe.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when accounts already exist.")
def seed_demo(if_empty: bool) -> None:
    """Create the Japanese demo accounts and content, then print how to sign in."""
    has_users = db.session.scalar(select(func.count()).select_from(User)) > 0
    if not (if_empty and has_users):
        for email, name, role in DEMO_USERS + DEMO_STAFF:
            if operations.find_by_email(email) is None:
                user = operations.create_user(name, email, DEMO_PASSWORD, role)
                user.department = DEMO_DEPARTMENTS.get(email)
                record_name(user)
                if role == Role.RESIDENT:
                    db.session.add(
                        Profile(
                            user=user,
                            full_name="田中 一郎",
                            furigana="たなか いちろう",
                            postal_code="123-4567",
                            address="東京都声区中央一丁目1番1号",
                            phone="03-1234-5678",
                            birth_year=1980,
                            area=current_app.config["WARD_AREAS"][0][0],
                        )
                    )
        for email, name in DEMO_HELD_NAMES + DEMO_PANEL:
            if operations.find_by_email(email) is None:
                record_name(operations.create_user(name, email, DEMO_PASSWORD, Role.RESIDENT))
        if db.session.scalar(select(func.count()).select_from(Consultation)) == 0:
            seed_consultations()
        if db.session.scalar(select(func.count()).select_from(OnlineForm)) == 0:
            seed_survey()
        if db.session.scalar(select(func.count()).select_from(Event)) == 0:
            seed_events()
        db.session.commit()
    click.echo(f"\nKoe: {current_app.config['BASE_URL']}")
    click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    for email, name, role in DEMO_USERS + DEMO_STAFF:
        click.echo(f"  {role.value:<10} {email:<28} {name}")
    click.echo("")


# the demo survey: (kind, label, choices, required, public, prefill)
DEMO_AGES = ["10代", "20代", "30代", "40代", "50代", "60代", "70代以上"]
DEMO_PARKS = ["中央公園", "川沿い公園", "北部こども公園", "その他"]
DEMO_VISITS = ["ほぼ毎日", "週に数回", "月に数回", "ほとんど行かない"]
DEMO_SURVEY = (
    (FieldKind.SINGLE, "年代", DEMO_AGES, True, True, None),
    (FieldKind.MULTIPLE, "よく利用する公園", DEMO_PARKS, False, True, None),
    (FieldKind.SHORT_TEXT, "「その他」の公園の名前", [], True, False, None),
    (FieldKind.DROPDOWN, "公園に行く回数", DEMO_VISITS, True, True, None),
    (FieldKind.NUMBER, "1回に過ごす時間（分）", [], False, True, None),
    (FieldKind.LONG_TEXT, "公園について、ご意見をお聞かせください", [], False, False, None),
    (FieldKind.EMAIL, "連絡先（結果のお知らせを希望する方）", [], False, False, "email"),
    (FieldKind.CONSENT, "回答を集計し、個人が特定されない形で公表することに同意します", [], True,
     False, None),
)  # fmt: skip
DEMO_SURVEY_VOICES = (
    "夜は暗くて通りにくいので、照明を増やしてほしいです。",
    "ベンチが少なく、休む場所がありません。",
    "トイレをきれいにしてほしい。",
    "遊具が古くなっているので更新を希望します。",
    "犬の散歩のマナーが気になります。",
    "木陰が多くて夏でも過ごしやすいです。",
    "ボール遊びができる場所がほしいです。",
    "",
)


def tokyo_today() -> date:
    """Today's date in Tokyo."""
    return utcnow().astimezone(TOKYO).date()


def tokyo_at(day: date, hour: int) -> datetime:
    """``hour`` o'clock in Tokyo on ``day``, as aware UTC (what the database stores)."""
    return as_utc(datetime(day.year, day.month, day.day, hour, tzinfo=TOKYO))


def seed_events() -> None:
    """An upcoming hybrid lecture (the demo resident registered), and a past briefing."""
    staff = operations.find_by_email("staff@demo.koe.example")
    today = tokyo_today()
    # a Saturday afternoon lecture at least ten days ahead, a Wednesday evening briefing about
    # three weeks ago: the hours a ward holds them, whatever day the demo is seeded on
    saturday = today + timedelta(days=10)
    saturday += timedelta(days=(5 - saturday.weekday()) % 7)
    wednesday = today - timedelta(days=18)
    wednesday -= timedelta(days=(wednesday.weekday() - 2) % 7)
    lecture = tokyo_at(saturday, 14)
    briefing = tokyo_at(wednesday, 19)
    for data in (
        event_ops.EventData(
            title="区民公開講座「地震に備える　わが家と地域の防災」",
            description="首都直下地震に備えて、家庭での備蓄や家具の固定、地域の避難所運営について学びます。"
            "会場でもオンラインでも参加できます。講演の後に質疑応答の時間があります。"
            "手話通訳と文字通訳（要約筆記）が付きます。",
            speakers="山田 花子（声区 危機管理課長）\n佐藤 一郎（声大学 防災研究センター 教授）",
            department="危機管理課",
            starts_at=lecture,
            ends_at=lecture + timedelta(hours=2),
            mode=Mode.HYBRID,
            venue="声区役所 本庁舎2階 大会議室（声駅から徒歩5分）",
            venue_capacity=80,  # the room's seats; online places: no limit
            capacity=None,
            registration_required=True,
            audience=Audience.EVERYONE,
        ),
        event_ops.EventData(
            title="公園整備計画（案）オンライン説明会",
            description="公園整備計画（案）の内容を担当者が説明し、皆さまからのご質問にお答えしました。",
            speakers="道路公園課 公園係",
            department=PARKS_DEPARTMENT,
            starts_at=briefing,
            ends_at=briefing + timedelta(hours=1, minutes=30),
            mode=Mode.ONLINE,
            venue="",
            capacity=None,
            registration_required=False,
            audience=Audience.EVERYONE,
        ),
    ):
        event_ops.publish(event_ops.save_event(None, data, staff), staff)
    db.session.flush()
    upcoming = db.session.scalar(select(Event).order_by(Event.starts_at.desc()))
    resident = operations.find_by_email("resident@demo.koe.example")
    if resident is not None:
        event_ops.register(upcoming, resident, locale="ja", attendance=Attendance.VENUE)
    past = db.session.scalar(select(Event).order_by(Event.starts_at))
    seed_event_archive(past, staff, resident)


# the past briefing's record: (seconds after the start, kind, text); kind is "caption" (typed
# by the captioner), "chat" (the demo resident) or "question" (answered; upvoted by that many
# of the other demo accounts)
DEMO_ARCHIVE = (
    (1, "caption", "皆さま、こんばんは。道路公園課の担当です。"),
    (4, "caption", "これから公園整備計画（案）について説明します。"),
    (7, "caption", "計画は、照明、遊具、休憩場所の三つが柱です。"),
    (10, "caption", "まず、夜間の照明から説明します。"),
    (13, "caption", "ご質問にお答えします。街灯は来年度中にすべてLEDにします。"),
    (16, "caption", "インクルーシブ遊具は、まず中央公園に設置します。"),
    (40, "chat", "音声、よく聞こえています。"),
    (300, "question", "街灯のLED化はいつごろ終わりますか？", 5),
    (420, "chat", "資料のページ番号を教えてください。"),
    (480, "question", "インクルーシブ遊具はどの公園に設置されますか？", 3),
)


def seed_event_archive(event: Event, captioner: User, resident: User | None) -> None:
    """Captions, chat and answered questions of a past event, timed as they happened, and a
    20-second recording (a moving test card standing in for the briefing's video, encoded as
    the media service records a stream) where the media service serves it."""
    from pathlib import Path

    from realtime.media.demo import write_test_recording
    from realtime.media.recording import MP4, write_mp4

    directory = Path(current_app.config["MEDIA_ROOT"]) / "hls" / str(event.id)
    write_test_recording(directory)
    write_mp4(directory)
    event.stream_state = StreamState.ENDED
    event.stream_started_at = event.starts_at
    event.stream_ended_at = event.ends_at
    event.recording_url = f"{current_app.config['MEDIA_URL']}/hls/{event.id}/index.m3u8"
    event.recording_download_url = f"{current_app.config['MEDIA_URL']}/hls/{event.id}/{MP4}"
    from app.events.chat_models import CHAT, ChatMessage
    from app.events.qa_models import (
        QUESTION,
        Captioner,
        CaptionLine,
        Question,
        QuestionState,
        QuestionVote,
    )

    db.session.add(Captioner(event_id=event.id, user_id=captioner.id))
    voters = [
        u
        for email in [e for e, _n, _r in DEMO_USERS] + [e for e, _n in DEMO_HELD_NAMES]
        if (u := operations.find_by_email(email)) is not None and u != resident
    ]
    for n, (seconds, kind, text, *votes) in enumerate(DEMO_ARCHIVE):
        at = event.starts_at + timedelta(seconds=seconds)
        if kind == "caption":
            db.session.add(
                CaptionLine(event_id=event.id, author_id=captioner.id, text=text, created_at=at)
            )
            continue
        if resident is None:
            continue
        scan = moderation_ops.scan_text(text, None, spam=False)
        if kind == "chat":
            row = ChatMessage(
                event_id=event.id, author_id=resident.id, client_id=f"demo-chat-{n:04d}",
                created_at=at,
            )  # fmt: skip
        else:
            upvoters = voters[: votes[0]]
            row = Question(
                event_id=event.id, author_id=resident.id, client_id=f"demo-question-{n:04d}",
                state=QuestionState.ANSWERED, votes=len(upvoters),
                answered_at=at + timedelta(minutes=10), created_at=at,
            )  # fmt: skip
        db.session.add(row)
        db.session.flush()
        item = moderation_ops.record(CHAT if kind == "chat" else QUESTION, row.id, resident, scan)
        item.created_at = at
        if kind == "question":
            db.session.add_all(QuestionVote(question_id=row.id, user_id=u.id) for u in upvoters)


def seed_survey() -> None:
    """An open survey with 60 answers, its summary published to residents."""
    import random

    staff = operations.find_by_email("staff@demo.koe.example")
    survey = OnlineForm(
        title="公園の利用に関するアンケート",
        description="区内の公園の使い方について教えてください。回答は公園整備計画の参考にします。"
        "所要時間は3分ほどです。",
        department=PARKS_DEPARTMENT,
        thank_you="ご協力ありがとうございました。結果は道路公園課のページでお知らせします。",
        state=FormState.DRAFT,
        # from 9:00 to 17:00 Tokyo time, as a ward's office hours open and close a form
        opens_at=tokyo_at(tokyo_today() - timedelta(days=7), 9),
        closes_at=tokyo_at(tokyo_today() + timedelta(days=23), 17),
        login_required=False,
        one_per_person=False,
        summary_public=True,
        created_by_id=staff.id,
    )
    db.session.add(survey)
    db.session.flush()
    fields = [
        forms_ops.add_field(
            survey, staff, kind=kind, label=label, choices=choices, required=required,
            public=public, prefill=prefill,
        )
        for kind, label, choices, required, public, prefill in DEMO_SURVEY
    ]  # fmt: skip
    fields[2].show_if_id, fields[2].show_if_value = fields[1].id, "その他"
    forms_ops.move(survey, FormState.OPEN, staff)
    rng = random.Random(20261202)  # noqa: S311  (demo answers, the same on every run)
    ages, parks, visits = fields[0].choices, fields[1].choices[:3], fields[3].choices
    for n in range(60):
        answers = {
            fields[0].key: rng.choices(ages, weights=(1, 3, 6, 6, 4, 3, 2))[0],
            fields[1].key: rng.sample(parks, rng.randint(1, 2)),
            fields[3].key: rng.choices(visits, weights=(2, 5, 4, 1))[0],
            fields[4].key: rng.choice((15, 30, 30, 45, 60, 90, 120)),
            fields[7].key: True,
        }
        voice = DEMO_SURVEY_VOICES[n % len(DEMO_SURVEY_VOICES)]
        if voice:
            answers[fields[5].key] = voice
        forms_ops.submit(survey, None, answers, None)


DEMO_PARKS_DRAFT = """# 第1章 計画の目的
この計画は、声区の公園を、子どもから高齢者まで誰もが安心して使える場所にするための方針を定めるものです。

# 第2章 遊具の更新
設置から20年を超えた遊具を、令和9年度までに順次更新します。更新にあたっては、車いすの子どもも一緒に遊べるインクルーシブ遊具を各地区に1か所以上設けます。

# 第3章 夜間の照明と防犯
夜間も安心して通れるよう、園路の照明をLEDに替え、暗がりになりやすい場所に照明を増やします。

# 第4章 樹木の管理
落ち葉や見通しに配慮しつつ、木陰をつくる樹木を守り育てます。"""

DEMO_CHILDCARE_DRAFT = """# 第1章 基本理念
すべての子どもと子育て家庭が、地域の中で支えられていると感じられる区を目指します。

# 第2章 保育の受け皿
待機児童ゼロを維持するとともに、一時預かりの枠を拡充します。

# 第3章 相談の場
子育てに関する相談を、オンラインでも24時間受け付けます。"""

DEMO_OPINIONS = (
    (1, "インクルーシブ遊具の設置に賛成です。ぜひ南部地区にもお願いします。"),
    (2, "夜の公園は暗くて怖いので、照明を増やしてほしいです。"),
    (None, "ベンチと日陰をもっと増やしてください。高齢者が休める場所が足りません。"),
)

# (section position or None, channel, text): what else reached the parks consultation, on paper,
# at the counter, by fax and by e-mail, entered by staff (enough to group into themes)
DEMO_PARKS_ENTERED = (
    (2, Channel.PAPER, "駅から帰る道が公園の中を通るので、夜はもっと明るくしてほしい。"),
    (2, Channel.COUNTER, "園路の街灯が切れたままの場所があります。早めに交換してください。"),
    (2, Channel.EMAIL, "防犯カメラを出入口に付けてほしいです。夜に若者が集まっていて不安です。"),
    (2, Channel.FAX, "LED照明にするなら、まぶしすぎないよう住宅側に配慮してください。"),
    (2, Channel.PAPER, "夕方以降、子どもだけで公園を通るのが心配です。見通しを良くしてください。"),
    (2, Channel.EMAIL, "照明を増やす計画に賛成です。暗い場所をなくしてください。"),
    (1, Channel.PAPER, "車いすの娘が遊べる遊具がありません。インクルーシブ遊具を増やして。"),
    (1, Channel.COUNTER, "ブランコが古くてさびています。子どもが使うので早く更新してほしい。"),
    (1, Channel.EMAIL, "小さい子向けの遊具と大きい子向けの遊具の場所を分けてほしいです。"),
    (1, Channel.FAX, "遊具の更新の時期を、近所の掲示板でも知らせてください。"),
    (1, Channel.PAPER, "砂場が汚れていて使えません。遊具と一緒に砂場も新しくしてほしい。"),
    (1, Channel.EMAIL, "インクルーシブ遊具は各地区に1か所では足りないと思います。"),
    (None, Channel.PAPER, "ベンチに屋根を付けてください。夏は日差しが強くて座れません。"),
    (None, Channel.COUNTER, "散歩の途中で休めるベンチが少なく、高齢の母が困っています。"),
    (None, Channel.FAX, "水飲み場を増やしてほしい。夏の暑い日は子どもが心配です。"),
    (None, Channel.EMAIL, "日陰のある休憩場所を増やしてください。熱中症が心配です。"),
    (None, Channel.PAPER, "手すり付きのベンチがあると、立ち上がるのが楽になります。"),
    (3, Channel.PAPER, "秋の落ち葉が道路にたまって滑りやすいので、こまめに掃除してください。"),
    (3, Channel.COUNTER, "大きな木は夏の日陰になるので、切らずに残してほしいです。"),
    (3, Channel.EMAIL, "木の枝が伸びて街灯をさえぎっています。剪定をお願いします。"),
    (3, Channel.FAX, "桜の木が古くなって倒れないか心配です。点検してください。"),
    (3, Channel.PAPER, "落ち葉の季節は雨どいが詰まって困っています。隣の家の事情も考えてほしい。"),
    (None, Channel.PAPER, "トイレが古くて汚いので、入りたくありません。きれいにしてください。"),
    (None, Channel.COUNTER, "多目的トイレがある公園を増やしてください。おむつ替えの台も必要です。"),
    (None, Channel.EMAIL, "ごみ箱があふれていることが多いです。回収の回数を増やしてほしい。"),
    (None, Channel.FAX, "トイレの掃除の回数を増やしてください。夏は特ににおいます。"),
    (None, Channel.PAPER, "犬のふんが放置されています。飼い主へのマナーの呼びかけをお願いします。"),
    (None, Channel.EMAIL, "ボール遊びができる時間帯を決めてほしい。今はどこも禁止で遊べません。"),
    (None, Channel.COUNTER, "犬を放して遊ばせる人がいて怖いです。ルールを看板で示してください。"),
    (None, Channel.FAX, "子どもがキャッチボールできる広場を作ってください。"),
)


# How the demo panel reacted to the parks opinions (words in the opinion → reaction): one half
# wants bright, watched paths, the other half keeps the trees and the dark; all want benches,
# shade, water and clean toilets. Enough for the opinion groups and what all groups agree on.
DEMO_BRIGHT = ("照明", "明るく", "防犯カメラ", "見通し", "剪定", "街灯")
DEMO_GREEN = ("切らずに", "まぶしすぎない", "木陰", "落ち葉", "桜の木")
DEMO_SHARED = ("ベンチ", "日陰", "水飲み場", "トイレ")


def _reaction(text: str, bright: bool, rng) -> ReactionKind | None:
    mine, theirs = (DEMO_BRIGHT, DEMO_GREEN) if bright else (DEMO_GREEN, DEMO_BRIGHT)
    if any(word in text for word in DEMO_SHARED):
        return ReactionKind.AGREE if rng.random() < 0.85 else ReactionKind.PASS
    if any(word in text for word in mine):
        return ReactionKind.AGREE if rng.random() < 0.9 else None
    if any(word in text for word in theirs):
        return ReactionKind.DISAGREE if rng.random() < 0.8 else ReactionKind.PASS
    return rng.choice((ReactionKind.AGREE, ReactionKind.PASS, None))


def seed_reactions(consultation: Consultation) -> None:
    """The demo panel's 賛成・反対 on the published opinions (two views, some common ground)."""
    import random

    rng = random.Random(20261207)  # noqa: S311  (demo reactions, the same on every run)
    opinions = consultation_ops.published_opinions(consultation)
    for n, (email, _name) in enumerate(DEMO_PANEL):
        person = operations.find_by_email(email)
        if person is None:
            continue
        for opinion, item in opinions:
            kind = _reaction(item.public_text, n % 2 == 0, rng)
            if kind is not None and opinion.author_id != person.id:
                consultation_ops.react(opinion, person, kind)


def seed_consultations() -> None:
    """An open consultation with opinions and a closed one, as a ward would publish them."""
    staff = operations.find_by_email("staff@demo.koe.example")
    resident = operations.find_by_email("resident@demo.koe.example")
    parks = consultation_ops.save_consultation(
        None,
        consultation_ops.ConsultationData(
            title="声区公園整備計画（案）",
            summary="区内の公園を、誰もが安心して使える場所にするための計画案です。"
            "ご意見をお寄せください。",
            department=PARKS_DEPARTMENT,
            contact="電話 03-0000-1234（平日 8時30分〜17時15分）",
            topics="公園, 子育て, 防犯",
            area=None,
            opens_at=tokyo_at(tokyo_today() - timedelta(days=3), 9),
            closes_at=tokyo_at(tokyo_today() + timedelta(days=27), 17),
            draft=DEMO_PARKS_DRAFT,
        ),
        staff,
    )
    consultation_ops.move(parks, State.OPEN, staff)
    for position, text in DEMO_OPINIONS:
        section = parks.sections[position] if position is not None else None
        scan = moderation_ops.scan_text(text, resident)
        consultation_ops.submit_opinion(parks, resident, scan, section=section, show_name=True)
    for position, channel, text in DEMO_PARKS_ENTERED:
        section = parks.sections[position] if position is not None else None
        scan = moderation_ops.scan_text(text, None, spam=False)
        consultation_ops.enter_opinion(parks, staff, scan, channel=channel, section=section)
    seed_reactions(parks)
    parks.themes_public = True  # residents see "what others are saying" while it runs
    themes_ops.request_run(parks, staff)  # the jobs process groups the opinions at once
    staff = operations.find_by_email("kodomo@demo.koe.example") or staff
    childcare = consultation_ops.save_consultation(
        None,
        consultation_ops.ConsultationData(
            title="声区子ども・子育て支援計画（案）",
            summary="子育て支援の5か年計画の案です。募集は終了しました。",
            department=CHILDCARE_DEPARTMENT,
            contact="電話 03-0000-5678",
            topics="子育て",
            area=None,
            opens_at=tokyo_at(tokyo_today() - timedelta(days=60), 9),
            closes_at=tokyo_at(tokyo_today() - timedelta(days=30), 17),
            draft=DEMO_CHILDCARE_DRAFT,
        ),
        staff,
    )
    childcare.state = State.OPEN  # it ran its course: past its closing time it reads as closed
    publish_childcare(childcare, staff, resident)


# (section position or None, channel, text) of the published demo consultation
DEMO_CHILDCARE_OPINIONS = (
    (2, Channel.WEB, "一時預かりを土日も利用できるようにしてほしいです。"),
    (2, Channel.PAPER, "一時預かりの予約がいつも埋まっていて使えません。枠を増やしてください。"),
    (3, Channel.WEB, "オンライン相談だけでなく、直接会って相談できる場も残してください。"),
    (3, Channel.COUNTER, "24時間の相談は本当に対応できるのでしょうか。人員の確保が心配です。"),
    (None, Channel.FAX, "計画全体について、子ども本人の声を聞く機会を設けてください。"),
    (None, Channel.WEB, "区役所の駐輪場を広げてほしいです。"),
)

DEMO_CHILDCARE_ANSWERS = (
    (
        (0, 1),
        "一時預かりの拡充（土日の実施、予約枠の拡大）を求める意見",
        "一時預かりは、令和9年度から土日も実施し、定員を現在の1.5倍に拡充します。",
        Disposition.REFLECTED,
        "ご意見を踏まえ、第2章に土日の実施と定員の拡充を明記しました。",
    ),
    (
        (2,),
        "",
        "オンラインの相談を広げる一方、子ども家庭支援センターでの対面の相談も引き続き行います。",
        Disposition.PARTLY,
        "第3章に対面の相談を続けることを書き加えました。",
    ),
    (
        (3,),
        "",
        "24時間の相談は、専門の相談員と連携して体制を確保します。運営の状況は毎年度公表します。",
        Disposition.FUTURE,
        "体制づくりの参考とします。",
    ),
    (
        (4,),
        "",
        "子どもの意見を聴く「子ども会議」を年2回開いており、計画の推進でも意見を聴きます。",
        Disposition.INCLUDED,
        "第1章の基本理念に既に含まれています。",
    ),
    (
        (5,),
        "",
        "ご意見は本計画の対象外ですが、担当の課にお伝えしました。",
        Disposition.OUT_OF_SCOPE,
        "本計画の範囲外のためです。",
    ),
)

DEMO_CHILDCARE_FINAL = {
    2: "待機児童ゼロを維持するとともに、一時預かりを土日も実施し、その枠を1.5倍に拡充します。",
    3: "子育てに関する相談を、オンラインでも24時間受け付けます。子ども家庭支援センターでの対面の"
    "相談も引き続き行います。",
}


def publish_childcare(childcare: Consultation, staff: User, resident: User) -> None:
    """Opinions from every channel, the ward's view on each, the final text, published."""
    opinions = []
    for n, (position, channel, text) in enumerate(DEMO_CHILDCARE_OPINIONS):
        section = childcare.sections[position - 1] if position else None
        # seeded at once, so not checked for floods as a live post would be
        scan = moderation_ops.scan_text(text, spam=False)
        if channel == Channel.WEB:
            opinion, _ = consultation_ops.submit_opinion(childcare, resident, scan, section=section)
        else:
            opinion = consultation_ops.enter_opinion(
                childcare, staff, scan, channel=channel, section=section
            )
        opinion.created_at = childcare.opens_at + timedelta(days=2 + 3 * n)
        opinions.append(opinion)
    for indexes, summary, view, disposition, reason in DEMO_CHILDCARE_ANSWERS:
        results.answer_opinions(
            childcare,
            staff,
            [opinions[i].id for i in indexes],
            disposition=disposition,
            reason=reason,
            summary=summary,
            body=view,
        )
    results.save_final_text(
        childcare,
        staff,
        {s.id: DEMO_CHILDCARE_FINAL.get(s.position, s.body) for s in childcare.sections},
    )
    results.publish(childcare, staff)
    themes_ops.request_run(childcare, staff)  # its results by theme
    childcare.results_published_at = childcare.closes_at + timedelta(days=20)


def record_name(user: User) -> None:
    """Put a demo display name through moderation, as registration does."""
    result = moderation_ops.scan_text(user.display_name, user, spam=False)
    moderation_ops.record(moderation_ops.DISPLAY_NAME, user.id, user, result)


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise click.BadParameter(f"choose one of {', '.join(r.value for r in Role)}") from None


@koe.command("create-user")
@click.argument("email")
@click.option("--name", "display_name", required=True, help="Display name.")
@click.option(
    "--role", default="resident", show_default=True, help="resident, moderator, staff or admin."
)
@click.password_option(help="Asked for when not given.")
def create_user(email: str, display_name: str, role: str, password: str) -> None:
    """Create a verified account with a role."""
    chosen = _role(role)
    if operations.find_by_email(email) is not None:
        raise click.ClickException(f"an account with {email} exists")
    problem = password_problem(password, email=email, display_name=display_name)
    if problem:
        raise click.ClickException(problem)
    user = operations.create_user(display_name, email, password, chosen)
    db.session.commit()
    click.echo(f"created user {user.id} ({chosen.value})")


@koe.command("set-role")
@click.argument("email")
@click.argument("role")
def set_role(email: str, role: str) -> None:
    """Give an existing account another role."""
    chosen = _role(role)
    user = operations.find_by_email(email)
    if user is None:
        raise click.ClickException(f"no account with {email}")
    operations.set_role(user, chosen)
    db.session.commit()
    click.echo(f"user {user.id} is now {chosen.value}")


@koe.command("import-opinions")
@click.argument("consultation_id", type=int)
@click.argument("csv_file", type=click.File("rb"))
@click.option("--by", "staff_email", required=True, help="E-mail of the staff member entering.")
def import_opinions_command(consultation_id: int, csv_file, staff_email: str) -> None:
    """Import opinions received on paper, by fax, at the counter or by e-mail (CSV).

    Columns: channel (paper, fax, counter, email), section (its number; empty for the whole
    draft), text, received_at (Tokyo time, optional), age_band, area (optional).
    """
    staff = operations.find_by_email(staff_email)
    if staff is None or not staff.has_role(Role.STAFF):
        raise click.ClickException(f"{staff_email} is not a staff account")
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        raise click.ClickException(f"no consultation {consultation_id}")
    if consultation.current_state() not in consultation_ops.ENTRY_STATES:
        raise click.ClickException("the consultation is not open or closed: nothing imported")
    areas = {code for code, _ja, _en in current_app.config["WARD_AREAS"]}
    with force_locale("en"):  # the command speaks English, the staff page the reader's language
        result = import_opinions(consultation, staff, csv_file.read(), areas)
    if result.errors:
        db.session.rollback()
        click.echo("\n".join(result.errors), err=True)
        raise click.ClickException(f"{len(result.errors)} problem(s): nothing imported")
    importing.record(consultation, staff, result.checked, len(result.opinions))
    db.session.commit()
    held = sum(1 for o in result.opinions if consultation_ops.item_of(o).status.value == "held")
    click.echo(
        f"imported {len(result.opinions)} opinion(s): "
        f"{len(result.opinions) - held} published, {held} waiting for a moderator"
    )
    for opinion in result.opinions:
        click.echo(f"  {opinion.receipt_code}")


def init_app(app: Flask) -> None:
    app.cli.add_command(koe)


@koe.command("worker")
@click.option("--once", is_flag=True, help="Run the jobs that are due, then stop.")
def worker(once: bool) -> None:
    """Run background jobs (mails, clustering) until stopped."""
    from app import jobs

    if once:
        click.echo(f"{jobs.run_pending()} job(s) run")
        return
    click.echo("koe worker: waiting for jobs (Ctrl-C stops)")
    jobs.work(current_app._get_current_object())


@koe.command("purge-forms")
def purge_forms() -> None:
    """Delete form answers past their retention, and files no answer took (the jobs worker
    also does it hourly)."""
    answers, files = forms_ops.purge()
    click.echo(f"deleted {answers} answers past their retention and {files} unclaimed files")


@koe.command("cluster")
@click.argument("consultation_id", type=int)
@click.option("--k", type=click.IntRange(2, 10), help="Number of themes (default: chosen).")
@click.option("--by", "by_email", help="Staff e-mail recorded as the requester (audit log).")
def cluster(consultation_id: int, k: int | None, by_email: str | None) -> None:
    """Group a consultation's opinions into themes here and now, showing the progress."""
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        raise click.ClickException(f"no consultation {consultation_id}")
    staff = db.session.scalar(select(User).where(User.email == by_email)) if by_email else None
    run = themes_ops.request_run(consultation, staff, k, queue=False)
    db.session.commit()

    def report(percent: int, what: str) -> None:
        bar = "#" * (percent // 5)
        click.echo(f"[{bar:<20}] {percent:3d}%  {what}")

    run = themes_ops.execute(run.id, report)
    if run.status != "done":
        raise click.ClickException(f"the grouping did not finish ({run.error})")
    for n, theme in enumerate(themes_ops.themes_of(run), start=1):
        click.echo(f"{n:2d}. {theme.label}  ({theme.size} opinions, {theme.distinct} different)")


@koe.group("jobs")
def jobs_group() -> None:
    """Background jobs: list the waiting and failed ones, retry, purge the finished."""


@jobs_group.command("list")
def jobs_list() -> None:
    """Show the counts, then the failed and the waiting jobs (kind and error type only)."""
    from app import jobs

    counts = jobs.counts()
    click.echo(
        f"waiting {counts['waiting']}, failed {counts['failed']}, "
        f"oldest due {counts['oldest_due_seconds']} s"
    )
    for job in jobs.failed_jobs():
        click.echo(f"failed  #{job.id} {job.kind} {job.last_error or ''} ({job.attempts} attempts)")
    for job in jobs.waiting_jobs():
        due = job.run_at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
        click.echo(f"waiting #{job.id} {job.kind} due {due} ({job.attempts} attempts)")


@jobs_group.command("retry")
@click.argument("job_ids", type=int, nargs=-1)
@click.option("--all-failed", is_flag=True, help="Retry every failed job.")
def jobs_retry(job_ids: tuple[int, ...], all_failed: bool) -> None:
    """Put failed jobs back in the queue (audit-logged)."""
    from app import jobs

    if not job_ids and not all_failed:
        raise click.UsageError("give job numbers or --all-failed")
    chosen = jobs.failed_jobs(limit=100_000) if all_failed else []
    for job_id in job_ids:
        job = db.session.get(jobs.Job, job_id)
        if job is None:
            raise click.ClickException(f"no job {job_id}")
        chosen.append(job)
    retried = sum(jobs.retry(job) for job in chosen)
    db.session.commit()
    click.echo(f"{retried} job(s) queued again")


@jobs_group.command("purge")
def jobs_purge() -> None:
    """Delete finished jobs past their retention now (the worker also does it hourly)."""
    from app import jobs

    done, failed = jobs.purge()
    db.session.commit()
    click.echo(f"deleted {done} finished and {failed} failed job(s) past their retention")
