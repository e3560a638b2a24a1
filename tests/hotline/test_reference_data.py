from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline.reference_data import (ReferenceDataError, load_catalogue, load_units,
                                    parse_catalogue, shipped_catalogue)
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
