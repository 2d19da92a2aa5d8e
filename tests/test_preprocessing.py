import json

import numpy as np
import pyarrow as pa
import pytest
from planted import make_planted
from sklearn.exceptions import NotFittedError

from customer_ml.features.preprocessing import FeaturePreprocessor, FeatureSpec, load_catalog
from customer_ml.segmentation.config import PreprocessingConfig


@pytest.fixture(scope="module")
def planted():
    return make_planted(n=1500, seed=3)


def test_fit_transform_shape_names_and_drops(planted):
    table, catalog, _ = planted
    pre = FeaturePreprocessor().fit(table, catalog)
    X = pre.transform(table)
    assert X.dtype == np.float32
    assert X.shape == (table.num_rows, len(pre.feature_names_out_))
    assert np.isfinite(X).all()
    assert pre.dropped_features_ == ["all_null"]
    assert "all_null" not in pre.feature_names_out_
    assert not any(name.startswith("signup_epoch") for name in pre.feature_names_out_)
    assert "customer_id" not in pre.feature_names_out_
    # Column-major on request (for the boosters), the same values.
    X_f = pre.transform(table, order="F")
    assert X_f.flags["F_CONTIGUOUS"] and X_f.dtype == np.float32
    assert np.array_equal(X_f, X)


def test_missing_indicators_only_where_training_had_nulls(planted):
    table, catalog, _ = planted
    pre = FeaturePreprocessor().fit(table, catalog)
    X = pre.transform(table)
    names = pre.feature_names_out_
    for feature in ["count_0", "optional_0", "optional_3"]:
        mask = table.column(feature).is_null().to_numpy(zero_copy_only=False)
        assert mask.any()
        np.testing.assert_array_equal(X[:, names.index(feature + "__missing")], mask.astype(np.float32))
        # imputed rows sit at the training median, which robust scaling maps to 0
        assert np.all(X[mask, names.index(feature)] == 0.0)
    assert "score_0__missing" not in names
    assert "share_0__missing" not in names


def test_scaling_log_and_passthrough(planted):
    table, catalog, _ = planted
    pre = FeaturePreprocessor(PreprocessingConfig(clip=1e9)).fit(table, catalog)
    X = pre.transform(table).astype(np.float64)
    names = pre.feature_names_out_
    score = X[:, names.index("score_2")]
    q25, q50, q75 = np.percentile(score, [25, 50, 75])
    assert abs(q50) < 1e-5 and abs((q75 - q25) - 1.0) < 1e-4
    raw = table.column("amount_1").to_numpy()
    logged = np.log1p(raw)
    expected = (logged - np.median(logged)) / np.subtract(*np.percentile(logged, [75, 25]))
    np.testing.assert_allclose(X[:, names.index("amount_1")], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(X[:, names.index("share_1")], table.column("share_1").to_numpy(), atol=1e-6)


def test_zero_iqr_falls_back_and_clip_applies():
    values = np.zeros(100)
    values[:3] = [50.0, -50.0, 1.0]
    table = pa.table({"customer_id": pa.array(range(100)), "spiky": values})
    pre = FeaturePreprocessor(PreprocessingConfig(clip=3.0)).fit(table, [FeatureSpec("spiky", "g", "scale")])
    stats = pre.numeric_["spiky"]
    assert stats["scale"] == pytest.approx(np.std(values))
    X = pre.transform(table)
    assert np.isfinite(X).all() and X.max() <= 3.0 and X.min() >= -3.0


def test_unseen_rare_and_null_categories_map_to_other(planted):
    table, catalog, _ = planted
    pre = FeaturePreprocessor().fit(table, catalog)
    names = pre.feature_names_out_
    assert "channel=fax" not in names  # too rare in training
    assert "channel=other" in names
    new = table.slice(0, 4).set_column(
        table.column_names.index("channel"), "channel", pa.array(["web", "telepathy", None, "fax"])
    )
    X = pre.transform(new)
    onehot = X[:, [i for i, n in enumerate(names) if n.startswith("channel=")]]
    np.testing.assert_array_equal(onehot.sum(axis=1), np.ones(4))
    other = X[:, names.index("channel=other")]
    np.testing.assert_array_equal(other, [0.0, 1.0, 1.0, 1.0])
    assert X[0, names.index("channel=web")] == 1.0


def test_state_round_trip_through_json(planted):
    table, catalog, _ = planted
    pre = FeaturePreprocessor().fit(table, catalog)
    state = json.loads(json.dumps(pre.to_state()))
    restored = FeaturePreprocessor.from_state(state)
    assert restored.feature_names_out_ == pre.feature_names_out_
    assert restored.dropped_features_ == pre.dropped_features_
    other = make_planted(n=300, seed=9)[0]
    np.testing.assert_array_equal(restored.transform(other), pre.transform(other))


def test_catalog_from_arrow_table_and_errors(planted):
    table, catalog, _ = planted
    arrow_catalog = pa.table(
        {
            "feature_name": [s.name for s in catalog],
            "feature_group": [s.group for s in catalog],
            "transform": [s.transform for s in catalog],
        }
    )
    assert load_catalog(arrow_catalog) == list(catalog)
    with pytest.raises(NotFittedError):
        FeaturePreprocessor().transform(table)
    with pytest.raises(KeyError):
        FeaturePreprocessor().fit(table.drop_columns(["score_0"]), catalog)
    with pytest.raises(ValueError):
        FeatureSpec("x", "g", "sqrt")


def test_catalog_labels_travel_with_the_state_and_give_reasons_in_words() -> None:
    from customer_ml.segmentation.model import column_reasons

    catalog = pa.table(
        {
            "feature_name": ["frequency", "spend_trend", "country"],
            "feature_group": ["rfm", "spend", "attributes"],
            "transform": ["log", "scale", "onehot"],
            "label": ["orders", "spend trend", "country"],
        }
    )
    table = pa.table(
        {
            "frequency": [1.0, 2.0, 5.0, 9.0] * 5,
            "spend_trend": pa.array([0.5, None, -0.2, 0.1] * 5, pa.float64()),
            "country": ["DE", "FR", "DE", "DE"] * 5,
        }
    )
    fitted = FeaturePreprocessor().fit(table, load_catalog(catalog))
    restored = FeaturePreprocessor.from_state(fitted.to_state())
    reasons = column_reasons(restored)
    assert len(reasons) == len(restored.feature_names_out_)
    assert reasons[0] == ("few orders", "many orders")
    assert reasons[1] == ("low spend trend", "high spend trend")
    assert reasons[2] == ("spend trend recorded", "no spend trend recorded")
    assert ("country not DE", "country DE") in reasons
    assert all("_" not in low + high for low, high in reasons)
