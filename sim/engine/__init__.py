"""The engine: the simulation of one replication (docs/conceptual-model.md §3).

``kernel`` (the only module that touches SimPy's internals), ``rng`` (random streams),
``entities``, ``caseworkers``, ``recorder`` (columnar buffers); the processes ``arrivals``,
``intake``, ``investigation``, ``ladder``, ``need`` and ``cases`` (the life of one case);
``model`` (the model that runs them), ``collect`` (its buffers turned into tables),
``districts`` (a municipality split into districts), ``run`` (:func:`simulate`) and
``workload`` (the work a run will take, estimated before it starts). It imports only the
results, the params and the constants.
"""
