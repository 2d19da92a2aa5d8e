"""Tests of the demo data generator: contract, determinism, integrity, realism, writing."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.e2e.contract import raw_contract
from tools import demo_data
from tools.demo_data import FRAUD_KIND, KINDS, MECHANISMS, generate, main, write

N = 2000
SEED = 7
END = dt.date(2026, 9, 30)

# The data contract's raw columns as the build enforces them (macros/raw/raw_contract.sql), so a change
# on either side fails a test.
CONTRACT = {table: spec["columns"] for table, spec in raw_contract().items()}
TIMESTAMP_COLUMNS = {
    "transactions": "transacted_at",
    "customers": "signed_up_at",
    "events": "occurred_at",
    "social_edges": "created_at",
    "fraud_labels": "labeled_at",
}


@pytest.fixture(scope="module")
def data() -> demo_data.DemoData:
    return generate(n_customers=N, seed=SEED)


@pytest.fixture(scope="module")
def con(data: demo_data.DemoData) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name, table in {**data.tables, **data.truth}.items():
        con.register(name, table)
    return con


def one(con: duckdb.DuckDBPyConnection, sql: str):
    return con.sql(sql).fetchone()


def test_columns_and_types_follow_the_contract(data):
    assert set(data.tables) == set(CONTRACT)
    for name, columns in CONTRACT.items():
        assert data.tables[name].column_names == columns, name
    for name, column in TIMESTAMP_COLUMNS.items():
        assert data.tables[name].schema.field(column).type == pa.timestamp("us"), name
    tx = data.tables["transactions"].schema
    assert tx.field("amount").type == pa.float64()
    assert pa.types.is_integer(tx.field("quantity").type)
    assert data.tables["fraud_labels"].schema.field("is_fraud").type == pa.bool_()
    for name, table in data.tables.items():
        for field in table.schema:
            if field.name.endswith("_id"):
                assert field.type == pa.string(), (name, field.name)
    assert data.truth["customer_kinds"].column_names == ["customer_id", "kind"]
    assert data.truth["transaction_fraud"].column_names[:4] == [
        "transaction_id",
        "customer_id",
        "is_fraud",
        "mechanism",
    ]


def test_same_parameters_give_identical_data_and_another_seed_differs(data):
    again = generate(n_customers=N, seed=SEED)
    for name in data.tables:
        assert data.tables[name].equals(again.tables[name]), name
    for name in data.truth:
        assert data.truth[name].equals(again.truth[name]), name
    other = generate(n_customers=N, seed=SEED + 1)
    assert not other.tables["transactions"].equals(data.tables["transactions"])
    assert not other.tables["events"].equals(data.tables["events"])


def test_ids_are_unique_and_formatted(con, data):
    for table, key in [
        ("transactions", "transaction_id"),
        ("items", "item_id"),
        ("customers", "customer_id"),
    ]:
        rows, distinct = one(con, f"select count(*), count(distinct {key}) from {table}")
        assert rows == distinct > 0, table
    assert data.tables["customers"].num_rows == N
    assert data.tables["items"].num_rows == demo_data.N_ITEMS
    assert one(con, "select min(customer_id) from customers")[0] == "C0000001"
    assert one(con, "select min(transaction_id) from transactions")[0] == "T000000001"
    assert one(con, "select min(item_id) from items")[0] == "I00001"
    # Outputs are sorted by id.
    for table, key in [
        ("transactions", "transaction_id"),
        ("customers", "customer_id"),
        ("items", "item_id"),
    ]:
        ids = data.tables[table][key].to_pylist()
        assert ids == sorted(ids), table


def test_referential_integrity(con):
    orphans = {
        "lines without transaction": "select count(*) from transaction_items l anti join transactions t "
        "using (transaction_id)",
        "lines without item": "select count(*) from transaction_items l anti join items i using (item_id)",
        "transactions without customer": "select count(*) from transactions t anti join customers c "
        "using (customer_id)",
        "labels without transaction": "select count(*) from fraud_labels l anti join transactions t "
        "using (transaction_id)",
        "events without customer": "select count(*) from events e anti join customers c using (customer_id)",
        "events without item": "select count(*) from events e anti join items i using (item_id) "
        "where e.item_id is not null",
        "edges without customer": "select count(*) from social_edges s anti join customers c "
        "using (customer_id)",
        "edges without related": "select count(*) from social_edges s anti join customers c "
        "on c.customer_id = s.related_customer_id",
        "truth without transaction": "select count(*) from transaction_fraud f anti join transactions t "
        "using (transaction_id)",
    }
    for what, sql in orphans.items():
        assert one(con, sql)[0] == 0, what
    assert (
        one(con, "select count(*) from transaction_fraud")[0]
        == one(con, "select count(*) from transactions")[0]
    )


def test_timestamps_are_before_end_date_also_for_other_parameters():
    for end, days in [(END, 730), (dt.date(2025, 1, 15), 400)]:
        data = generate(n_customers=1000, seed=3, end_date=end, history_days=days)
        limit = dt.datetime.combine(end, dt.time())
        start = limit - dt.timedelta(days=days)
        for name, column in TIMESTAMP_COLUMNS.items():
            values = data.tables[name][column].drop_null()
            assert values.null_count == 0 and len(values) > 0
            assert max(values.to_pylist()) < limit, (end, name)
        activity = data.tables["transactions"]["transacted_at"].to_pylist()
        assert min(activity) >= start
        assert max(activity) >= limit - dt.timedelta(days=2)  # the window is used up to its end


def test_amounts_and_quantities_match_the_lines(con):
    mismatches = one(
        con,
        """
        with lines as (
            select transaction_id, sum(quantity * unit_price) as value, sum(quantity) as units, count(*) as n
            from transaction_items group by 1
        )
        select
            count(*) filter (where lines.transaction_id is null),
            count(*) filter (where abs(t.amount - lines.value) > 0.005),
            count(*) filter (where t.quantity <> lines.units),
            count(*) filter (where lines.n > 5)
        from transactions t left join lines using (transaction_id)
        where t.status = 'completed'
        """,
    )
    assert mismatches == (0, 0, 0, 0)
    assert one(con, "select count(*) from transaction_items where quantity <= 0 or unit_price < 0")[0] == 0
    lines_on_reversals = one(
        con,
        "select count(*) from transaction_items join transactions using (transaction_id) "
        "where status <> 'completed'",
    )[0]
    assert lines_on_reversals == 0
    assert one(con, "select count(*) from transactions where amount <> round(amount, 2)")[0] == 0


def test_negative_amounts_only_for_refunds_and_chargebacks(con):
    statuses = {r[0] for r in con.sql("select distinct status from transactions").fetchall()}
    assert statuses == {"completed", "refunded", "chargeback"}
    wrong_sign = one(
        con,
        "select count(*) from transactions where (status = 'completed') <> (amount > 0) "
        "or (status <> 'completed') <> (amount < 0)",
    )[0]
    assert wrong_sign == 0
    # Each reversal follows its purchase, for the same customer, and never exceeds it.
    bad = one(
        con,
        """
        select count(*)
        from transaction_fraud f
        join transactions r using (transaction_id)
        join transactions o on o.transaction_id = f.original_transaction_id
        where o.status <> 'completed' or r.transacted_at <= o.transacted_at or r.customer_id <> o.customer_id
            or -r.amount > o.amount + 0.005
        """,
    )[0]
    assert bad == 0
    gaps = one(
        con,
        """
        select min(date_diff('day', o.transacted_at, r.transacted_at)),
            max(date_diff('day', o.transacted_at, r.transacted_at))
        from transaction_fraud f join transactions r using (transaction_id)
        join transactions o on o.transaction_id = f.original_transaction_id
        where r.status = 'chargeback'
        """,
    )
    assert 19 <= gaps[0] and gaps[1] <= 60


def test_every_kind_present_with_a_sane_share(con):
    shares = dict(
        con.sql("select kind, count(*) / sum(count(*)) over () from customer_kinds group by 1").fetchall()
    )
    assert set(shares) == set(KINDS) | {FRAUD_KIND}
    expected = dict(zip(KINDS, (0.08, 0.18, 0.20, 0.12, 0.15, 0.15, 0.12), strict=True))
    for kind, share in expected.items():
        assert 0.7 * share < shares[kind] < 1.3 * share, kind
    assert 0.005 < shares[FRAUD_KIND] < 0.05


def test_kinds_behave_differently(con):
    by_kind = {
        row[0]: row[1:]
        for row in con.sql(
            """
            with c as (
                select k.kind, c.customer_id, c.signed_up_at,
                    count(t.transaction_id) filter (where t.status = 'completed') as orders,
                    sum(t.amount) filter (where t.status = 'completed') as spend,
                    max(t.transacted_at) as last_at,
                    avg((t.channel = 'store')::int) as store_share,
                    count(t.transaction_id) filter (where t.status = 'refunded') as refunds
                from customer_kinds k join customers c using (customer_id)
                left join transactions t using (customer_id)
                group by all
            )
            select kind, avg(orders), sum(spend) / sum(orders),
                median(date_diff('day', last_at, date '2026-09-30')), avg(store_share),
                sum(refunds) / sum(orders), max(date_diff('day', signed_up_at, date '2026-09-30'))
            from c group by 1
            """
        ).fetchall()
    }
    orders, aov, recency, store, refund, signup_age = (
        {k: v[i] for k, v in by_kind.items()} for i in range(6)
    )
    assert aov["vip"] > 2 * max(aov[k] for k in KINDS if k not in ("vip", "gift_buyer"))
    assert aov["bargain_hunter"] < min(aov[k] for k in KINDS if k != "bargain_hunter")
    assert orders["window_shopper"] < 1 < 5 < orders["loyal"] < orders["vip"]
    assert store["loyal"] > 2 * store["vip"]
    assert refund["bargain_hunter"] > refund["loyal"]
    assert signup_age["new"] <= 91
    assert recency["lapsed"] > 180 > 2 * recency["loyal"]


def test_purchases_in_one_year_predict_the_next(con):
    """Buy till you die: the first year's frequency predicts the second's; most one-off buyers stay so."""
    corr, one_off_return = one(
        con,
        """
        with per as (
            select c.customer_id,
                count(t.transaction_id) filter (where t.transacted_at < date '2025-09-30') as y1,
                count(t.transaction_id) filter (where t.transacted_at >= date '2025-09-30') as y2
            from customers c
            left join transactions t on t.customer_id = c.customer_id and t.status = 'completed'
            join customer_kinds k on k.customer_id = c.customer_id
            where k.kind <> 'fraudster' and c.signed_up_at < date '2024-10-01'
            group by 1
        )
        select corr(y1, y2), avg((y2 > 0)::int) filter (where y1 = 1) from per
        """,
    )
    assert corr > 0.5
    assert one_off_return < 0.5


def test_weekends_and_year_end_are_busier(con):
    weekend, weekday, peak, rest = one(
        con,
        """
        select count(*) filter (where dayofweek(transacted_at) in (0, 6)) / 2,
            count(*) filter (where dayofweek(transacted_at) between 1 and 5) / 5,
            count(*) filter (where month(transacted_at) in (11, 12)) / 2,
            count(*) filter (where month(transacted_at) not in (11, 12)) / 10
        from transactions where status = 'completed'
        """,
    )
    assert weekend > 1.1 * weekday
    assert peak > 1.1 * rest


def test_fraud_share_and_mechanisms(con):
    fraud, purchases = one(
        con,
        "select count(*) filter (where f.is_fraud), count(*) from transaction_fraud f "
        "join transactions t using (transaction_id) where t.status = 'completed'",
    )
    assert 0.008 < fraud / purchases < 0.025
    mechanisms = {
        r[0] for r in con.sql("select distinct mechanism from transaction_fraud where is_fraud").fetchall()
    }
    assert mechanisms == set(MECHANISMS)
    assert (
        one(con, "select count(*) from transaction_fraud where is_fraud <> (mechanism is not null)")[0] == 0
    )
    card = one(
        con,
        "select min(amount), max(amount), count(distinct device_id), count(distinct customer_id) "
        "from transaction_fraud join transactions using (transaction_id, customer_id) "
        "where mechanism = 'card_testing'",
    )
    assert card[0] >= 1 and card[1] <= 5 and card[2] == card[3]
    shared = one(
        con,
        """
        select min(accounts) from (
            select device_id, count(distinct customer_id) as accounts
            from transaction_fraud join transactions using (transaction_id, customer_id)
            where mechanism = 'device_ring' group by 1
        )
        """,
    )[0]
    assert shared >= 5
    foreign = one(
        con,
        "select count(*) filter (where t.ip_country = c.country), count(*) from transaction_fraud f "
        "join transactions t using (transaction_id) join customers c on c.customer_id = t.customer_id "
        "where f.mechanism = 'account_takeover'",
    )
    assert foreign[0] == 0 and foreign[1] > 0
    takeover_victims = one(
        con,
        "select count(distinct k.kind) filter (where k.kind = 'fraudster') from transaction_fraud f "
        "join customer_kinds k using (customer_id) where f.mechanism = 'account_takeover'",
    )[0]
    assert takeover_victims == 0
    charged_back = one(
        con,
        "select avg((r.transaction_id is not null)::int) from transaction_fraud f "
        "left join transaction_fraud r on r.original_transaction_id = f.transaction_id "
        "where f.mechanism = 'chargeback_abuse'",
    )[0]
    assert charged_back > 0.6


def test_fraud_labels_are_partial_and_delayed(con):
    late, too_early, wrong, truth_mismatch = one(
        con,
        """
        select
            count(*) filter (where l.labeled_at >= date '2026-09-30'),
            count(*) filter (where t.transacted_at >= date '2026-09-30' - interval 30 day),
            count(*) filter (
                where date_diff('second', t.transacted_at, l.labeled_at) not between 864000 and 5184000
                or t.status <> 'completed'
            ),
            count(*) filter (where l.is_fraud <> f.is_fraud)
        from fraud_labels l join transactions t using (transaction_id)
        join transaction_fraud f using (transaction_id)
        """,
    )
    assert (late, too_early, wrong, truth_mismatch) == (0, 0, 0, 0)
    labelled, eligible, negatives = one(
        con,
        """
        select count(l.transaction_id) filter (where f.is_fraud), count(*) filter (where f.is_fraud),
            count(l.transaction_id) filter (where not f.is_fraud)
        from transaction_fraud f join transactions t using (transaction_id)
        left join fraud_labels l using (transaction_id)
        where t.transacted_at < date '2026-09-30' - interval 30 day
        """,
    )
    assert 0.35 < labelled / eligible < 0.65
    assert 2 * labelled <= negatives <= 6 * labelled


def test_customers_cover_buyers_and_some_never_buy(con):
    never, before_signup = one(
        con,
        """
        with first as (select customer_id, min(transacted_at) as first_at from transactions group by 1)
        select avg((first_at is null)::int), count(*) filter (where first_at < signed_up_at)
        from customers left join first using (customer_id)
        """,
    )
    assert 0.04 < never < 0.12
    assert before_signup == 0
    events_before_signup = one(
        con,
        "select count(*) from events e join customers c using (customer_id) "
        "where e.occurred_at < c.signed_up_at",
    )[0]
    assert events_before_signup == 0
    with_events = one(
        con,
        "select avg((customer_id in (select customer_id from events))::int) from customers "
        "where customer_id not in (select customer_id from transactions)",
    )[0]
    assert with_events > 0.8
    values = {
        "country": 10,
        "acquisition_channel": 5,
        "gender": 3,
    }
    for column, count in values.items():
        assert one(con, f"select count(distinct {column}) from customers")[0] >= count, column


def test_events_per_customer_and_items(con):
    per_customer = one(con, "select count(*) / (select count(*) from customers) from events")[0]
    assert 12 < per_customer < 30
    types = {r[0] for r in con.sql("select distinct event_type from events").fetchall()}
    assert types == {"page_view", "search", "add_to_cart", "login", "support_ticket"}
    misplaced = one(
        con,
        "select count(*) from events "
        "where (item_id is not null) <> (event_type in ('page_view', 'add_to_cart'))",
    )[0]
    assert misplaced == 0
    sessions_per_customer = one(
        con, "select max(n) from (select session_id, count(distinct customer_id) as n from events group by 1)"
    )[0]
    assert sessions_per_customer == 1
    # Window shoppers browse the most per purchase.
    ratio = dict(
        con.sql(
            """
            select k.kind, count(e.customer_id) / count(distinct k.customer_id)
            from customer_kinds k left join events e using (customer_id) group by 1
            """
        ).fetchall()
    )
    assert ratio["window_shopper"] > 2 * ratio["gift_buyer"]


def test_social_edges_referrals_and_homophily(con):
    relations = {r[0] for r in con.sql("select distinct relation from social_edges").fetchall()}
    assert relations == {"referral", "friend"}
    bad_referrals = one(
        con,
        """
        select count(*) from social_edges s join customers r on r.customer_id = s.related_customer_id
        join customers c on c.customer_id = s.customer_id
        where s.relation = 'referral' and (
            r.acquisition_channel <> 'referral' or s.created_at <> r.signed_up_at
            or c.signed_up_at >= r.signed_up_at
        )
        """,
    )[0]
    assert bad_referrals == 0
    referred_without_edge = one(
        con,
        "select count(*) from customers where acquisition_channel = 'referral' and customer_id not in "
        "(select related_customer_id from social_edges where relation = 'referral')",
    )[0]
    assert referred_without_edge == 0
    same_kind = one(
        con,
        """
        select avg((a.kind = b.kind)::int) from social_edges s
        join customer_kinds a on a.customer_id = s.customer_id
        join customer_kinds b on b.customer_id = s.related_customer_id
        where s.relation = 'friend'
        """,
    )[0]
    assert same_kind > 0.5
    assert one(con, "select count(*) from social_edges where customer_id = related_customer_id")[0] == 0
    duplicate_friends = one(
        con,
        "select count(*) - count(distinct least(customer_id, related_customer_id) || greatest(customer_id, "
        "related_customer_id)) from social_edges where relation = 'friend'",
    )[0]
    assert duplicate_friends == 0


def test_write_skips_when_the_manifest_matches_and_csv_round_trips(tmp_path, monkeypatch):
    out = write(tmp_path / "demo", n_customers=500, seed=1)
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["parameters"]["n_customers"] == 500
    for name in CONTRACT:
        assert manifest["row_counts"][name] == pq.read_metadata(out / f"{name}.parquet").num_rows
    for name in ("customer_kinds", "transaction_fraud"):
        assert (out / "_truth" / f"{name}.parquet").exists()

    def refuse(**_):
        raise AssertionError("generate() was called")

    with monkeypatch.context() as patch:
        patch.setattr(demo_data, "generate", refuse)
        assert write(tmp_path / "demo", n_customers=500, seed=1) == out  # same parameters: skipped
        with pytest.raises(AssertionError):
            write(tmp_path / "demo", n_customers=500, seed=1, force=True)
        with pytest.raises(AssertionError):
            write(tmp_path / "demo", n_customers=500, seed=2)
        with pytest.raises(AssertionError):
            write(tmp_path / "demo", n_customers=500, seed=1, n_items=300)  # another catalogue

    expected = generate(n_customers=500, seed=1)
    write(tmp_path / "demo", n_customers=500, seed=1, fmt="csv")
    assert not list(out.glob("*.parquet")), "switching format leaves no stale files"
    con = duckdb.connect()
    for name, table in expected.tables.items():
        back = con.sql(f"select * from read_csv('{out / name}.csv')").to_arrow_table()
        assert back.column_names == table.column_names
        assert back.num_rows == table.num_rows, name
        for column in table.column_names:
            original = table[column]
            if pa.types.is_timestamp(original.type) or pa.types.is_boolean(original.type):
                assert back[column].cast(original.type).equals(original), (name, column)
            elif pa.types.is_floating(original.type):
                np.testing.assert_allclose(back[column].to_numpy(), original.to_numpy(), rtol=0, atol=1e-9)
            else:
                assert back[column].cast(pa.string()).to_pylist() == original.cast(pa.string()).to_pylist()


def test_catalogue_size_is_a_parameter():
    """`n_items` sizes the catalogue (the scale benchmarks' 5,000 items); every category keeps items,
    every order line buys one of them, and the default is the demo's catalogue."""
    data = generate(n_customers=300, seed=3, n_items=5000)
    con = duckdb.connect()
    for name, table in data.tables.items():
        con.register(name, table)
    assert one(con, "select count(*), count(distinct item_id), min(item_id), max(item_id) from items") == (
        5000,
        5000,
        "I00001",
        "I05000",
    )
    assert one(con, "select count(distinct category) from items")[0] == len(demo_data.CATEGORIES)
    unknown = "select count(*) from transaction_items where item_id not in (select item_id from items)"
    assert one(con, unknown)[0] == 0
    # items beyond the default catalogue's 2,000 are bought
    assert one(con, "select count(distinct item_id) from transaction_items where item_id > 'I02000'")[0] > 500
    with pytest.raises(ValueError, match="n_items"):
        generate(n_customers=300, seed=3, n_items=50)


def test_command_line(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "cli"), "--customers", "300", "--seed", "5", "--format", "csv"]) == 0
    printed = capsys.readouterr().out
    assert str(tmp_path / "cli") in printed and "transactions" in printed
    assert (tmp_path / "cli" / "transactions.csv").exists()
    assert json.loads((tmp_path / "cli" / "_manifest.json").read_text())["parameters"]["format"] == "csv"
