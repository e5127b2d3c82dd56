"""Experiments: many replications and what is made of them. ``jobs`` (one replication as a
job, and the backends: the package's one replication loop), ``distributed`` (Dask), ``batch``
(batches with common random numbers, resume, manifest), ``warmup``, ``planner`` (sweeps and
the staffing search), ``business`` (the business case), ``sensitivity`` (Morris) and
``validation``. They return data and write their data files; figures and documents are the
presentation's.
"""
