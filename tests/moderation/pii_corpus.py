"""A labelled corpus for the personal-data detectors.

``POSITIVE`` sentences list every piece of personal data in them as (exact substring, kind); the
substring's first occurrence is its span. ``NEGATIVE`` sentences hold numbers and at-signs that
are not personal data and must yield no finding at all. All numbers and addresses are made up
or are public offices' published numbers and addresses.
"""

from __future__ import annotations

Label = tuple[str, str]  # (substring, kind value)
Case = tuple[str, tuple[Label, ...]]

P, E, Z, A = "phone", "email", "postal_code", "address"

JAPANESE: list[Case] = [
    # phones
    ("お問い合わせは03-1234-5678までお願いします。", (("03-1234-5678", P),)),
    ("市役所の代表番号は０３－１２３４－５６７８です。", (("０３－１２３４－５６７８", P),)),
    ("携帯090-1234-5678に電話ください", (("090-1234-5678", P),)),
    ("担当：080-9876-5432（平日のみ）", (("080-9876-5432", P),)),
    ("070-1111-2222へショートメールを送ってください。", (("070-1111-2222", P),)),
    ("IP電話050-3456-7890でも受け付けます。", (("050-3456-7890", P),)),
    ("フリーダイヤル0120-123-456にお電話を。", (("0120-123-456", P),)),
    ("ナビダイヤル0570-064-123（有料）", (("0570-064-123", P),)),
    ("0800-111-2222は無料です", (("0800-111-2222", P),)),
    ("藤沢の事務所は0466-12-3456です。", (("0466-12-3456", P),)),
    ("電話(03)1234-5678 まで", (("(03)1234-5678", P),)),
    ("ＴＥＬ：03(1234)5678", (("03(1234)5678", P),)),
    ("海外からは+81 3-1234-5678へ", (("+81 3-1234-5678", P),)),
    ("国際電話+81-90-1234-5678でどうぞ", (("+81-90-1234-5678", P),)),
    ("+81 (0)3-1234-5678 にかけてください", (("+81 (0)3-1234-5678", P),)),
    ("携帯は０９０ー１２３４ー５６７８です", (("０９０ー１２３４ー５６７８", P),)),
    ("電話番号09012345678に連絡して", (("09012345678", P),)),
    ("連絡先 03 1234 5678", (("03 1234 5678", P),)),
    ("060-1234-5678 という新しい番号", (("060-1234-5678", P),)),
    ("お電話は０１２０－９９９－８８８へ", (("０１２０－９９９－８８８", P),)),
    ("FAX 06-6123-4567、TEL 06-6123-4568", (("06-6123-4567", P), ("06-6123-4568", P))),
    ("札幌の窓口は011-211-2111です", (("011-211-2111", P),)),
    (
        "息子の携帯は080ー2345ー6789、娘は090-8765-4321です",
        (("080ー2345ー6789", P), ("090-8765-4321", P)),
    ),
    ("ご連絡は 06-6941-0351（代表）まで", (("06-6941-0351", P),)),
    (
        "お客様番号ではなく電話番号０４６６－２２－１１１１を記入",
        (("０４６６－２２－１１１１", P),),
    ),
    ("（090-1111-2222）にショートメッセージを", (("090-1111-2222", P),)),
    ("＋８１　９０　１２３４　５６７８へどうぞ", (("＋８１　９０　１２３４　５６７８", P),)),
    ("TEL.03.5555.1234", (("03.5555.1234", P),)),
    # e-mail
    ("メールはtaro.yamada@example.jpまで", (("taro.yamada@example.jp", E),)),
    (
        "連絡先：ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ",
        (("ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ", E),),
    ),
    ("info@city.koe.lg.jp にお問い合わせください", (("info@city.koe.lg.jp", E),)),
    ("返信はsuzuki(at)example.jpへ", (("suzuki(at)example.jp", E),)),
    ("アドレスはsato[at]example.co.jpです", (("sato[at]example.co.jp", E),)),
    ("tanaka あっと example.ne.jp に送って", (("tanaka あっと example.ne.jp", E),)),
    ("メール yamada＠example．jp", (("yamada＠example．jp", E),)),
    ("kobayashi アットマーク example.com まで", (("kobayashi アットマーク example.com", E),)),
    ("ito (at) mail.example.org です", (("ito (at) mail.example.org", E),)),
    ("問い合わせ先: support+koe@example.com", (("support+koe@example.com", E),)),
    ("watanabe_k@example.ac.jp、または内線で", (("watanabe_k@example.ac.jp", E),)),
    ("メアド：k.sato@example.com", (("k.sato@example.com", E),)),
    (
        "通知はnotice＠ｃｉｔｙ．ｋｏｅ．ｌｇ．ｊｐから届きます",
        (("notice＠ｃｉｔｙ．ｋｏｅ．ｌｇ．ｊｐ", E),),
    ),
    # postal codes
    ("郵便番号は〒251-0052です", (("〒251-0052", Z),)),
    ("〒2510052 藤沢市", (("〒2510052", Z),)),
    ("〒 060-0001 宛てにお送りください", (("〒 060-0001", Z),)),
    ("郵便番号：1000001", (("1000001", Z),)),
    ("郵便番号 123-4567 の地域", (("123-4567", Z),)),
    ("書類は530-0001宛に", (("530-0001", Z),)),
    ("〒９８０－８６７１", (("〒９８０－８６７１", Z),)),
    (
        "郵便番号〒060-8611、札幌市北区北8条西5丁目",
        (("〒060-8611", Z), ("札幌市北区北8条西5丁目", A)),
    ),
    # addresses, with and without a postal code
    ("〒100-0001 東京都千代田区千代田1-1", (("〒100-0001", Z), ("東京都千代田区千代田1-1", A))),
    (
        "送付先は〒１５０－０００２渋谷区渋谷二丁目21番1号",
        (("〒１５０－０００２", Z), ("渋谷区渋谷二丁目21番1号", A)),
    ),
    (
        "〒980ー8671 仙台市青葉区国分町3丁目7番1号",
        (("〒980ー8671", Z), ("仙台市青葉区国分町3丁目7番1号", A)),
    ),
    ("東京都千代田区千代田1丁目1番1号に住んでいます", (("東京都千代田区千代田1丁目1番1号", A),)),
    ("住所は中央一丁目2番3号です", (("中央一丁目2番3号", A),)),
    ("声区中央1-2-3の家", (("声区中央1-2-3", A),)),
    ("大手町二丁目3-1のビル", (("大手町二丁目3-1", A),)),
    ("自宅は本町 4-5-6 です", (("本町 4-5-6", A),)),
    ("〇〇町3番地の5に引っ越した", (("〇〇町3番地の5", A),)),
    ("神奈川県藤沢市朝日町1番地の1", (("神奈川県藤沢市朝日町1番地の1", A),)),
    ("大阪府大阪市北区梅田3-1-1で待ち合わせ", (("大阪府大阪市北区梅田3-1-1", A),)),
    ("実家は京都府京都市左京区下鴨泉川町5番地です", (("京都府京都市左京区下鴨泉川町5番地", A),)),
    ("住所：愛知県名古屋市中区三の丸三丁目1番2号", (("愛知県名古屋市中区三の丸三丁目1番2号", A),)),
    (
        "申込書は〒231-0023 横浜市中区山下町1番地へ",
        (("〒231-0023", Z), ("横浜市中区山下町1番地", A)),
    ),
    ("1丁目2番地の角", (("1丁目2番地", A),)),
    # several kinds at once
    (
        "電話03-1234-5678、メールinfo@example.jpへ",
        (("03-1234-5678", P), ("info@example.jp", E)),
    ),
    (
        "〒100-0005 千代田区丸の内1-9-1 TEL 03-1234-5678",
        (("〒100-0005", Z), ("千代田区丸の内1-9-1", A), ("03-1234-5678", P)),
    ),
    (
        "〒150-0001 東京都渋谷区神宮前1丁目2番3号 山田太郎 090-1234-5678",
        (("〒150-0001", Z), ("東京都渋谷区神宮前1丁目2番3号", A), ("090-1234-5678", P)),
    ),
    (
        "連絡：yamada.taro@example.co.jp／03-5555-1234",
        (("yamada.taro@example.co.jp", E), ("03-5555-1234", P)),
    ),
    (
        "問い合わせ：koe-support@example.jp または 0120-000-111",
        (("koe-support@example.jp", E), ("0120-000-111", P)),
    ),
    (
        "〒７００－８５４４ 岡山市北区大供一丁目1番1号 086-803-1000",
        (("〒７００－８５４４", Z), ("岡山市北区大供一丁目1番1号", A), ("086-803-1000", P)),
    ),
]

ENGLISH: list[Case] = [
    ("Call me at 03-1234-5678 tomorrow.", (("03-1234-5678", P),)),
    ("My mobile is 090-1234-5678.", (("090-1234-5678", P),)),
    ("Reach the office on +81 3-1234-5678.", (("+81 3-1234-5678", P),)),
    ("International: +81-90-1234-5678", (("+81-90-1234-5678", P),)),
    ("Dial +81 (0)3-1234-5678 from abroad.", (("+81 (0)3-1234-5678", P),)),
    ("Toll free: 0120-123-456.", (("0120-123-456", P),)),
    ("Our IP phone is 050-1234-5678.", (("050-1234-5678", P),)),
    ("The number (03)1234-5678 is the front desk.", (("(03)1234-5678", P),)),
    ("Phone: 03 1234 5678", (("03 1234 5678", P),)),
    ("Fax +81-3-5555-6666.", (("+81-3-5555-6666", P),)),
    ("His number is ０９０－８７６５－４３２１.", (("０９０－８７６５－４３２１", P),)),
    ("Call +1 415-555-2671 in the US.", (("+1 415-555-2671", P),)),
    ("The hotline 0570-064-123 is charged.", (("0570-064-123", P),)),
    ("Ring +819012345678 any time.", (("+819012345678", P),)),
    ("Email me at taro@example.com please.", (("taro@example.com", E),)),
    ("Send it to hanako.suzuki@example.co.jp.", (("hanako.suzuki@example.co.jp", E),)),
    ("Contact: john.doe+koe@mail.example.org", (("john.doe+koe@mail.example.org", E),)),
    ("Write to info at example dot com for details.", (("info at example dot com", E),)),
    ("My address is alice(at)example.jp", (("alice(at)example.jp", E),)),
    ("bob[at]example.co.jp is my work mail", (("bob[at]example.co.jp", E),)),
    ("Use carol (at) example (dot) com", (("carol (at) example (dot) com", E),)),
    ("Mail: dave [at] example [dot] net", (("dave [at] example [dot] net", E),)),
    ("Reply to user_01@example.ne.jp by Friday.", (("user_01@example.ne.jp", E),)),
    ("Postal code 123-4567, please.", (("123-4567", Z),)),
    ("Zip: 1000001", (("1000001", Z),)),
    ("Ship to 〒150-0002 Shibuya.", (("〒150-0002", Z),)),
    ("My postcode is 2510052.", (("2510052", Z),)),
    ("ZIP code 530-0001 (Osaka).", (("530-0001", Z),)),
    ("I live at 1-2-3 Chuo, Koe-ku.", (("1-2-3 Chuo, Koe-ku", A),)),
    ("The office is in Chuo 2-chome.", (("Chuo 2-chome", A),)),
    (
        "Text 080-2345-6789 or e-mail kenji@example.jp",
        (("080-2345-6789", P), ("kenji@example.jp", E)),
    ),
    (
        "Write to support@koe.example.jp or call 0800-123-4567.",
        (("support@koe.example.jp", E), ("0800-123-4567", P)),
    ),
    (
        "Our address: 〒100-0001, 1-1 Chiyoda, Chiyoda-ku.",
        (("〒100-0001", Z), ("1-1 Chiyoda, Chiyoda-ku", A)),
    ),
]

POSITIVE: list[Case] = JAPANESE + ENGLISH

NEGATIVE: list[str] = [
    "会議は2024-01-15に開催します。",
    "受付時間は10:30-12:00です。",
    "価格は¥1,234,567です。",
    "バージョン1.2.3をリリースしました。",
    "注文番号 A-2024-000123 をご確認ください。",
    "参加者は3-4人です。",
    "第1-2-3条を参照してください。",
    "管理番号123456789012は無効です。",  # 12 digits, wrong My Number check digit
    "ID 987654321098 を入力",  # 12 digits, wrong check digit
    "在庫は1,000個、残り250個です。",
    "気温は-3度から12度",
    "得点は3-1で勝ちました",
    "試合結果1-2-3位",
    "2024年1月15日10時30分に集合",
    "人口は1234567人です",
    "電話は後日お知らせします。",
    "メールアドレスは後で送ります。",
    "郵便物は明日届きます",
    "価格帯は500-1000円",
    "1000-2000人規模のイベント",
    "バス停から徒歩5-10分",
    "0.5-1.0%の上昇",
    "電話番号の桁数は10桁か11桁です",
    "1丁目の公園で遊んだ",
    "一番大事なのは安全です",
    "経済再生が一丁目一番地だ",
    "3番線に電車が来ます",
    "国道1号線を走る",
    "令和6年度予算は12,345,678円",
    "2024.01.15にv1.2.3を公開",
    "座席は3-4-5番です",
    "スコアは21-19、25-23でした",
    "温度差は3.5-4.2度",
    "@everyone 会議は10時から",
    "価格は12,000円（税込13,200円）",
    "2024/01/15 10:30〜12:00",
    "ISBN 978-4-06-123456-7 の本",
    "at the meeting we looked at example.com",
    "The ratio was 3:2 and the score 10-12.",
    "Version 2.10.4 fixes bug #12345.",
    "Order no. 2024-1234-5678 shipped.",  # 12 digits, wrong check digit
    "Meeting 10:30-12:00 on 2024-01-15.",
    "It costs $1,234.56 or ¥123,456.",
    "Population 1,234,567 as of 2024.",
    "Call center open 9-17 weekdays.",
    "Chapter 1-2-3 explains it.",
    "Lat 35.6895, Lon 139.6917",
    "email me later at the office",
    "We met at 3pm at the station.",
    "Tracking 1234 5678 9012 3456 is pending.",  # 16 digits, not Luhn-valid
    "Ticket #0312345678901 is closed.",  # 13 digits: neither a phone nor a card
    "Items 100-200 are on sale, 3-4 per customer.",
]
