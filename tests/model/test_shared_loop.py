"""Models that share one event loop (``Model(env=...)`` and ``Model.start``) run each as it
would alone: what bench/bench_scale.py relies on to part the cost of a larger heap from the
cost of a larger municipality."""

from __future__ import annotations

import pandas as pd

from sim.engine.collect import model_tables
from sim.engine.kernel import Environment, collector_paused
from sim.engine.model import Model, bucket_days
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
    for model in shared:
        model.start()
    with collector_paused():
        env.run_until(shared[0].end_day)
    assert shared[0].env is shared[1].env
    for own, together in zip(alone, map(model_tables, shared)):
        assert len(own["events"]) > 1_000
        for name, table in own.items():
            pd.testing.assert_frame_equal(together[name], table, check_exact=True, obj=name)
