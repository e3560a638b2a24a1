"""The analysis page's figures (智能分析) on hand-made appeals, on both databases: November
2026 beside October (环比), every count and change worked out by hand in the comments; the
planted hot topics found; the planted repeat callers and repeated matters found, numbers
masked; the heat map of hand-made queue passages. Also a generated month whose planted
terms top the hot-topic list."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from hotline.analysis import insights
from hotline.analysis.areas import AreaMap, AreaMapError, load_areas
from hotline.analysis.terms import LexiconError, Segmenter, TermIndex, load_lexicon
from hotline.assessment.periods import period
from schemas.enums import AppealChannel, AppealKind, AppealStatus, Satisfaction, UnitKind
from schemas.live import QueueCall
from schemas.models import Appeal, ApprovalCategory, ApprovalItem, Unit
from tests.support.appeals import SHANGHAI

NOVEMBER = period(dt.date(2026, 11, 1), dt.date(2026, 11, 30), SHANGHAI)
NOW = dt.datetime(2026, 12, 7, tzinfo=dt.timezone.utc)
AREAS = AreaMap(places={"兰山街道": "兰山区", "九曲街道": "河东区"},
                units={"PS-LS": "兰山区", "PS-HD": "河东区"}, districts=("兰山区", "河东区"))
K = AppealKind
C = AppealChannel
S = Satisfaction


def sh(month, day, hour=10, minute=0):
    return dt.datetime(2026, month, day, hour, minute,
                       tzinfo=SHANGHAI).astimezone(dt.timezone.utc)


def _appeals():
    """(when, phone, kind, channel, unit code, area, item code, subject, satisfaction)."""
    rows = []
    # A: 12 in November about charging e-bikes in the stairwell (the planted hot topic).
    for n in range(12):
        rating = S.SATISFIED if n < 5 else S.DISSATISFIED if n < 7 else None
        rows.append((sh(11, n + 1), f"138000001{n:02d}", K.REPORT, C.PHONE, "PS-LS", "兰山街道",
                     None, "楼道里电动车充电有隐患", rating))
    # B: 6 noise complaints, as many as in October (hot, not rising).
    for n in range(6):
        rows.append((sh(11, n + 2), f"138000002{n:02d}", K.COMPLAINT, C.WEB, "PS-HD", "九曲街道",
                     None, "广场舞噪音扰民", S.BASICALLY_SATISFIED if n < 3 else None))
    # C: 4 about things thrown from high floors, none in October (rising).
    for n in range(4):
        rows.append((sh(11, n + 13), f"138000003{n:02d}", K.REPORT, C.SMS, None, None, None,
                     "小区高空抛物", None))
    # D: a repeat caller: three appeals in 17 days, of three kinds.
    rows += [(sh(11, 3), "13900000001", K.CONSULTATION, C.PHONE, None, None, "HZ-1",
              "户口迁移材料", None),
             (sh(11, 10), "13900000001", K.HELP, C.PHONE, None, None, None, "钥匙丢失开锁", None),
             (sh(11, 20), "13900000001", K.COMPLAINT, C.PHONE, "PS-LS", None, None, "窗口态度差",
              None)]
    # E: a repeat caller whose window began in October: 25 and 28 October, 2 November.
    rows += [(sh(10, 25), "13900000004", K.HELP, C.PHONE, None, None, None, "车辆被刮", None),
             (sh(10, 28), "13900000004", K.COMPLAINT, C.PHONE, None, None, None, "停车位被占",
              None),
             (sh(11, 2), "13900000004", K.CONSULTATION, C.PHONE, None, None, "CRJ-1",
              "护照办理时间", None)]
    # F: one matter twice in a week: two items of the 户政 category.
    rows += [(sh(11, 5), "13900000005", K.CONSULTATION, C.PHONE, None, None, "HZ-1",
              "户口迁移进度", None),
             (sh(11, 12), "13900000005", K.CONSULTATION, C.PHONE, None, None, "HZ-2",
              "身份证补办", None)]
    # G: three appeals, but never three within 30 days; two of one kind 19 days apart.
    rows += [(sh(10, 1), "13900000002", K.HELP, C.PHONE, None, None, None, "开锁", None),
             (sh(10, 20), "13900000002", K.HELP, C.PHONE, None, None, None, "开锁", None),
             (sh(11, 25), "13900000002", K.DISPUTE, C.PHONE, None, None, None, "邻里纠纷", None)]
    # H: one kind twice, 24 days apart: more than the 15 days of a repeated matter.
    rows += [(sh(11, 1), "13900000006", K.HELP, C.PHONE, None, None, None, "老人走失", None),
             (sh(11, 25), "13900000006", K.HELP, C.PHONE, None, None, None, "老人走失", None)]
    # October: I (one e-bike appeal), J (6 noise complaints).
    rows.append((sh(10, 5), "13800000401", K.REPORT, C.PHONE, "PS-LS", "兰山街道", None,
                 "楼道里电动车充电有隐患", None))
    for n in range(6):
        rows.append((sh(10, n + 10), f"138000005{n:02d}", K.COMPLAINT, C.WEB, "PS-HD",
                     "九曲街道", None, "广场舞噪音扰民", None))
    # Outside both periods: the 1st of December.
    rows.append((sh(12, 1), "13900000001", K.HELP, C.PHONE, None, None, None, "小区高空抛物",
                 None))
    return rows


def build(session, rows=None) -> None:
    units = {}
    for code, name in (("PS-LS", "兰山派出所"), ("PS-HD", "河东派出所")):
        unit = Unit(code=code, name=name, kind=UnitKind.STATION, active=True)
        session.add(unit)
        session.flush()
        units[code] = unit.id
    items = {}
    for code, name, entries in (("HZ", "户政", (("HZ-1", "户口迁移"), ("HZ-2", "身份证办理"))),
                                ("CRJ", "出入境", (("CRJ-1", "护照"),))):
        category = ApprovalCategory(code=f"T-{code}", name=name)
        session.add(category)
        session.flush()
        for item_code, item_name in entries:
            item = ApprovalItem(code=f"T-{item_code}", category_id=category.id, name=item_name)
            session.add(item)
            session.flush()
            items[item_code] = item.id
    for n, (at, phone, kind, channel, unit, area, item, subject, rating) in enumerate(
            rows if rows is not None else _appeals()):
        session.add(Appeal(case_number=f"2026{n:09d}", channel=channel, kind=kind,
                           status=AppealStatus.RESOLVED if rating else AppealStatus.RECEIVED,
                           subject=subject, body="", citizen_phone=phone, phone_tail=phone[-4:],
                           area=area, approval_item_id=items.get(item) if item else None,
                           unit_id=units.get(unit) if unit else None, deadline_at=at,
                           satisfaction=rating, created_at=at, updated_at=at))
    # The heat map: Monday 2 November 09:xx and Tuesday 3 November 14:00.
    calls = [(sh(11, 2, 9, 10), "completed", 10), (sh(11, 2, 9, 20), "abandoned", 20),
             (sh(11, 2, 9, 30), "abandoned", 3),  # a short abandon: not offered
             (sh(11, 2, 9, 40), "left", None), (sh(11, 3, 14), "answered", 4),
             (sh(11, 3, 15), "waiting", None),  # not offered yet
             (sh(11, 30, 23, 59), "abandoned", None),  # Monday 23:xx, no recorded wait
             (sh(10, 31, 9), "completed", 1)]  # October's
    for n, (joined, outcome, hold) in enumerate(calls):
        session.add(QueueCall(caller_uniqueid=f"17.{n}", queue="hotline", caller="13812345678",
                              joined_at=joined, outcome=outcome, hold_s=hold))
    session.flush()


@pytest.fixture
def built(database):
    database.write_now(build)
    return database


@pytest.fixture(scope="module")
def segmenter():
    return Segmenter(load_lexicon())  # jieba loads once for the module


@pytest.fixture
def index(segmenter):
    return TermIndex(segmenter)  # its day cache is of one database


def report(database, index, compare="previous", areas=AREAS):
    return database.read_now(insights.analysis_report, NOVEMBER, compare, zone=SHANGHAI,
                             areas=areas, index=index, settings=insights.Settings(), now=NOW)


def rows(breakdown):
    return {r.label: (r.current, r.previous, r.delta, r.change) for r in breakdown.rows}


def test_appeals_by_kind_channel_area_unit_and_category_beside_the_month_before(built, index):
    r = report(built, index)
    assert r.comparison == period(dt.date(2026, 10, 1), dt.date(2026, 10, 31), SHANGHAI)
    # November 31 appeals (A12 B6 C4 D3 E1 F2 G1 H2); October 11 (I1 J6 E2 G2).
    assert r.breakdown("kind").total.current == 31 and r.breakdown("kind").total.previous == 11
    assert rows(r.breakdown("kind")) == {
        "举报": (16, 1, 15, 15.0),  # A12 + C4; I
        "投诉": (7, 7, 0, 0.0),  # B6 + D; J6 + E
        "咨询": (4, 0, 4, None),  # D + E + F2; none: no change to give
        "求助": (3, 3, 0, 0.0),  # D + H2; E + G2
        "纠纷": (1, 0, 1, None)}  # G
    assert rows(r.breakdown("channel")) == {"电话": (21, 5, 16, 3.2), "网站": (6, 6, 0, 0.0),
                                            "短信": (4, 0, 4, None)}
    # 兰山区: A12 by area, D's 20 November by its unit; 河东区: B6; the rest neither.
    assert rows(r.breakdown("area")) == {"兰山区": (13, 1, 12, 12.0), "未归属区县": (12, 4, 8, 2.0),
                                         "河东区": (6, 6, 0, 0.0)}
    assert rows(r.breakdown("unit")) == {"兰山派出所": (13, 1, 12, 12.0),
                                         "未交办": (12, 4, 8, 2.0), "河东派出所": (6, 6, 0, 0.0)}
    assert rows(r.breakdown("category")) == {"未关联审批事项": (27, 11, 16, 1.4545),
                                             "户政": (3, 0, 3, None), "出入境": (1, 0, 1, None)}
    assert rows(r.breakdown("item")) == {"未关联审批事项": (27, 11, 16, 1.4545),
                                         "户政 / 户口迁移": (2, 0, 2, None),
                                         "出入境 / 护照": (1, 0, 1, None),
                                         "户政 / 身份证办理": (1, 0, 1, None)}


def test_the_same_month_a_year_before_and_areas_as_typed_without_a_map(built, index):
    r = report(built, index, compare="year", areas=AreaMap())
    assert (r.comparison.first, r.comparison.last) == (dt.date(2025, 11, 1), dt.date(2025, 11, 30))
    assert r.breakdown("kind").total.previous == 0
    assert rows(r.breakdown("area")) == {"未填区域": (13, 0, 13, None), "兰山街道": (12, 0, 12, None),
                                         "九曲街道": (6, 0, 6, None)}


def test_satisfaction_by_unit_and_category_with_its_counts_and_small_samples(built, index):
    r = report(built, index)
    by_unit = {s.label: (s.satisfied, s.basically, s.dissatisfied, s.rated, s.rate, s.small)
               for s in r.satisfaction_by_unit}
    assert by_unit == {"兰山派出所": (5, 0, 2, 7, 0.7143, True),
                       "河东派出所": (0, 3, 0, 3, 1.0, True)}
    assert [(s.label, s.rated) for s in r.satisfaction_by_category] == [("未关联审批事项", 10)]


def test_the_planted_hot_topics_and_the_fastest_rising(built, index):
    topics = report(built, index).topics
    hot = {t.term: (t.current, t.previous) for t in topics.hot}
    assert hot["电动车充电"] == (12, 1)  # the user dictionary keeps it whole
    assert hot["噪音扰民"] == (6, 6)
    assert hot["高空抛物"] == (4, 0)
    assert [t.term for t in topics.hot][0] in {"电动车充电", "楼道", "隐患"}
    rising = [t.term for t in topics.rising]
    assert "电动车充电" in rising and "高空抛物" in rising
    assert "噪音扰民" not in rising  # as many as in October
    assert not {"的", "有", "里"} & set(hot)  # stop words and single characters
    assert topics.appeals == 31 and topics.previous_appeals == 11


def test_the_term_index_keeps_ended_days_and_segments_today_again(built, index):
    fresh = TermIndex(Segmenter(load_lexicon()))
    first = report(built, fresh).topics
    assert len(fresh._days) == 61  # November and October, both over at NOW
    built.write_now(lambda s: s.add(Appeal(
        case_number="2099000000001", channel=C.PHONE, kind=K.HELP, status=AppealStatus.RECEIVED,
        subject="电动车充电", body="", citizen_phone="13700000000", deadline_at=sh(11, 30),
        created_at=sh(11, 30), updated_at=sh(11, 30))))
    assert report(built, fresh).topics == first  # an ended day is read from memory
    assert report(built, TermIndex(Segmenter(load_lexicon()))).topics.appeals == 32


def test_the_planted_repeat_callers_are_found_and_masked(built, index):
    callers = report(built, index).repeat_callers
    assert [(c.phone, c.appeals) for c in callers] == [("139****0001", 3), ("139****0004", 3)]
    assert callers[1].first == sh(10, 25) and callers[1].last == sh(11, 2)
    assert all("13900000" not in c.phone for c in callers)


def test_the_planted_repeated_matters_are_found(built, index):
    matters = report(built, index).repeated_matters
    assert [(m.phone, m.matter, m.appeals) for m in matters] == [("139****0005", "户政", 2)]


def test_a_shorter_window_finds_fewer(built, index):
    found = built.read_now(insights.repeat_callers, NOVEMBER,
                           insights.Settings(repeat_days=7))  # E spans 8 days
    assert found == ()
    found = built.read_now(insights.repeated_matters, NOVEMBER,
                           insights.Settings(repeat_matter_days=30))
    assert {(m.phone, m.matter) for m in found} == {("139****0005", "户政"),
                                                   ("139****0006", "求助")}


def test_the_heat_map_counts_calls_offered_and_abandoned_by_weekday_and_hour(built):
    heat = built.read_now(insights.heat_map, NOVEMBER, SHANGHAI)
    assert heat.cells == {(0, 9): insights.HeatCell(3, 1), (1, 14): insights.HeatCell(1, 0),
                          (0, 23): insights.HeatCell(1, 1)}
    assert heat.cell(0, 9).abandon_rate == 0.3333
    assert (heat.offered, heat.abandoned, heat.peak) == (5, 2, 3)


def test_a_term_links_to_its_appeals_with_the_numbers_masked(built):
    found = built.read_now(insights.term_appeals, "高空抛物", NOVEMBER)
    assert [row[5] for row in found] == ["138****0303", "138****0302", "138****0301",
                                         "138****0300"]
    assert built.read_now(insights.term_appeals, "100%_", NOVEMBER) == []


FILLER = ["咨询户口迁移需要哪些材料", "身份证丢失怎么补办", "驾驶证到期换证", "孩子上学居住证办理",
          "小区门口违停", "反映路灯不亮", "询问护照办理进度", "夜间施工扰民", "钱包丢失求助",
          "邻里纠纷调解", "快递柜被占用", "车辆年检预约"]


def test_a_generated_month_has_its_planted_terms_on_top(database, index):
    rng = random.Random(22)
    rows = []
    for n in range(600):
        day = rng.randint(1, 30)
        subject = rng.choice(FILLER)
        if n % 3 == 0:
            subject = rng.choice(["网络刷单被骗", "刷单返利诈骗", "遭遇刷单诈骗"])
        elif n % 3 == 1:
            subject = rng.choice(["飞线充电隐患", "楼下飞线充电"])
        rows.append((sh(11, day, rng.randint(8, 20)), f"137{n:08d}", K.HELP, C.PHONE, None,
                     None, None, subject, None))
    for n in range(300):
        rows.append((sh(10, rng.randint(1, 31)), f"136{n:08d}", K.HELP, C.PHONE, None, None,
                     None, rng.choice(FILLER), None))
    database.write_now(build, rows)
    topics = report(database, index).topics
    assert {t.term for t in topics.hot[:2]} == {"刷单", "飞线充电"}  # 200 each; a filler's ~35
    assert {t.term for t in topics.rising[:2]} == {"刷单", "飞线充电"}  # none in October


def test_the_bureaus_files_add_and_remove_words(tmp_path):
    words = tmp_path / "dictionary.txt"
    words.write_text("# 本局\n沂河路 10 ns\n-夜市\n", "utf-8")
    stops = tmp_path / "stop.txt"
    stops.write_text("隐患\n-请问\n", "utf-8")
    lexicon = load_lexicon(words, stops)
    assert ("沂河路", 10, "ns") in lexicon.words
    assert "夜市" not in {w for w, _, _ in lexicon.words}
    assert "隐患" in lexicon.stop_words and "请问" not in lexicon.stop_words
    assert Segmenter(lexicon).terms("沂河路电动车充电隐患") == {"沂河路", "电动车充电"}
    words.write_text("沂河路 很多\n", "utf-8")
    with pytest.raises(LexiconError, match="line 1"):
        load_lexicon(words)
    with pytest.raises(LexiconError, match="cannot read"):
        load_lexicon(tmp_path / "absent.txt")


def test_the_areas_file_is_read_and_checked(tmp_path):
    path = tmp_path / "areas.toml"
    path.write_text('[[district]]\nname = "兰山区"\nplaces = ["兰山街道"]\nunits = ["PS-LS"]\n',
                    "utf-8")
    areas = load_areas(path)
    assert areas.district("兰山街道", None) == "兰山区"
    assert areas.district(None, "PS-LS") == "兰山区"
    assert areas.district("别处", "PS-X") == "未归属区县"
    path.write_text('[[district]]\nplaces = ["兰山街道"]\n', "utf-8")
    with pytest.raises(AreaMapError, match="no name"):
        load_areas(path)
    example = load_areas("config/analysis-areas.example.toml")
    assert example.districts == ("兰山区", "河东区", "罗庄区")
