"""Holiday lists for the tests and `hotline calendar` run in-process, as an operator runs it.

`TEST_2027` is test data shaped like a State Council notice (a seven-day Spring Festival
break, a make-up Saturday), not the official 2027 schedule."""

from __future__ import annotations

from pathlib import Path

from hotline import cli

TEST_2027 = """\
year = 2027
notice = "test list, not the official schedule"

[[holiday]]
name = "元旦"
date = 2027-01-01

[[holiday]]
name = "春节"
start = 2027-02-05
end = 2027-02-11

[[workday]]
date = 2027-02-20
name = "春节"
"""


def write_list(directory: Path, text: str = TEST_2027, name: str = "holidays-2027.toml") -> Path:
    path = directory / name
    path.write_text(text, "utf-8")
    return path


def run_hotline(monkeypatch, capsys, db_url: str, *args: str) -> tuple[int, str, str]:
    """`hotline ARGS` through the CLI's `main` on `db_url`: (exit code, stdout, stderr)."""
    monkeypatch.setenv("HOTLINE_DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_CONFIG", "")
    capsys.readouterr()
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err
