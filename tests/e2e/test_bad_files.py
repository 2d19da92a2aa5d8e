"""Bad raw files: each is read with its bad rows rejected (with the reason and line) or stops the build
with a message that names the file and what is wrong; never a bare traceback.

Most builds run only the staging layer and data_quality (about 10 s each); the header-only file runs
the whole `dbt build`, to show that nothing past staging starts.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.e2e.dbt_runner import Build, dbt_build

STAGING = ("--select", "staging", "int_raw_tables_counted", "data_quality")
HEADER = "transaction_id,customer_id,transacted_at,amount\n"


def _rows(n: int, customer_suffix: str = "") -> list[str]:
    return [f"t{i},c{i % 7}{customer_suffix},2026-01-{i % 28 + 1:02d},{i}.50\n" for i in range(n)]


def _write(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def _quality(build: Build) -> dict[str, tuple]:
    rows = build.query(
        "select table_name, is_present, rows_read, rows_accepted, rows_rejected from marts.data_quality"
    )
    return {name: tuple(rest) for name, *rest in rows}


def _assert_no_traceback(build: Build) -> None:
    assert "Traceback" not in build.output, build.output[-4000:]


# --- one build, one bad file per raw table ----------------------------------------------------------

GARBAGE_TAIL = random.Random(200).randbytes(200)
LATIN1_LINE = 6  # the line (1 = header) that holds a latin-1 customer id


@pytest.fixture(scope="module")
def mixed_build(tmp_path_factory) -> Build:
    raw = tmp_path_factory.mktemp("bad_files_raw")
    lines = [HEADER, *_rows(30)]
    lines[LATIN1_LINE - 1] = "t4,c\xe9lia,2026-01-05,4.50\n"
    transactions = "".join(lines[: LATIN1_LINE - 1]).encode()
    transactions += lines[LATIN1_LINE - 1].encode("latin-1") + "".join(lines[LATIN1_LINE:]).encode()
    # A valid file with 200 random bytes after its last line.
    _write(raw, "transactions.csv", transactions + GARBAGE_TAIL)
    # Byte-order mark, CRLF line ends, semicolons, quoted values.
    _write(
        raw,
        "customers.csv",
        b'\xef\xbb\xbfcustomer_id;signed_up_at;country\r\n"c0";2025-06-01;"FR"\r\nc1;2025-06-02;DE\r\n',
    )
    # Quoted newlines and delimiters inside values; a row with too many and one with too few fields;
    # a stray carriage return (mixed line ends); a blank line.
    _write(
        raw,
        "items.csv",
        b'item_id,category,brand\ni1,"home\nand garden","Acme, Inc."\ni2,toys,x,EXTRA\ni3\r\n'
        b"i4,books,y\r\ri5,food,z\n\ni6,food,z\n",
    )
    _write(raw, "events.csv", b"customer_id,occurred_at,event_type\n")  # header only
    _write(raw, "social_edges.csv", b"")  # 0 bytes
    build = dbt_build(tmp_path_factory.mktemp("bad_files_build"), raw, {"max_reject_share": 1}, args=STAGING)
    assert build.returncode == 0, build.output[-6000:]
    return build


def test_undecodable_line_is_rejected_with_its_line_and_the_rest_builds(mixed_build: Build) -> None:
    rejected = mixed_build.query(
        "select rejection_reason, source_row_number, source_line_number, source_line "
        "from staging.transactions_rejected order by source_line_number"
    )
    reason, row_number, line_number, text = rejected[0]
    assert reason.startswith("undecodable line: not utf-8 text")
    assert (row_number, line_number) == (LATIN1_LINE - 1, LATIN1_LINE)
    assert text.startswith("t4,c")
    # Every good row is accepted, numbered as it sits in the file.
    accepted = mixed_build.query("select transaction_id from staging.stg_raw__transactions")
    assert sorted(i for (i,) in accepted) == sorted(f"t{i}" for i in range(30) if i != 4)
    numbers = mixed_build.query(
        "select parsed_transaction_id, source_row_number from staging.base_raw__transactions "
        "where rejection_reason is null"
    )
    assert all(number == int(tid[1:]) + 1 for tid, number in numbers)


def test_garbage_tail_is_rejected_where_it_is(mixed_build: Build) -> None:
    rejected = mixed_build.query(
        "select rejection_reason, source_row_number, source_line_number from staging.transactions_rejected "
        f"where source_row_number <> {LATIN1_LINE - 1}"
    )
    # The garbage starts on line 32 (the header, 30 rows, then the tail), data row 31: every other
    # reject lies there, none points at a good line, and each says the line could not be read.
    assert rejected
    assert all(row_number >= 31 for _reason, row_number, _line in rejected), rejected
    assert all(line is None or line >= 32 for _reason, _row, line in rejected), rejected
    assert any(line is not None for _reason, _row, line in rejected)  # the reader's own rejects
    assert all(reason.startswith(("undecodable line", "unreadable line")) for reason, *_ in rejected)


def test_bom_crlf_and_semicolons_are_read(mixed_build: Build) -> None:
    rows = mixed_build.query(
        "select customer_id, signed_up_at, country from staging.stg_raw__customers order by 1"
    )
    assert [(c, str(s)[:10], country) for c, s, country in rows] == [
        ("c0", "2025-06-01", "FR"),
        ("c1", "2025-06-02", "DE"),
    ]


def test_quoted_newlines_and_field_counts(mixed_build: Build) -> None:
    accepted = dict(mixed_build.query("select item_id, category from staging.stg_raw__items"))
    assert accepted == {"i1": "home\nand garden", "i4": "books", "i5": "food", "i6": "food"}
    rejected = dict(mixed_build.query("select item_id, rejection_reason from staging.items_rejected"))
    assert rejected == {
        "i2": "unreadable line: more fields than the header",
        "i3": "unreadable line: fewer fields than the header",
    }


def test_empty_and_header_only_optional_files_are_present_with_no_rows(mixed_build: Build) -> None:
    quality = _quality(mixed_build)
    assert quality["events"] == (True, 0, 0, 0)
    assert quality["social_edges"] == (True, 0, 0, 0)
    assert quality["fraud_labels"] == (False, 0, 0, 0)


def test_rows_read_equal_accepted_plus_rejected(mixed_build: Build) -> None:
    for table, (_present, read, accepted, rejected) in _quality(mixed_build).items():
        assert read == accepted + rejected, table
        assert accepted == mixed_build.scalar(f"select count(*) from staging.stg_raw__{table}"), table
        assert rejected == mixed_build.scalar(f"select count(*) from staging.{table}_rejected"), table
    # Only the latin-1 row and the garbage are rejected: the 29 good rows are accepted.
    assert _quality(mixed_build)["transactions"][2] == 29


# --- another encoding, and quotes in the folder name -------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "latin-1"])
def test_the_encoding_var_reads_other_encodings(tmp_path: Path, encoding: str) -> None:
    # A folder whose name holds a single quote, a double quote and glob characters.
    raw = tmp_path / 'it\'s a "quoted" [folder]*' / "raw"
    _write(raw, "transactions.csv", (HEADER + "".join(_rows(12, "é"))).encode(encoding))
    # The folder named as it is (no link beside the build): its quotes and glob characters reach the SQL.
    variables = {"raw_file_encoding": encoding}
    build = dbt_build(tmp_path / "build", raw, variables, args=STAGING, shared_parse=False)
    assert build.returncode == 0, build.output[-4000:]
    assert (
        build.scalar("select count(*) from staging.stg_raw__transactions where customer_id like '%é'") == 12
    )
    present, source_file = build.query(
        "select is_present, source_file from marts.data_quality where table_name = 'transactions'"
    )[0]
    assert present and source_file == str(raw / "transactions.csv")


# --- files that stop the build, and say why ----------------------------------------------------------


def test_header_only_transactions_stop_with_the_file_named(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    _write(raw, "transactions.csv", HEADER.encode())
    # The whole build: nothing past staging may start. The folder named as given, as in the message.
    build = dbt_build(tmp_path / "build", raw, shared_parse=False)
    assert build.returncode != 0
    _assert_no_traceback(build)
    assert f"No transactions to build on: {raw / 'transactions.csv'} has no data rows" in build.output
    assert "IndexError" not in build.output
    # data_quality is still built, and says the file is there.
    assert _quality(build)["transactions"] == (True, 0, 0, 0)
    assert build.scalar("select count(*) from information_schema.tables where table_schema = 'ml'") == 0


def test_unreadable_files_stop_with_the_file_and_the_problem(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    # Another encoding without the var, and a file with no header line: both named in one build.
    _write(raw, "transactions.csv", (HEADER + "".join(_rows(5))).encode("utf-16"))
    _write(raw, "customers.csv", b"c1,2025-01-01\nc2,2025-01-02\n")
    _write(raw, "items.csv", b"")
    build = dbt_build(tmp_path / "build", raw, args=STAGING, shared_parse=False)  # the folder named as given
    assert build.returncode != 0
    _assert_no_traceback(build)
    assert (
        f"Unreadable header in {raw / 'transactions.csv'}: its first line is not utf-8 text" in build.output
    )
    assert "raw_file_encoding" in build.output
    assert f"Required column missing: 'customer_id' is not in {raw / 'customers.csv'}" in build.output


def test_vars_cannot_break_out_of_the_sql(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    _write(raw, "transactions.csv", (HEADER + "".join(_rows(5))).encode())
    # A number var is checked as the project is parsed, before anything runs.
    build = dbt_build(tmp_path / "number", raw, {"max_reject_share": "0.05 or true"}, args=STAGING)
    assert build.returncode != 0
    _assert_no_traceback(build)
    assert "var max_reject_share must be a number, got '0.05 or true'" in build.output
    build = dbt_build(
        tmp_path / "encoding",
        raw,
        {"raw_file_encoding": "cp1252'; drop table x; --"},
        args=("--select", "base_raw__transactions"),
    )
    assert build.returncode != 0
    _assert_no_traceback(build)
    assert "var raw_file_encoding must be utf-8, utf-16 or latin-1" in build.output
