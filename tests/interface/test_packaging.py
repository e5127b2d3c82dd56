"""Every package of ``sim`` ships: pyproject.toml lists packages by name, so a new subpackage
that is not listed works in an editable install and is missing from a built one."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def listed_packages() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(config["tool"]["setuptools"]["packages"])


def source_packages() -> set[str]:
    return {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "sim").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }


def test_every_subpackage_of_sim_is_listed_in_pyproject():
    missing = source_packages() - listed_packages()
    assert not missing, f"pyproject.toml [tool.setuptools] packages misses {sorted(missing)}"


def test_the_check_sees_a_package_that_is_not_listed(tmp_path, monkeypatch):
    (tmp_path / "sim" / "newlayer").mkdir(parents=True)
    (tmp_path / "sim" / "__init__.py").write_text("")
    (tmp_path / "sim" / "newlayer" / "__init__.py").write_text("")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    assert source_packages() == {"sim", "sim.newlayer"}
