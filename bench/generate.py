"""Benchmark data: N orders for one account with two shops, loaded in bulk.

    python -m bench.generate --orders 1000000 --database-url postgresql://postgres@127.0.0.1/boss_bench_1m --reset
    python -m bench.generate --orders 10000 --data-dir /tmp/boss-bench-10k --reset

Creates the schema (the app's migrations), the account ベンチ商店 with the user bench@example.com
(admin), a Rakuten shop (RMS "connected" with placeholder values, reflect_cancel_to_rms on, so a cancel
writes an outbox row) and a Yahoo! shop, products, item mappings and tags through the services;
then the orders, their 1–3 lines, shipments and tags in bulk — PostgreSQL by COPY, SQLite by
executemany in big transactions — with the secondary indexes (and SQLite's FTS insert trigger)
dropped during the load and recreated afterwards from their own DDL, so the schema stays exactly
the migration's. Finally the counters are rebuilt (counters.recount) and the tables analysed.

The rows are what the app writes: every column of the models, the same defaults, version 1,
search_text exactly as boss.orders.search.search_text_for makes it (checked on a sample), the number's key
as boss.orders.numbers.number_key makes it, times as
naive UTC (SQLite: SQLAlchemy's 'YYYY-MM-DD HH:MM:SS.ffffff' text).
"""
from __future__ import annotations

import argparse
import random
import sqlite3
import time
from datetime import date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from types import SimpleNamespace

from .common import (BENCH_ACCOUNT, BENCH_EMAIL, BENCH_PASSWORD, add_target_args, machine_info, make_app, target_url,
                     write_results)

# ---------------------------------------------------------------- names (common family names come first)

FAMILY = [
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"),
    ("吉田", "ヨシダ"), ("山田", "ヤマダ"), ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"),
    ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"),
    ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"), ("阿部", "アベ"),
    ("石川", "イシカワ"), ("山下", "ヤマシタ"), ("中島", "ナカジマ"), ("石井", "イシイ"), ("小川", "オガワ"),
    ("前田", "マエダ"), ("岡田", "オカダ"), ("長谷川", "ハセガワ"), ("藤田", "フジタ"), ("後藤", "ゴトウ"),
    ("近藤", "コンドウ"), ("村上", "ムラカミ"), ("遠藤", "エンドウ"), ("青木", "アオキ"), ("坂本", "サカモト"),
    ("斉藤", "サイトウ"), ("福田", "フクダ"), ("太田", "オオタ"), ("西村", "ニシムラ"), ("藤井", "フジイ"),
    ("金子", "カネコ"), ("岡本", "オカモト"), ("藤原", "フジワラ"), ("中野", "ナカノ"), ("三浦", "ミウラ"),
    ("原田", "ハラダ"), ("中川", "ナカガワ"), ("松田", "マツダ"), ("竹内", "タケウチ"), ("小野", "オノ"),
    ("田村", "タムラ"), ("中山", "ナカヤマ"), ("和田", "ワダ"), ("石田", "イシダ"), ("森田", "モリタ"),
    ("上田", "ウエダ"), ("原", "ハラ"), ("内田", "ウチダ"), ("柴田", "シバタ"), ("酒井", "サカイ"),
    ("宮崎", "ミヤザキ"), ("横山", "ヨコヤマ"), ("高木", "タカギ"), ("安藤", "アンドウ"), ("宮本", "ミヤモト"),
    ("大野", "オオノ"), ("小島", "コジマ"), ("谷口", "タニグチ"), ("今井", "イマイ"), ("工藤", "クドウ"),
    ("高田", "タカダ"), ("増田", "マスダ"), ("丸山", "マルヤマ"), ("杉山", "スギヤマ"), ("村田", "ムラタ"),
    ("大塚", "オオツカ"), ("新井", "アライ"), ("小山", "コヤマ"), ("平野", "ヒラノ"), ("藤本", "フジモト"),
    ("河野", "コウノ"), ("上野", "ウエノ"), ("野口", "ノグチ"), ("武田", "タケダ"), ("松井", "マツイ"),
    ("千葉", "チバ"), ("岩崎", "イワサキ"), ("菅原", "スガワラ"), ("木下", "キノシタ"), ("久保", "クボ"),
    ("佐野", "サノ"), ("野村", "ノムラ"), ("松尾", "マツオ"), ("市川", "イチカワ"), ("菊地", "キクチ"),
    ("杉本", "スギモト"), ("古川", "フルカワ"), ("大西", "オオニシ"), ("島田", "シマダ"), ("水野", "ミズノ"),
    ("桜井", "サクライ"), ("高野", "タカノ"), ("渡部", "ワタナベ"), ("吉川", "ヨシカワ"), ("山内", "ヤマウチ"),
    ("西田", "ニシダ"), ("飯田", "イイダ"), ("菊池", "キクチ"), ("西川", "ニシカワ"), ("小松", "コマツ"),
    ("北村", "キタムラ"), ("安田", "ヤスダ"), ("五十嵐", "イガラシ"), ("川口", "カワグチ"), ("平田", "ヒラタ"),
    ("関", "セキ"), ("中田", "ナカタ"), ("久保田", "クボタ"), ("服部", "ハットリ"), ("東", "アズマ"),
    ("岩田", "イワタ"), ("土屋", "ツチヤ"), ("川崎", "カワサキ"), ("福島", "フクシマ"), ("本田", "ホンダ"),
    ("辻", "ツジ"), ("樋口", "ヒグチ"), ("秋山", "アキヤマ"), ("田口", "タグチ"), ("永井", "ナガイ"),
    ("山中", "ヤマナカ"), ("中西", "ナカニシ"), ("吉村", "ヨシムラ"), ("川上", "カワカミ"), ("石原", "イシハラ"),
    ("大橋", "オオハシ"), ("松岡", "マツオカ"), ("馬場", "ババ"), ("浜田", "ハマダ"), ("森本", "モリモト"),
    ("勅使河原", "テシガワラ"), ("小鳥遊", "タカナシ"), ("四月一日", "ワタヌキ"), ("東海林", "ショウジ"),
    ("五月女", "ソウトメ"), ("一寸木", "マミキ"), ("御手洗", "ミタライ"), ("西園寺", "サイオンジ"),
]
GIVEN = [
    ("太郎", "タロウ"), ("花子", "ハナコ"), ("翔太", "ショウタ"), ("大輔", "ダイスケ"), ("健", "ケン"),
    ("美咲", "ミサキ"), ("陽菜", "ヒナ"), ("結衣", "ユイ"), ("蓮", "レン"), ("湊", "ミナト"),
    ("陽翔", "ハルト"), ("悠真", "ユウマ"), ("大翔", "ヒロト"), ("颯太", "ソウタ"), ("樹", "イツキ"),
    ("葵", "アオイ"), ("凛", "リン"), ("芽依", "メイ"), ("紬", "ツムギ"), ("さくら", "サクラ"),
    ("美月", "ミツキ"), ("七海", "ナナミ"), ("真由美", "マユミ"), ("恵子", "ケイコ"), ("洋子", "ヨウコ"),
    ("裕子", "ユウコ"), ("直樹", "ナオキ"), ("浩", "ヒロシ"), ("誠", "マコト"), ("学", "マナブ"),
    ("和也", "カズヤ"), ("拓也", "タクヤ"), ("達也", "タツヤ"), ("智子", "トモコ"), ("久美子", "クミコ"),
    ("由美子", "ユミコ"), ("明美", "アケミ"), ("正", "タダシ"), ("清", "キヨシ"), ("勇", "イサム"),
    ("隆", "タカシ"), ("博", "ヒロシ"), ("修", "オサム"), ("亮", "リョウ"), ("舞", "マイ"),
    ("愛", "アイ"), ("彩", "アヤ"), ("優子", "ユウコ"), ("千尋", "チヒロ"), ("香織", "カオリ"),
    ("恵", "メグミ"), ("綾香", "アヤカ"), ("沙織", "サオリ"), ("翼", "ツバサ"), ("涼子", "リョウコ"),
    ("俊介", "シュンスケ"), ("雄一", "ユウイチ"), ("健太", "ケンタ"), ("康介", "コウスケ"), ("亜美", "アミ"),
    ("美穂", "ミホ"), ("直美", "ナオミ"), ("幸子", "サチコ"), ("一郎", "イチロウ"), ("次郎", "ジロウ"),
    ("聡", "サトシ"), ("剛", "ツヨシ"), ("実", "ミノル"), ("翔", "ショウ"), ("大樹", "ダイキ"),
]
# Shares like Japan's: 佐藤 ~1.6% of people, the 150th surname ~0.1%, the top 150 ~30% together;
# the rarest few listed above ~0.005%. The other ~70% of people carry one of ~2,000 composed
# two-kanji surnames (山+崎 → 山崎 ヤマザキ), each rare — as in real data, where the tail is long.
FAMILY_WEIGHTS = [0.016 * (rank + 1) ** -0.55 if rank < 150 else 0.00005 for rank in range(len(FAMILY))]
FAMILY_FIRST = [("山", "ヤマ"), ("川", "カワ"), ("中", "ナカ"), ("松", "マツ"), ("小", "コ"), ("大", "オオ"),
                ("高", "タカ"), ("石", "イシ"), ("森", "モリ"), ("岡", "オカ"), ("西", "ニシ"), ("東", "ヒガシ"),
                ("北", "キタ"), ("南", "ミナミ"), ("宮", "ミヤ"), ("池", "イケ"), ("藤", "フジ"), ("竹", "タケ"),
                ("梅", "ウメ"), ("桜", "サクラ"), ("浜", "ハマ"), ("岩", "イワ"), ("平", "ヒラ"), ("長", "ナガ"),
                ("前", "マエ"), ("今", "イマ"), ("古", "フル"), ("新", "ニイ"), ("福", "フク"), ("吉", "ヨシ"),
                ("金", "カネ"), ("黒", "クロ"), ("白", "シラ"), ("青", "アオ"), ("赤", "アカ"), ("堀", "ホリ"),
                ("杉", "スギ"), ("星", "ホシ"), ("水", "ミズ"), ("柳", "ヤナギ"), ("野", "ノ"), ("木", "キ"),
                ("上", "カミ"), ("下", "シモ"), ("原", "ハラ"), ("千", "チ"), ("菅", "スガ"), ("奥", "オク")]
FAMILY_SECOND = [("田", "ダ"), ("川", "ガワ"), ("村", "ムラ"), ("本", "モト"), ("井", "イ"), ("木", "ギ"),
                 ("野", "ノ"), ("原", "ハラ"), ("島", "ジマ"), ("山", "ヤマ"), ("崎", "ザキ"), ("口", "グチ"),
                 ("部", "ベ"), ("内", "ウチ"), ("瀬", "セ"), ("畑", "バタ"), ("根", "ネ"), ("沢", "ザワ"),
                 ("橋", "バシ"), ("谷", "ヤ"), ("岡", "オカ"), ("尾", "オ"), ("坂", "ザカ"), ("池", "イケ"),
                 ("浦", "ウラ"), ("江", "エ"), ("林", "バヤシ"), ("森", "モリ"), ("宮", "ミヤ"), ("城", "シロ"),
                 ("辺", "ベ"), ("場", "バ"), ("藤", "フジ"), ("塚", "ヅカ"), ("倉", "クラ"), ("葉", "バ"),
                 ("永", "ナガ"), ("浜", "ハマ"), ("石", "イシ"), ("松", "マツ")]
FAMILY_COMPOSED = [(a + b, ka + kb) for a, ka in FAMILY_FIRST for b, kb in FAMILY_SECOND if a != b]
FAMILY_REAL_SHARE = sum(FAMILY_WEIGHTS)
# Given names: the listed ones ~half of people (each ≤ ~2%), composed ones (優+奈 → 優奈 ユウナ) the rest.
GIVEN_WEIGHTS = [(rank + 1) ** -0.5 for rank in range(len(GIVEN))]
GIVEN_FIRST = [("優", "ユウ"), ("健", "ケン"), ("美", "ミ"), ("和", "カズ"), ("真", "マ"), ("智", "トモ"),
               ("直", "ナオ"), ("由", "ユ"), ("恵", "メグ"), ("春", "ハル"), ("夏", "ナツ"), ("秋", "アキ"),
               ("冬", "フユ"), ("光", "ヒカ"), ("孝", "タカ"), ("正", "マサ"), ("英", "ヒデ"), ("千", "チ"),
               ("早", "サ"), ("友", "ユウ"), ("浩", "コウ"), ("康", "ヤス"), ("晴", "ハル"), ("純", "ジュン")]
GIVEN_SECOND = [("子", "コ"), ("美", "ミ"), ("香", "カ"), ("奈", "ナ"), ("太", "タ"), ("介", "スケ"),
                ("也", "ヤ"), ("樹", "キ"), ("斗", "ト"), ("代", "ヨ"), ("枝", "エ"), ("郎", "ロウ"),
                ("司", "ジ"), ("希", "キ"), ("彦", "ヒコ"), ("絵", "エ"), ("人", "ト"), ("平", "ヘイ")]
GIVEN_COMPOSED = [(a + b, ka + kb) for a, ka in GIVEN_FIRST for b, kb in GIVEN_SECOND]
FAMILY_CUM = list(accumulate(FAMILY_WEIGHTS))
GIVEN_CUM = list(accumulate(GIVEN_WEIGHTS))

PLACES = [
    ("100-0001", "東京都千代田区千代田"), ("150-0002", "東京都渋谷区渋谷"), ("154-0004", "東京都世田谷区太子堂"),
    ("530-0001", "大阪府大阪市北区梅田"), ("460-0008", "愛知県名古屋市中区栄"), ("060-0001", "北海道札幌市中央区北一条西"),
    ("812-0011", "福岡県福岡市博多区博多駅前"), ("980-0021", "宮城県仙台市青葉区中央"), ("730-0011", "広島県広島市中区基町"),
    ("220-0011", "神奈川県横浜市西区高島"), ("330-0063", "埼玉県さいたま市浦和区高砂"), ("260-0013", "千葉県千葉市中央区中央"),
    ("600-8216", "京都府京都市下京区東塩小路町"), ("650-0021", "兵庫県神戸市中央区三宮町"), ("900-0015", "沖縄県那覇市久茂地"),
]
GOODS = [("静岡煎茶", 1200), ("玄米茶", 900), ("抹茶", 2400), ("ほうじ茶", 1000), ("有田焼 湯呑み", 3300),
         ("波佐見焼 マグカップ", 2800), ("羊羹", 2160), ("どら焼き", 1620), ("今治タオル フェイス", 1650),
         ("今治タオル バス", 4400), ("米ぬか石けん", 880), ("備長炭", 1980), ("南部鉄器 急須", 8800),
         ("手ぬぐい", 1100), ("柚子胡椒", 650), ("梅干し", 1580), ("干し椎茸", 2300), ("昆布", 1280),
         ("味噌", 980), ("醤油", 760)]
VARIANTS = ["", " 100g", " 200g", " 3個入り", " 6個入り", " ギフト箱", " お徳用", " 限定品", " 小", " 大"]
PAYMENTS = ["クレジットカード", "クレジットカード", "クレジットカード", "楽天ペイ", "銀行振込", "代金引換", "PayPay",
            "コンビニ決済"]
TIME_SLOTS = ["午前中", "14時～16時", "16時～18時", "18時～20時", "19時～21時"]

# (status, share). Deleted orders come on top (they are 確認待 orders that were deleted: R2).
STATUS_SHARES = [("awaiting_confirmation", 0.08), ("confirmed", 0.05), ("awaiting_shipment", 0.05),
                 ("shipping_in_progress", 0.04), ("completed", 0.70), ("cancelled", 0.08)]
DELETED_SHARE = 0.025
ATTENTION_SHARE = 0.03
MANUAL_SHARE = 0.05
GIFT_TAG_SHARE = 0.01
ITEMS_PER_SHOP = 200
OPTIONS = {"color:red": "カラー:レッド", "color:blue": "カラー:ブルー"}  # 項目選択肢 of the variations
UNMAPPED_ITEMS = 20  # the last items of each shop have no mapping
SPAN_DAYS = 3 * 365
# Attention tags plausible for each status (orders.md §5).
ATTENTION_BY_STATUS = {
    "awaiting_confirmation": ["mall_cancelled", "multiple_destinations"],
    "confirmed": ["mall_cancelled"],
    "awaiting_shipment": ["mall_cancelled"],
    "shipping_in_progress": ["warehouse_cancel_refused"],
    "completed": ["shipping_reflection_error"],
    "cancelled": ["mall_reflection_error"],
}

TABLES = ("orders", "order_lines", "order_tags", "shipments")


def _half_width_kana(text: str) -> str:
    """ヤマダ → ﾔﾏﾀﾞ (some CSV files carry half-width kana; NFKC makes them full-width again)."""
    import unicodedata

    out = []
    for ch in text:
        decomposed = unicodedata.normalize("NFD", ch)
        base = decomposed[0]
        half = _HALF.get(base, base)
        out.append(half + ("ﾞ" if "\u3099" in decomposed else "ﾟ" if "\u309a" in decomposed else ""))
    return "".join(out)


_FULL = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンァィゥェォャュョッー"
_HALF_CHARS = "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝｧｨｩｪｫｬｭｮｯｰ"
_HALF = dict(zip(_FULL, _HALF_CHARS))


# ---------------------------------------------------------------- the rows

class Generator:
    def __init__(self, n: int, seed: int, account_id: int, shops: dict, tags: dict, items: dict, now: datetime):
        self.n = n
        self.rng = random.Random(seed)
        self.account_id = account_id
        self.shops = shops          # {"rakuten": id, "yahoo": id}
        self.tags = tags            # code or name -> id
        self.items = items          # shop_id -> [(mall_item_id, sub_codes, name, price, product_id|None)]
        self.now = now
        self.start = now - timedelta(days=SPAN_DAYS)
        self.step = timedelta(days=SPAN_DAYS) / n
        self.line_id = 0
        self.shipment_id = 0
        self.reserved: dict[int, int] = {}
        self._search_base: dict = {}
        statuses, shares = zip(*STATUS_SHARES)
        scale = 1 - DELETED_SHARE
        self.status_choices = (*statuses, "deleted")
        self.status_weights = (*[s * scale for s in shares], DELETED_SHARE)

    # names -------------------------------------------------------
    def person(self) -> dict:
        rng = self.rng
        if rng.random() < FAMILY_REAL_SHARE:
            family, family_kana = rng.choices(FAMILY, cum_weights=FAMILY_CUM)[0]
        else:
            family, family_kana = rng.choice(FAMILY_COMPOSED)
        if rng.random() < 0.5:
            given, given_kana = rng.choices(GIVEN, cum_weights=GIVEN_CUM)[0]
        else:
            given, given_kana = rng.choice(GIVEN_COMPOSED)
        space = "　" if rng.random() < 0.3 else " "  # full-width space is common in Japanese data
        kana = f"{family_kana}{space}{given_kana}"
        r = rng.random()
        if r < 0.03:
            kana = _half_width_kana(f"{family_kana} {given_kana}")
        elif r < 0.05:
            kana = ""  # some malls/CSVs give no kana
        place = rng.choice(PLACES)
        phone = f"0{rng.choice('3456789')}0-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
        return {"name": f"{family}{space}{given}", "name_kana": kana, "phone": phone,
                "email": f"u{rng.randint(1, 10**9)}@example.jp", "postal_code": place[0],
                "address": f"{place[1]}{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"}

    def search_text(self, buyer: dict, recipient: dict) -> str:
        """search_text_for, with the name part memoised (phones are different on every order)."""
        from boss.orders.search import digits, search_text_for

        key = (buyer["name"], buyer["name_kana"], recipient["name"], recipient["name_kana"])
        base = self._search_base.get(key)
        if base is None:
            base = search_text_for(SimpleNamespace(buyer_name=key[0], buyer_name_kana=key[1], recipient_name=key[2],
                                                   recipient_name_kana=key[3], buyer_phone="", recipient_phone=""))
            self._search_base[key] = base
        phones = [p for p in (digits(buyer["phone"]), digits(recipient["phone"])) if p]
        return "|".join([base, *phones])

    # one order ---------------------------------------------------
    def order(self, order_id: int):
        """Returns (order dict, [line tuples], [shipment tuples], [tag ids])."""
        from boss.orders.numbers import number_key

        rng = self.rng
        status = rng.choices(self.status_choices, self.status_weights)[0]
        deleted = status == "deleted"
        if deleted:
            status = "awaiting_confirmation"
        shop_key = "rakuten" if rng.random() < 0.65 else "yahoo"
        shop_id = self.shops[shop_key]
        manual = rng.random() < MANUAL_SHARE
        mall_linked = not manual
        source = "mall_import" if mall_linked else rng.choice(["manual", "csv"])
        ordered_at = (self.start + self.step * order_id + timedelta(seconds=rng.randint(-3600, 3600))).replace(microsecond=0)
        if order_id > self.n - 50 and ordered_at > self.now:
            ordered_at = self.now - timedelta(seconds=self.n - order_id)
        if shop_key == "rakuten":
            number = f"338811-{ordered_at:%Y%m%d}-{order_id:010d}"
        else:
            number = f"bossbench-{10_000_000 + order_id}"

        buyer = self.person()
        recipient = buyer if rng.random() < 0.85 else self.person()
        tag_ids: list[int] = []

        # lines: confirmed and later are fully mapped (§3); some 確認待 wait on unmapped items
        items = self.items[shop_id]
        mapped_items, unmapped_items = items[:-UNMAPPED_ITEMS], items[-UNMAPPED_ITEMS:]
        count = rng.choices((1, 2, 3), (60, 30, 10))[0]
        chosen = rng.sample(mapped_items, count)
        if status == "awaiting_confirmation" and (deleted or rng.random() < 0.15):
            if deleted or rng.random() < 0.5:
                chosen = rng.sample(unmapped_items, count)        # nothing mapped: deletable (R2)
            else:
                chosen[0] = rng.choice(unmapped_items)
        lines = []
        total = 0
        reserve = status == "awaiting_shipment"
        shipment_status = None
        if status == "awaiting_shipment":
            shipment_status = "requested"
        elif status == "shipping_in_progress":
            shipment_status = rng.choices(("shipping", "withdrawal_requested", "not_shippable"), (85, 8, 7))[0]
            reserve = shipment_status in ("shipping", "withdrawal_requested")
        elif status == "completed":
            shipment_status = "shipped"
        for position, (item_id, sub_codes, name, price, product_id) in enumerate(chosen):
            self.line_id += 1
            quantity = rng.choices((1, 2, 3, 5), (70, 20, 7, 3))[0]
            sub_code = rng.choice(sub_codes)
            lines.append((self.line_id, order_id, position, item_id, sub_code, name, quantity, price,
                          OPTIONS.get(sub_code, ""), product_id))
            total += quantity * price
            if reserve and product_id is not None:
                self.reserved[product_id] = self.reserved.get(product_id, 0) + quantity
        if any(line[8] is None for line in lines):
            tag_ids.append(self.tags["unmapped_items"])
        if manual:
            tag_ids.append(self.tags["not_mall_linked"])
        attention = None
        if not deleted and rng.random() < ATTENTION_SHARE:
            attention = rng.choice(ATTENTION_BY_STATUS[status])
            tag_ids.append(self.tags[attention])
        if not deleted and rng.random() < GIFT_TAG_SHARE:
            tag_ids.append(self.tags["ギフト包装"])
        postage = rng.choice((0, 0, 0, 550, 880, None))
        total += postage or 0

        created_at = ordered_at + timedelta(minutes=rng.randint(1, 30))
        updated_at = created_at
        confirmed_at = cancelled_at = deleted_at = None
        cancelled_by = cancel_reason = retrieve_parcel = reflect = reflection_message = deleted_by = None
        reflection_state = "none"
        if status in ("confirmed", "awaiting_shipment", "shipping_in_progress", "completed") or (
                status == "cancelled" and rng.random() < 0.5):
            confirmed_at = ordered_at + timedelta(hours=rng.randint(1, 24))
            updated_at = confirmed_at
        if status == "cancelled":
            cancelled_at = ordered_at + timedelta(hours=rng.randint(2, 72))
            updated_at = cancelled_at
            cancelled_by = BENCH_EMAIL
            cancel_reason = rng.choice((1, 6, 8, 10, 10, 10, 13))
            reflect = mall_linked and shop_key == "rakuten"
            if attention == "mall_reflection_error":
                reflection_state, reflection_message = "failed", "RMSへの反映に失敗しました（ベンチデータ）"
            elif reflect:
                reflection_state = "done"
        if status == "completed":
            updated_at = ordered_at + timedelta(days=rng.randint(1, 5))
        if deleted:
            deleted_at = ordered_at + timedelta(hours=rng.randint(1, 48))
            deleted_by = BENCH_EMAIL
            updated_at = deleted_at
        shipments = []
        if shipment_status:
            self.shipment_id += 1
            requested = (confirmed_at or ordered_at) + timedelta(hours=2)
            tracking = f"{rng.randint(10**11, 10**12 - 1)}" if shipment_status == "shipped" else None
            shipped = shipment_status == "shipped"
            shipments.append({
                "id": self.shipment_id, "order_id": order_id, "status": shipment_status, "tracking_number": tracking,
                "requested_at": requested, "updated_at": updated_at, "request_state": "sent",
                "warehouse_id": f"WS-B{self.shipment_id:08d}", "sent_at": requested,
                "carrier": "yamato" if shipped else None, "shipped_on": updated_at.date() if shipped else None,
                "last_seq": 2 if shipped else (1 if status == "shipping_in_progress" else 0), "notice": "none"})
        delivery_date = None
        slot = None
        if rng.random() < 0.1:
            delivery_date = (ordered_at + timedelta(days=rng.randint(3, 10))).date()
            slot = rng.choice(TIME_SLOTS)
        remarks = "" if rng.random() < 0.8 else f"[配送日時指定:]\n{slot or 'なし'}\n[備考:]\nギフト包装希望"

        payment = rng.choice(PAYMENTS)
        charges = 330 if payment == "代金引換" else 0
        order = {
            "id": order_id, "account_id": self.account_id, "shop_id": shop_id, "mall_order_number": number,
            "mall_order_number_key": number_key(number),
            "source": source, "mall_linked": mall_linked, "status": status, "shipment_status": shipment_status,
            "ordered_at": ordered_at,
            "buyer_name": buyer["name"], "buyer_name_kana": buyer["name_kana"], "buyer_email": buyer["email"],
            "buyer_phone": buyer["phone"], "buyer_postal_code": buyer["postal_code"], "buyer_address": buyer["address"],
            "recipient_name": recipient["name"], "recipient_name_kana": recipient["name_kana"],
            "recipient_email": recipient["email"], "recipient_phone": recipient["phone"],
            "recipient_postal_code": recipient["postal_code"], "recipient_address": recipient["address"],
            "payment_method": payment, "remarks": remarks, "delivery_date": delivery_date,
            "delivery_time_slot": slot, "postage": postage, "total": total, "wrapping": 0,
            "charges": charges, "discount": 0, "points_used": 0, "billed": total + charges,
            "pickup": None, "drop_off": None, "rms_read": None, "rms_read_hash": None,
            "search_text": self.search_text(buyer, recipient),
            "stock_reserved": reserve, "confirmed_at": confirmed_at, "cancelled_at": cancelled_at,
            "cancelled_by": cancelled_by, "cancel_reason_code": cancel_reason, "retrieve_parcel": retrieve_parcel,
            "reflect_cancel_to_rms": reflect, "reflection_state": reflection_state,
            "reflection_message": reflection_message, "shipping_reflection_state": "none",
            "shipping_reflection_message": None, "deleted_at": deleted_at, "deleted_by": deleted_by,
            "created_at": created_at, "updated_at": updated_at, "version": 1,
        }
        return order, lines, shipments, tag_ids


# ---------------------------------------------------------------- setup through the services

def seed_catalogue(app, reset: bool):
    """Schema, account, user, shops, products, mappings and tags — through the app's own code."""
    from flask_migrate import upgrade
    from sqlalchemy import select, text

    from boss.accounts import create_user, find_user
    from boss.extensions import db
    from boss.malls.rakuten.connection import rms_connection_for
    from boss.models import ItemMapping, Product, Shop
    from boss.orders import tags
    from boss.orders.actor import Actor
    from boss.orders.models import Order, Tag
    from boss.orders.shops import create_shop

    with app.app_context():
        if reset:
            if db.engine.dialect.name == "postgresql":
                db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                db.session.commit()
            else:
                db.session.remove()
                db.engine.dispose()
                path = Path(db.engine.url.database)
                for suffix in ("", "-wal", "-shm"):
                    Path(str(path) + suffix).unlink(missing_ok=True)
        upgrade()
        if db.session.scalar(select(Order.id).limit(1)) is not None:
            raise SystemExit("this database has orders already: use --reset (it drops everything) or another database")
        user = find_user(BENCH_EMAIL) or create_user(BENCH_EMAIL, BENCH_PASSWORD, BENCH_ACCOUNT, admin=True,
                                                    name="ベンチ管理者")
        account_id = user.account_id
        actor = Actor("user", user.name, account_id, user.id)
        shops = {}
        for key, name, mall, reflect in (("rakuten", "ベンチ楽天ショップ", "rakuten", True),
                                          ("yahoo", "ベンチYahoo!ショップ", "yahoo", False)):
            shop = db.session.scalars(select(Shop).where(Shop.account_id == account_id, Shop.name == name)).first()
            if shop is None:
                shop = create_shop(actor, name, mall, reflect_cancel_to_rms=reflect)
            shops[key] = shop.id
        rakuten = db.session.get(Shop, shops["rakuten"])
        # "Connected" with placeholders, so that a cancel captures reflect_cancel_to_rms (R9) and
        # writes its outbox row; no worker runs in the benchmarks, so nothing ever calls RMS.
        rms = rms_connection_for(rakuten)
        rms.secrets_enc = {"service_secret": "bench-placeholder", "license_key": "bench-placeholder"}
        rms.key_last4 = "0000"
        db.session.commit()
        if db.session.scalars(select(Tag).where(Tag.account_id == account_id, Tag.name == "ギフト包装")).first() is None:
            tags.create_tag(actor, "ギフト包装", "#16a085", holds=False)
            tags.create_tag(actor, "要確認（電話）", "#e67e22", holds=True)
        tags = {(t.code or t.name): t.id for t in db.session.scalars(select(Tag).where(Tag.account_id == account_id))}

        rng = random.Random(7)
        catalogue = []
        for index in range(ITEMS_PER_SHOP - UNMAPPED_ITEMS):
            goods, price = GOODS[index % len(GOODS)]
            variant = VARIANTS[(index // len(GOODS)) % len(VARIANTS)]
            catalogue.append((f"BN-{index + 1:04d}", f"{goods}{variant}", price + 100 * (index // len(GOODS))))
        products = {}
        for sku, name, _ in catalogue:
            product = db.session.scalars(select(Product).where(Product.account_id == account_id,
                                                               Product.sku == sku)).first()
            if product is None:
                product = Product(account_id=account_id, sku=sku, code=sku, name=name, stock=1_000_000, reserved=0)
                db.session.add(product)
            products[sku] = product
        db.session.flush()
        items = {}
        for key, shop_id in shops.items():
            prefix = "r" if key == "rakuten" else "y"
            shop_items = []
            for index in range(ITEMS_PER_SHOP):
                goods, price = GOODS[index % len(GOODS)]
                mall_item_id = f"{prefix}-bench-{index + 1:04d}"
                sub_codes = [""] if index % 4 else ["", "color:red", "color:blue"]
                if index < ITEMS_PER_SHOP - UNMAPPED_ITEMS:
                    sku, name, price = catalogue[index]
                    product_id = products[sku].id
                    if db.session.scalars(select(ItemMapping).where(
                            ItemMapping.shop_id == shop_id, ItemMapping.mall_item_id == mall_item_id)).first() is None:
                        for sub in sub_codes:
                            db.session.add(ItemMapping(shop_id=shop_id, mall_item_id=mall_item_id, sub_code=sub,
                                                       product_id=product_id))
                else:
                    name, product_id = f"{goods}（未登録商品 {index + 1}）", None
                    price += rng.choice((0, 100, 200))
                shop_items.append((mall_item_id, sub_codes, name, price, product_id))
            items[shops[key]] = shop_items
        db.session.commit()
        return account_id, shops, tags, items


# ---------------------------------------------------------------- loaders

def _columns(table_name: str) -> list[str]:
    from boss.extensions import db

    return [c.name for c in db.metadata.tables[table_name].columns]


class PostgresLoader:
    def __init__(self, url: str):
        import psycopg
        from sqlalchemy.engine import make_url

        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.conn = psycopg.connect(dsn)
        self.indexes: list[tuple[str, str]] = []

    def begin(self) -> None:
        cur = self.conn.cursor()
        # The secondary indexes are built once at the end (much faster than row by row); the
        # constraint indexes (primary keys, unique constraints) stay.
        cur.execute("""select i.indexname, i.indexdef from pg_indexes i
                       where i.schemaname = 'public' and i.tablename = any(%s)
                         and not exists (select 1 from pg_constraint c where c.conname = i.indexname)""",
                    (list(TABLES),))
        self.indexes = cur.fetchall()
        for name, _ in self.indexes:
            cur.execute(f'drop index "{name}"')
        # Rows are consistent by construction: skip the per-row foreign-key triggers.
        cur.execute("set session_replication_role = replica")

    def load(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        cur = self.conn.cursor()
        with cur.copy(f"copy {table} ({', '.join(columns)}) from stdin") as copy:
            for row in rows:
                copy.write_row(row)

    def finish(self, log) -> None:
        cur = self.conn.cursor()
        cur.execute("set session_replication_role = origin")
        cur.execute("set maintenance_work_mem = '1GB'")
        for name, ddl in self.indexes:
            started = time.perf_counter()
            cur.execute(ddl)
            log(f"  index {name}: {time.perf_counter() - started:.1f}s")
        for table in ("orders", "order_lines", "shipments"):
            cur.execute(f"select setval(pg_get_serial_sequence('{table}', 'id'), coalesce((select max(id) from {table}), 1))")
        self.conn.commit()

    def analyze(self) -> None:
        self.conn.autocommit = True
        self.conn.execute("vacuum (analyze)")
        self.conn.close()


class SqliteLoader:
    def __init__(self, url: str):
        self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.execute("PRAGMA cache_size=-1000000")
        self.conn.execute("PRAGMA temp_store=MEMORY")
        self.indexes: list[tuple[str, str]] = []
        self.trigger: tuple[str, str] | None = None

    def begin(self) -> None:
        placeholders = ", ".join("?" * len(TABLES))
        self.indexes = self.conn.execute(
            f"select name, sql from sqlite_master where type = 'index' and sql is not null "
            f"and tbl_name in ({placeholders})", TABLES).fetchall()
        for name, _ in self.indexes:
            self.conn.execute(f'drop index "{name}"')
        # The FTS table is filled in one go at the end ('rebuild') rather than by the insert trigger.
        self.trigger = self.conn.execute(
            "select name, sql from sqlite_master where type = 'trigger' and name = 'orders_fts_insert'").fetchone()
        if self.trigger:
            self.conn.execute(f'drop trigger "{self.trigger[0]}"')
        self.conn.execute("begin")

    @staticmethod
    def _value(value):
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, bool):
            return int(value)
        return value

    def load(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        value = self._value
        self.conn.executemany(
            f"insert into {table} ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
            [tuple(value(v) for v in row) for row in rows])

    def checkpoint(self) -> None:
        self.conn.execute("commit")
        self.conn.execute("begin")

    def finish(self, log) -> None:
        self.conn.execute("commit")
        for name, ddl in self.indexes:
            started = time.perf_counter()
            self.conn.execute(ddl)
            log(f"  index {name}: {time.perf_counter() - started:.1f}s")
        if self.trigger:
            self.conn.execute(self.trigger[1])
            started = time.perf_counter()
            self.conn.execute("insert into orders_fts(orders_fts) values ('rebuild')")
            log(f"  orders_fts rebuild: {time.perf_counter() - started:.1f}s")

    def analyze(self) -> None:
        self.conn.execute("analyze")
        self.conn.execute("pragma wal_checkpoint(truncate)")
        self.conn.close()


# ---------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_target_args(parser)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--chunk", type=int, default=50_000, help="orders per COPY / transaction")
    parser.add_argument("--reset", action="store_true", help="drop everything in the target database first")
    args = parser.parse_args()
    url = target_url(args)
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    timings: dict[str, float] = {}

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - t0:7.1f}s] {message}", flush=True)

    app = make_app(url)
    account_id, shops, tags, items = seed_catalogue(app, args.reset)
    timings["schema_and_catalogue"] = time.perf_counter() - t0
    log(f"schema and catalogue ready (account {account_id}, shops {shops})")

    from boss.extensions import db
    from boss.models import utcnow

    with app.app_context():
        order_columns = _columns("orders")
        line_columns = _columns("order_lines")
        shipment_columns = _columns("shipments")
        tag_columns = _columns("order_tags")
        db.session.remove()
        db.engine.dispose()

    loader = PostgresLoader(url) if url.startswith("postgresql") else SqliteLoader(url)
    loader.begin()
    gen = Generator(args.orders, args.seed, account_id, shops, tags, items,
                    utcnow().replace(microsecond=0))
    started = time.perf_counter()
    checked = 0
    from boss.orders.search import search_text_for

    for first in range(1, args.orders + 1, args.chunk):
        last = min(first + args.chunk - 1, args.orders)
        orders, lines, shipments, order_tags = [], [], [], []
        for order_id in range(first, last + 1):
            order, order_lines, order_shipments, tag_ids = gen.order(order_id)
            if checked < 2000:  # search_text exactly as the app makes it
                expected = search_text_for(SimpleNamespace(**order))
                assert order["search_text"] == expected, (order["search_text"], expected)
                checked += 1
            orders.append(tuple(order[c] for c in order_columns))
            lines.extend(order_lines)
            shipments.extend(order_shipments)
            order_tags.extend((order_id, tag_id) for tag_id in tag_ids)
        loader.load("orders", order_columns, orders)
        loader.load("order_lines", line_columns, lines)
        loader.load("shipments", shipment_columns, [tuple(s.get(c) for c in shipment_columns) for s in shipments])
        loader.load("order_tags", tag_columns, order_tags)
        if hasattr(loader, "checkpoint"):
            loader.checkpoint()
        log(f"orders {last:,}/{args.orders:,} ({gen.line_id:,} lines, {gen.shipment_id:,} shipments)")
    timings["load"] = time.perf_counter() - started

    started = time.perf_counter()
    log("building indexes")
    loader.finish(log)
    timings["indexes"] = time.perf_counter() - started

    started = time.perf_counter()
    app = make_app(url)
    from sqlalchemy import update

    from boss.models import Product
    from boss.orders.counters import recount

    with app.app_context():
        for product_id, quantity in gen.reserved.items():
            db.session.execute(update(Product).where(Product.id == product_id).values(reserved=quantity))
        db.session.commit()
        recount(account_id)
        db.session.remove()
        db.engine.dispose()
    timings["recount"] = time.perf_counter() - started
    log("counters rebuilt (counters.recount)")

    started = time.perf_counter()
    loader.analyze()
    timings["analyze"] = time.perf_counter() - started
    timings["total"] = time.perf_counter() - t0
    log("analysed")

    app = make_app(url)
    machine = machine_info(app)
    with app.app_context():
        from boss.orders.search import status_counts

        counts = status_counts(account_id)
    print("counts:", counts)
    print(f"done: {args.orders:,} orders in {timings['total']:.0f}s "
          + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items() if k != "total"))
    path = write_results("generate", machine, {"orders": args.orders, "lines": gen.line_id,
                                               "shipments": gen.shipment_id, "seed": args.seed,
                                               "counts": counts, "timings_s": {k: round(v, 2) for k, v in timings.items()}})
    print(f"results: {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
