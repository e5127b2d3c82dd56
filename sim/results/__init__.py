"""Results: what one replication produced and what is computed from it, pure functions of tables.

:mod:`sim.results.result` (``Result``, the table names, the summary), :mod:`sim.results.indicators`
(the summary indicators), :mod:`sim.results.stats` (confidence intervals over replications) and
:mod:`sim.results.survival` (Kaplan-Meier curves and tests). Nothing here runs the model or reads
or writes files; it imports only :mod:`sim.params` and :mod:`sim.constants` (an import-linter
contract in ``pyproject.toml``). A finished model becomes a ``Result`` in :mod:`sim.engine.collect`.
"""
