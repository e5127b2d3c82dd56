"""Presentation for people: the text the commands print.

Built from the library's results; nothing here simulates, reads or writes files, and
nothing below the command line imports it (an import-linter contract in ``pyproject.toml``).
"""
