"""Models that share one event loop (``Model(env=...)``, :func:`run_together`) run each as it
would alone: what bench/bench_scale.py relies on to part the cost of a larger heap from the
cost of a larger municipality."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.engine.collect import model_tables
from sim.engine.kernel import Environment
from sim.engine.model import Model, bucket_days, run_together
from sim.params.municipality import Municipality, municipality_scenario


def test_models_on_one_loop_give_each_its_own_tables():
    towns = [
        (municipality_scenario(Municipality("small_danish", 2_000, 2, None, "danish")), 3),
        (municipality_scenario(Municipality("small_swedish", 3_000, 7, None, "swedish")), 5),
    ]
    alone = []
    for scenario, seed in towns:
        model = Model(scenario, seed, years=1.0)
        model.run()
        alone.append(model_tables(model))
    # One loop for both, its buckets of time sized for neither alone.
    env = Environment(bucket_days=bucket_days(50_000))
    shared = [Model(scenario, seed, years=1.0, env=env) for scenario, seed in towns]
    run_together(shared)
    for own, together in zip(alone, map(model_tables, shared)):
        assert len(own["events"]) > 1_000
        for name, table in own.items():
            pd.testing.assert_frame_equal(together[name], table, check_exact=True, obj=name)


def test_models_run_together_must_share_their_loop_and_end():
    scenario = municipality_scenario(Municipality("small_danish", 2_000, 2, None, "danish"))
    env = Environment(bucket_days=bucket_days(4_000))
    with pytest.raises(ValueError, match="one event loop and one end day"):
        run_together([Model(scenario, 1, years=1.0, env=env), Model(scenario, 2, years=1.0)])
    with pytest.raises(ValueError, match="one event loop and one end day"):
        run_together([Model(scenario, 1, years=1.0, env=env), Model(scenario, 2, years=2.0, env=env)])
