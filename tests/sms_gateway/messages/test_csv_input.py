"""Reading operators' CSV files: physical lines in any block size, rows the csv module would
have swallowed or choked on reported by the line they begin on, and the encoding checked or
told before a row is read. The commands that use it are tested in test_reminders.py and
test_broadcasts.py."""

from __future__ import annotations

import io

import pytest

from sms_gateway.messages.csv_input import (
    MAX_ROW_LINES,
    BadRecord,
    EncodingError,
    LongLine,
    Record,
    open_text,
    physical_lines,
    records,
)

TEXT = "phone,due_date\r\n1,\"a\r\nb\"\r2\n\n3,\"x\ny\"\r\n4"
LINES = ["phone,due_date\r\n", "1,\"a\r\n", "b\"\r", "2\n", "\n", "3,\"x\n", "y\"\r\n", "4"]


@pytest.mark.parametrize("block_size", range(1, len(TEXT) + 2))
def test_physical_lines_are_the_same_in_every_block_size(block_size):
    assert list(physical_lines(io.StringIO(TEXT, newline=""), block_size=block_size)) == LINES


@pytest.mark.parametrize("block_size", [1, 2, 3, 7, 64])
def test_a_line_over_the_limit_is_given_as_long_and_its_text_dropped(block_size):
    text = "a,b\r\n" + "x" * 50 + "\r\n" + "y" * 12 + "\rc,d\n" + "z" * 11 + "\n" + "w" * 13
    lines = list(physical_lines(io.StringIO(text, newline=""), limit=12, block_size=block_size))
    assert lines == ["a,b\r\n", LongLine(12), LongLine(12), "c,d\n", "z" * 11 + "\n",
                     LongLine(12)]  # the limit counts the line break


def rows(*lines):
    return list(records(lines))


def test_a_field_over_the_csv_limit_is_a_bad_record_and_reading_goes_on():
    assert rows("a,b\n", f"1,{'x' * 200_000}\n", "2,y\n") == [
        Record(1, ["a", "b"]), BadRecord(2, "a field is longer than 131,072 characters"),
        Record(3, ["2", "y"])]


def test_a_long_line_is_a_bad_record():
    assert rows("a,b\n", LongLine(99), "2,y\n") == [
        Record(1, ["a", "b"]), BadRecord(2, "the line is longer than 99 characters"),
        Record(3, ["2", "y"])]


def test_a_quote_open_before_a_line_that_reads_as_a_row_is_cut_there():
    assert rows("a,b,c\n", "1,\"x,y\n", "2,y,z\n", "3,y,z\n") == [
        Record(1, ["a", "b", "c"]),
        BadRecord(2, "unbalanced quote: a quoted field does not close before line 3, which "
                     "reads as a row of its own"),
        Record(3, ["2", "y", "z"]), Record(4, ["3", "y", "z"])]


def test_a_quote_closed_by_a_later_stray_quote_swallows_no_row():
    # Read as csv reads, lines 2-4 would be one row whose last field holds line 3.
    assert rows("a,b,c\n", "1,x,\"y\n", "2,y,z\n", "3,y,\"z\"\n") == [
        Record(1, ["a", "b", "c"]),
        BadRecord(2, "unbalanced quote: a quoted field does not close before line 3, which "
                     "reads as a row of its own"),
        Record(3, ["2", "y", "z"]), Record(4, ["3", "y", "z"])]


def test_a_quote_open_to_the_end_of_the_file_is_cut_and_the_lines_after_it_read_again():
    assert rows("a,b,c\n", "1,x,\"y\n", "z\n", "w\n") == [
        Record(1, ["a", "b", "c"]),
        BadRecord(2, "unbalanced quote: a quoted field does not close before the end of the "
                     "file"),
        Record(3, ["z"]), Record(4, ["w"])]


def test_a_quoted_field_may_span_lines_but_not_too_many():
    many = ["1,x,\"y\n", *["z\n"] * (MAX_ROW_LINES + 2), "\"\n"]
    assert rows("a,b,c\n", "1,x,\"兰山区\r\n", "金雀山路1号\"\r\n", *many)[:3] == [
        Record(1, ["a", "b", "c"]), Record(2, ["1", "x", "兰山区\r\n金雀山路1号"]),
        BadRecord(4, f"unbalanced quote: a quoted field does not close within {MAX_ROW_LINES} "
                     "lines")]


def test_a_quote_cut_while_reading_lines_again_keeps_every_line_in_order():
    result = rows("a,b\n", "1,\"x\n", "2,\"y\n", "3,z\n")
    assert [(r.line, type(r).__name__) for r in result] == [
        (1, "Record"), (2, "BadRecord"), (3, "BadRecord"), (4, "Record")]


def test_a_byte_order_mark_is_dropped_from_the_first_cell():
    assert rows("\ufeffphone\n", "1\n") == [Record(1, ["phone"]), Record(2, ["1"])]


def write(tmp_path, data: bytes):
    path = tmp_path / "list.csv"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("block_size", [1, 2, 3, 5, 1 << 20])
def test_bad_bytes_are_named_by_line_and_offset_in_every_block_size(tmp_path, block_size):
    path = write(tmp_path, "phone\r\n鲁,Q1\r9".encode() + b"\xe4\xb8\r\n")
    with pytest.raises(EncodingError) as raised:
        open_text(path, "utf-8", block_size=block_size)
    assert str(raised.value) == ("list.csv is not UTF-8 text: line 3, byte offset 15: "
                                 "b'\\xe4\\xb8', invalid continuation byte")
    with pytest.raises(EncodingError, match="line 2, byte offset 9: b'\\\\x81', illegal"):
        open_text(path, "gbk", block_size=block_size)


@pytest.mark.parametrize("block_size", [1, 4, 1 << 20])
def test_a_character_cut_off_at_the_end_is_named(tmp_path, block_size):
    path = write(tmp_path, b"phone\n\n\xe4\xb8")
    with pytest.raises(EncodingError, match="line 3, byte offset 7: b'\\\\xe4\\\\xb8', "
                                            "unexpected end of data"):
        open_text(path, "utf-8", block_size=block_size)


@pytest.mark.parametrize("data, encoding", [
    (b"phone\n13912340001\n", "utf-8"),
    ("\ufeffphone,姓名\n13912340001,鲁Q12345\n".encode(), "utf-8"),
    ("phone,name\n13912340001,王小明\n".encode(), "utf-8"),
    ("手机号,姓名\n13912340001,王小明\n".encode("gbk"), "gb18030")])
def test_auto_tells_utf8_from_gbk(tmp_path, data, encoding):
    source = open_text(write(tmp_path, data), block_size=3)
    assert (source.encoding, source.detected) == (encoding, True)


def test_a_file_that_decodes_both_ways_is_refused_with_both_readings(tmp_path):
    data = "phone,plate\n13912340001,中文\n".encode()
    assert data.decode("gb18030") != data.decode("utf-8")  # both decode, differently
    with pytest.raises(EncodingError) as raised:
        open_text(write(tmp_path, data))
    assert str(raised.value) == (
        "list.csv decodes both as UTF-8 and as GBK (GB18030), so its encoding cannot be told "
        f"(line 2 has '中文' in UTF-8, {data[24:].decode('gb18030').strip()!r} in GBK): "
        "pass --encoding utf-8 or --encoding gbk")


def test_a_file_neither_utf8_nor_gbk_names_both_failures(tmp_path):
    with pytest.raises(EncodingError, match=r"neither UTF-8 text \(line 2, byte offset 6: "
                                            r".*\) nor GBK \(GB18030\) text \(line 2, byte "
                                            r"offset 6"):
        open_text(write(tmp_path, b"phone\n\xff\n"))
