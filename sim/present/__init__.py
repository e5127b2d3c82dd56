"""Presentation for people: what the commands print, draw and write as documents.

``format`` and ``text`` (estimates and text tables), ``plots`` (every figure), ``report``
(report.html), and the figures and documents of the experiments: ``business``, ``planner``,
``sensitivity``, ``validation`` (docs/VALIDATION.md) and ``warmup``. Built from the
experiments' and the library's results; nothing here simulates. Nothing below the command
line imports it (an import-linter contract in ``pyproject.toml``).
"""
