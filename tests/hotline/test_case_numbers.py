"""Case numbers are distinct under concurrency and dated in Asia/Shanghai."""

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from hotline.appeals.case_numbers import next_case_number
from hotline.config import DatabaseConfig
from hotline.db import Database, make_engine
from schemas.models import Appeal
from tests.support.appeals import SHANGHAI, make_repository, new_appeal, utc

REPO = make_repository()


def test_appeal_at_2330_utc_belongs_to_the_next_shanghai_day(database):
    late = utc(2026, 12, 1, 23, 30)  # 07:30 on the 2nd in Shanghai
    record = database.write_now(REPO.create, new_appeal(), actor="a", now=late)
    assert record.case_number == "2026120200001"


def test_sequence_restarts_each_day_and_numbers_are_digits(database):
    numbers = [database.write_now(next_case_number, utc(2026, 12, 1, 15, 59), SHANGHAI),
               database.write_now(next_case_number, utc(2026, 12, 1, 16, 0), SHANGHAI),
               database.write_now(next_case_number, utc(2026, 12, 1, 16, 1), SHANGHAI)]
    assert numbers == ["2026120100001", "2026120200001", "2026120200002"]
    assert all(n.isdigit() for n in numbers)


def test_rolled_back_appeal_leaves_a_gap_not_a_duplicate(database):
    def create_then_fail(session):
        REPO.create(session, new_appeal(), actor="a", now=utc(2026, 12, 1, 2, 0))
        raise RuntimeError("boom")

    first = database.write_now(REPO.create, new_appeal(), actor="a", now=utc(2026, 12, 1, 2, 0))
    with pytest.raises(RuntimeError):
        database.write_now(create_then_fail)
    second = database.write_now(REPO.create, new_appeal(), actor="a", now=utc(2026, 12, 1, 2, 0))
    assert first.case_number == "2026120100001"
    assert second.case_number == "2026120100002"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_eight_threads_creating_500_each_get_4000_distinct_numbers(db_url):
    db = Database(make_engine(DatabaseConfig(url=db_url, pool_threads=8)), reactor=None, threads=8)
    now = utc(2026, 11, 28, 3, 0)
    start = threading.Barrier(8)

    def worker(_):
        start.wait()
        return [db.write_now(REPO.create, new_appeal(), actor="t", now=now).case_number
                for _ in range(500)]

    with ThreadPoolExecutor(8) as pool:
        numbers = [n for batch in pool.map(worker, range(8)) for n in batch]
    assert len(numbers) == 4000
    assert len(set(numbers)) == 4000
    count = db.read_now(lambda s: s.scalar(select(func.count()).select_from(Appeal)))
    assert count == 4000
    db.engine.dispose()


WORKER = """
import sys
from hotline.config import DatabaseConfig
from hotline.db import Database, make_engine
from tests.support.appeals import make_repository, new_appeal, utc
repo = make_repository()
db = Database(make_engine(DatabaseConfig(url=sys.argv[1], pool_threads=2)), reactor=None)
now = utc(2026, 11, 28, 3, 0)
sys.stdin.readline()  # start together
from concurrent.futures import ThreadPoolExecutor
def batch(_):
    return [db.write_now(repo.create, new_appeal(), actor="p", now=now).case_number
            for _ in range(500)]
with ThreadPoolExecutor(2) as pool:
    for numbers in pool.map(batch, range(2)):
        print(" ".join(numbers), flush=True)
"""


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_four_processes_of_two_threads_creating_500_each_get_4000_distinct_numbers(db_url):
    processes = [subprocess.Popen([sys.executable, "-c", WORKER, db_url], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True) for _ in range(4)]
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    numbers = []
    for process in processes:
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0
        numbers += out.split()
    assert len(numbers) == 4000
    assert len(set(numbers)) == 4000
