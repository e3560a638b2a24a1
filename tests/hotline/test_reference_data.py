from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline.reference_data import (
    ReferenceDataError,
    load_catalogue,
    load_units,
    parse_catalogue,
    parse_units,
    shipped_catalogue,
)
from schemas.models import ApprovalCategory, ApprovalItem, Unit

UNITS = Path(__file__).resolve().parents[2] / "config" / "units.example.toml"


def count(db, model, *where):
    return db.read_now(lambda s: s.scalar(select(func.count()).select_from(model).where(*where)))


def test_shipped_catalogue_has_the_ten_categories():
    parsed = parse_catalogue(shipped_catalogue())
    assert len(parsed) == 10
    assert {"户籍管理", "出入境管理", "机动车管理", "驾驶证管理", "治安管理许可"} <= {p[1] for p in parsed}


def test_loading_twice_changes_nothing_and_a_dropped_item_is_deactivated(database):
    first = database.write_now(load_catalogue, shipped_catalogue())
    assert first.added > 50 and first.updated == 0
    again = database.write_now(load_catalogue, shipped_catalogue())
    assert again.added == 0 and again.deactivated == 0
    assert count(database, ApprovalCategory) == 10
    smaller = shipped_catalogue().replace('["HJ001", "出生登记"], ', "")
    summary = database.write_now(load_catalogue, smaller)
    assert summary.deactivated == 1
    assert count(database, ApprovalItem, ApprovalItem.active.is_(False)) == 1


@pytest.mark.parametrize("text, message", [
    ("nonsense = [", "not valid TOML"),
    ("x = 1", "expected [[category]] tables"),
    ('[[category]]\ncode = "A"\n', "needs a code and a name"),
    ('[[category]]\ncode = "A"\nname = "a"\nitems = [["A1"]]\n', "must be [code, name]"),
    ('[[category]]\ncode = "A"\nname = "a"\nitems = [["A1", "x"], ["A1", "y"]]\n', "A1 appears twice"),
])
def test_malformed_catalogue_is_refused_naming_the_entry(text, message):
    with pytest.raises(ReferenceDataError, match=message.replace("[", r"\[")):
        parse_catalogue(text)


def test_units_load_by_code(database, tmp_path):
    assert database.write_now(load_units, UNITS).added == 7
    assert database.write_now(load_units, UNITS).updated == 7
    assert count(database, Unit) == 7
    bad = tmp_path / "bad.toml"
    bad.write_text('[[unit]]\ncode = "X"\nname = "x"\nkind = "castle"\n', encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="kind must be one of"):
        database.write_now(load_units, bad)


UNIT = '[[unit]]\ncode = "{code}"\nname = "兰山派出所"\nkind = "station"\n'


@pytest.mark.parametrize("text, message", [
    ('# units\n\n[unit]\ncode = "PS"\nname = "兰山派出所"\nkind = "station"\n',
     "units.toml line 3: write [[unit]] (one table per unit), not [unit]"),
    (UNIT.format(code="PS") + "\n" + UNIT.format(code="HD") + "\n" + UNIT.format(code="PS"),
     "units.toml line 11: unit code PS appears twice (first at line 1)"),
    (UNIT.format(code="PS") + 'kidn = "x"\n', "units.toml line 5: unknown key 'kidn' in [[unit]]"),
    (UNIT.format(code="PS").replace("station", "castle"),
     "units.toml line 4: unit PS: kind must be one of"),
    ('[[units]]\ncode = "PS"\n', "units.toml line 1: unknown key 'units'; expected [[unit]]"),
    ("", "units.toml: expected [[unit]] tables"),
])
def test_a_malformed_units_file_is_refused_with_its_line(database, tmp_path, text, message):
    path = tmp_path / "units.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReferenceDataError) as raised:
        database.write_now(load_units, path)
    assert str(raised.value).startswith(f"{tmp_path}/{message}")
    assert count(database, Unit) == 0


CATEGORY = '[[category]]\ncode = "{code}"\nname = "户籍管理"\nitems = [\n  ["{code}1", "出生登记"],\n]\n'


@pytest.mark.parametrize("text, message", [
    ('[category]\ncode = "HJ"\nname = "户籍管理"\n',
     "catalogue line 1: write [[category]] (one table per category), not [category]"),
    (CATEGORY.format(code="HJ") + "\n" + CATEGORY.format(code="HJ").replace("HJ1", "HJ2"),
     "catalogue line 8: category code HJ appears twice (first at line 1)"),
    (CATEGORY.format(code="HJ") + "\n" + CATEGORY.format(code="SF").replace("SF1", "HJ1"),
     "catalogue line 12: item code HJ1 appears twice (first at line 5)"),
    (CATEGORY.format(code="HJ") + 'itmes = []\n', "catalogue line 7: unknown key 'itmes'"),
])
def test_a_malformed_catalogue_is_refused_with_its_line(text, message):
    with pytest.raises(ReferenceDataError) as raised:
        parse_catalogue(text)
    assert str(raised.value).startswith(message)


def test_the_shipped_files_have_no_repeated_code():
    assert len(parse_units(UNITS.read_text("utf-8"))) == 7
    assert sum(len(items) for _, _, items in parse_catalogue(shipped_catalogue())) > 50


def test_a_units_duty_contact_and_phone_load_normalised_kept_when_absent_cleared_when_empty(
        database, tmp_path):
    def duty(code="PS"):
        return database.read_now(lambda s: (lambda u: (u.duty_contact, u.duty_phone))(
            s.scalar(select(Unit).where(Unit.code == code))))

    path = tmp_path / "units.toml"
    path.write_text(UNIT.format(code="PS") + 'duty_contact = "值班室"\n'
                    'duty_phone = "139-0000-0001"\n', encoding="utf-8")
    database.write_now(load_units, path)
    assert duty() == ("值班室", "13900000001")
    path.write_text(UNIT.format(code="PS"), encoding="utf-8")  # the file says nothing of them
    database.write_now(load_units, path)
    assert duty() == ("值班室", "13900000001")
    path.write_text(UNIT.format(code="PS") + 'duty_contact = ""\nduty_phone = ""\n',
                    encoding="utf-8")
    database.write_now(load_units, path)
    assert duty() == (None, None)
    assert database.write_now(load_units, UNITS).added == 7
    assert duty("PS-LS") == ("兰山派出所值班室", "13900000001")


def test_a_units_duty_phone_that_is_no_number_is_refused_with_its_line(database, tmp_path):
    path = tmp_path / "units.toml"
    path.write_text(UNIT.format(code="PS") + 'duty_phone = "值班电话"\n', encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="units.toml line 5: unit PS: duty_phone"):
        database.write_now(load_units, path)
    assert count(database, Unit) == 0
