"""Fuzz the raw loading with generated CSV bytes: it never crashes, and every row is accounted for.

Each example is a whole raw folder (one file per table of the data contract), loaded by one dbt build
of the staging layer and data_quality (about 10 s), so a few examples cover many files. Six tables get
line-structured files (each line one row, so every line's fate can be checked exactly): rows with
random text, rows holding bytes that are not UTF-8, rows with too many or too few fields, under a comma,
semicolon or tab delimiter and LF or CRLF line ends. The events table gets arbitrary bytes (quotes,
newlines, carriage returns, NULs) after its header, where only the invariants are checked. The
examples are derandomized, so CI runs the same ones every time.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.e2e.dbt_runner import dbt_build

COLUMNS = {
    "transactions": ["transaction_id", "customer_id", "transacted_at", "amount", "status"],
    "transaction_items": ["transaction_id", "item_id", "quantity", "unit_price"],
    "items": ["item_id", "category", "brand", "price"],
    "customers": ["customer_id", "signed_up_at", "country"],
    "social_edges": ["customer_id", "related_customer_id", "relation"],
    "fraud_labels": ["transaction_id", "is_fraud"],
}
ARBITRARY_TABLE = "events"
ARBITRARY_HEADER = b"customer_id,occurred_at,event_type\n"
# One usable transaction first, so the staging layer always has something to build on.
GOOD_TRANSACTION = ["t-good", "c-good", "2026-01-01 10:00:00", "12.50", "completed"]

# Field text: anything but the structure's own characters (delimiters, quote, line ends) and chr(2),
# the reader's null marker (load_raw: nullstr).
FIELD = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters=',;\t"\r\n\x02', max_codepoint=0x2FFF),
    max_size=12,
)
# Byte sequences that are not UTF-8: a lone continuation byte, a truncated sequence, latin-1, an
# overlong encoding, a surrogate, bytes never valid.
INVALID_UTF8 = st.sampled_from(
    [b"\x80", b"\xc3", b"\xe9t\xe9", b"\xc0\xaf", b"\xed\xa0\x80", b"\xff\xfe", b"\xf8\x88\x80\x80\x80"]
)


@st.composite
def structured_line(draw, n_columns: int) -> tuple[str, list[str], bytes | None]:
    """(kind, fields, invalid bytes or None): kind is 'row', 'undecodable', 'more' or 'fewer'."""
    kind = draw(st.sampled_from(["row", "row", "undecodable", "more", "fewer"]))
    count = {
        "more": n_columns + draw(st.integers(1, 2)),
        "fewer": max(1, n_columns - draw(st.integers(1, 2))),
    }.get(kind, n_columns)
    fields = draw(st.lists(FIELD, min_size=count, max_size=count))
    if kind == "fewer" and not "".join(fields).strip():
        fields[0] = "x"  # a blank line is no row at all: the reader skips it
    invalid = draw(INVALID_UTF8) if kind == "undecodable" else None
    return kind, fields, invalid


@st.composite
def structured_file(draw, columns: list[str]) -> tuple[bytes, list[str]]:
    """A file's bytes and the kind of each of its data lines, in order."""
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"])).encode()
    lines = draw(st.lists(structured_line(len(columns)), max_size=12))
    if columns is COLUMNS["transactions"]:
        lines = [("row", GOOD_TRANSACTION, None), *lines]
    out = [delimiter.join(columns).encode()]
    for _kind, fields, invalid in lines:
        encoded = [field.encode() for field in fields]
        if invalid is not None:
            at = draw(st.integers(0, len(encoded) - 1))
            encoded[at] = encoded[at] + invalid
        out.append(delimiter.encode().join(encoded))
    return newline.join(out) + newline, [kind for kind, _fields, _invalid in lines]


FOLDER = st.fixed_dictionaries(
    {
        **{table: structured_file(columns) for table, columns in COLUMNS.items()},
        ARBITRARY_TABLE: st.lists(
            st.one_of(
                st.binary(min_size=1, max_size=30),
                st.sampled_from([b"\n", b"\r", b"\r\n", b'"', b'""', b",", b"\x00", b"\xef\xbb\xbf"]),
            ),
            max_size=30,
        ).map(lambda parts: ARBITRARY_HEADER + b"".join(parts)),
    }
)


@settings(
    max_examples=4,
    derandomize=True,
    database=None,
    deadline=None,
    # A failing example is reported as generated: shrinking would run dozens of dbt builds.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(folder=FOLDER)
def test_generated_files_never_crash_and_every_row_is_accounted_for(tmp_path_factory, folder) -> None:
    work = tmp_path_factory.mktemp("fuzz")
    raw = work / "raw"
    raw.mkdir()
    for table, content in folder.items():
        data = content if table == ARBITRARY_TABLE else content[0]
        (raw / f"{table}.csv").write_bytes(data)
    build = dbt_build(
        work / "build",
        raw,
        {"max_reject_share": 1},
        args=("--select", "staging", "int_raw_tables_counted", "data_quality"),
    )
    assert build.returncode == 0, build.output[-6000:]
    assert "Traceback" not in build.output

    quality = {
        name: (read, accepted, rejected)
        for name, read, accepted, rejected in build.query(
            "select table_name, rows_read, rows_accepted, rows_rejected from marts.data_quality"
        )
    }
    for table, (_read, accepted, rejected) in quality.items():
        assert accepted == build.scalar(f"select count(*) from staging.stg_raw__{table}"), table
        assert rejected == build.scalar(f"select count(*) from staging.{table}_rejected"), table

    for table in COLUMNS:
        _check_lines(build, table, folder[table][1])


def _check_lines(build, table: str, kinds: list[str]) -> None:
    """Each generated line is one row read, numbered as in the file, with the reader's verdict."""
    rows = build.query(
        f"select source_row_number, source_line_number, rejection_reason from staging.base_raw__{table} "
        "order by source_row_number"
    )
    assert [row_number for row_number, _line, _reason in rows] == list(range(1, len(kinds) + 1)), table
    for (row_number, line_number, reason), kind in zip(rows, kinds, strict=True):
        where = (table, row_number, kind, reason)
        if kind == "undecodable":
            assert line_number == row_number + 1, where
            assert reason.startswith("undecodable line: not utf-8 text"), where
        elif kind == "more":
            assert reason == "unreadable line: more fields than the header", where
        elif kind == "fewer":
            assert reason == "unreadable line: fewer fields than the header", where
        else:
            assert line_number is None, where
            assert reason is None or not reason.startswith(("undecodable", "unreadable")), where


def test_the_fuzz_checks_can_fail(tmp_path: Path) -> None:
    """The line check is not vacuous: a row read where an undecodable line was expected fails it."""

    class Fake:
        @staticmethod
        def query(_sql: str) -> list[tuple]:
            return [(1, None, None)]

    try:
        _check_lines(Fake(), "items", ["undecodable"])
    except AssertionError:
        return
    raise AssertionError("the line check accepted a row that should have been rejected")
