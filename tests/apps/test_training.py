"""The shared training pieces: a time budget that a resumed run continues,
and backups every few batches."""

import csv

import keras
import numpy as np
import pytest

from keras_seq.apps.training import (
    MINUTES_KEY,
    TimeBudget,
    minutes_so_far,
)


def _tiny_model():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    return model


def _data(n=64):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3)), rng.normal(size=(n, 1))


def test_schedule_warms_up_then_decays_to_the_final_fraction():
    budget = TimeBudget(10, learning_rate=1.0, warmup_fraction=0.1)
    assert budget.rate_at(0.0) == pytest.approx(0.02)  # the floor
    assert budget.rate_at(0.05) == pytest.approx(0.5)
    assert budget.rate_at(0.1) == pytest.approx(1.0)
    # Half-way through the decay: the mean of 1 and the final 0.05.
    assert budget.rate_at(0.55) == pytest.approx(0.525)
    assert budget.rate_at(1.0) == pytest.approx(0.05)
    assert budget.rate_at(3.0) == pytest.approx(0.05)


def test_a_spent_budget_stops_after_one_batch_and_logs_minutes():
    x, y = _data()
    model = _tiny_model()
    # An earlier run spent the whole budget: one batch runs (Keras checks
    # `stop_training` after a batch), then training stops.
    budget = TimeBudget(60, learning_rate=1e-3, elapsed_minutes=60)
    history = model.fit(
        x, y, batch_size=8, epochs=3, callbacks=[budget], verbose=0
    )
    assert budget.reached
    assert budget.steps == 1
    assert len(history.epoch) == 1
    assert history.history[MINUTES_KEY][0] >= 60
    # The schedule continued too: the rate is near its end, not warming up.
    rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    assert rate == pytest.approx(0.05e-3, rel=0.05)


def test_without_a_budget_it_only_records_minutes():
    x, y = _data()
    model = _tiny_model()
    budget = TimeBudget(None, elapsed_minutes=2.0)
    history = model.fit(
        x, y, batch_size=8, epochs=2, callbacks=[budget], verbose=0
    )
    assert not budget.reached and budget.steps == 16
    minutes = history.history[MINUTES_KEY]
    assert 2.0 <= minutes[0] <= minutes[1] < 3.0
    assert float(
        keras.ops.convert_to_numpy(model.optimizer.learning_rate)
    ) == pytest.approx(1e-3)


def test_minutes_so_far_reads_the_last_recorded_row(tmp_path):
    path = tmp_path / "history.csv"
    assert minutes_so_far(str(path)) == 0.0
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", "loss", MINUTES_KEY])
        writer.writerow([0, 1.0, 1.5])
        writer.writerow([1, 0.9, 3.25])
        writer.writerow([2, 0.8, ""])  # a row without it is passed over
    assert minutes_so_far(str(path)) == 3.25
    with open(path, "w", encoding="utf-8") as f:
        f.write("epoch,loss\n0,1.0\n")
    assert minutes_so_far(str(path)) == 0.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"minutes": 0}, "minutes"),
        ({"minutes": -1}, "minutes"),
        ({"minutes": 5, "elapsed_minutes": -1}, "elapsed_minutes"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TimeBudget(**kwargs)
