"""When the churn/value and fraud registries train a new version and when they apply the stored one."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from customer_ml.registry import RetrainPolicy
from customer_ml.value.predictions import KIND, should_train

AS_OF = dt.date(2026, 9, 30)


def _version(as_of: dt.date = AS_OF, inputs: tuple[str, ...] = ("recency_days", "frequency")) -> dict:
    return {"model_kind": KIND, "as_of_date": as_of, "feature_names": json.dumps(list(inputs))}


def test_no_stored_model_trains_unless_never() -> None:
    assert should_train(None, AS_OF, RetrainPolicy("auto")) == (True, "no stored model")
    with pytest.raises(RuntimeError, match="retrain is 'never'"):
        should_train(None, AS_OF, RetrainPolicy("never"))


def test_same_as_of_date_and_inputs_apply_the_stored_model() -> None:
    train, reason = should_train(_version(), AS_OF, RetrainPolicy("auto"), ["recency_days", "frequency"])
    assert not train and "stored model applied" in reason


def test_new_as_of_date_trains() -> None:
    train, reason = should_train(_version(), AS_OF + dt.timedelta(days=1), RetrainPolicy("auto"))
    assert train and "new as-of date" in reason


def test_changed_inputs_train_and_say_what_changed() -> None:
    train, reason = should_train(
        _version(), AS_OF, RetrainPolicy("auto"), ["recency_days", "frequency", "lines_per_order"]
    )
    assert train
    assert reason == "feature set changed (added ['lines_per_order'], removed none)"


def test_never_applies_even_when_inputs_changed() -> None:
    train, _ = should_train(_version(), AS_OF, RetrainPolicy("never"), ["monetary"])
    assert not train


def test_always_trains() -> None:
    assert should_train(_version(), AS_OF, RetrainPolicy("always"))[0]
