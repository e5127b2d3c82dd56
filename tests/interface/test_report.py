"""The HTML report: self-contained, every figure, parameters side by side, and it opens in
a real headless browser (issue 4)."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.params import shipped_scenarios_dir
from sim.present.plots import ALL_FIGURES

SHIPPED = shipped_scenarios_dir()
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def _small(folder: Path) -> list[str]:
    paths = []
    for name, caseworkers in (("danish_baseline", 4), ("swedish_model", 8)):
        path = folder / f"small_{name}.toml"
        path.write_text(
            f'base = "{name}"\nname = "small_{name}"\n'
            "[run]\nwarmup_years = 0.5\n[municipality]\nchildren = 4000\n"
            f"[staffing]\ncaseworkers = {caseworkers}\n",
            encoding="utf-8",
        )
        paths.append(str(path))
    return paths


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    out = folder / "batch"
    code = main(
        ["compare", *_small(folder), "--replications", "2", "--years", "1", "--workers", "1"]
        + ["--quiet", "--out", str(out)]
    )
    assert code == 0
    return out


class Checker(HTMLParser):
    """Collects images and links and checks that non-void elements are balanced."""

    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.images, self.links, self.figures = [], [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag in ("a", "link", "script"):
            self.links.append(attrs.get("href") or attrs.get("src") or "")
        if tag == "figure":
            self.figures.append(attrs.get("id"))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()


@pytest.mark.slow
def test_compare_writes_a_valid_self_contained_report_with_every_figure(batch):
    page = (batch / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    checker = Checker()
    checker.feed(page)
    assert checker.errors == [] and checker.stack == []
    assert checker.figures == [f"fig-{name}" for name in ALL_FIGURES]
    assert len(checker.images) == len(ALL_FIGURES)
    for src in checker.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    # Nothing to fetch: no external scripts, styles or images.
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert all(link.startswith("#") for link in checker.links)
    for section in ("comparison", "figures", "parameters", "manifest"):
        assert f'id="{section}"' in page
    assert "small_swedish_model − small_danish_baseline" in page
    assert "&quot;seed&quot;: 1," in page  # the manifest, escaped inside <pre>


@pytest.mark.slow
def test_the_parameters_that_differ_are_highlighted(batch):
    page = (batch / "report.html").read_text(encoding="utf-8")
    rows = {
        name: bool(differs) for differs, name in re.findall(r'<tr( class=differs)?><td class="name">([^<]+)</td>', page)
    }
    assert rows["staffing.caseworkers"] is True
    assert rows["assignment.point_cap"] is True
    assert rows["municipality.children"] is False  # the same in both
    assert rows["ladder.foster.cost_dkk_per_year"] is False


@pytest.mark.slow
def test_report_command_on_a_single_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", _small(tmp_path)[1], "--years", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["report", str(out)]) == 0
    assert "report written to" in capsys.readouterr().out
    page = (out / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == len(ALL_FIGURES)


def test_no_report_when_asked(tmp_path):
    out = tmp_path / "b"
    args = [*_small(tmp_path), "--replications", "1", "--years", "0.5", "--workers", "1", "--quiet"]
    assert main(["compare", *args, "--out", str(out), "--no-report"]) == 0
    assert not (out / "report.html").exists()


def test_report_on_a_folder_that_is_not_a_result_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a results folder" in err[0]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.slow
@pytest.mark.browser
def test_the_report_opens_in_headless_chromium_and_is_not_blank(batch, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine: .ci/run installs Debian's chromium package; install it to run this")
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--hide-scrollbars",
            "--window-size=1200,3000",
            f"--screenshot={shot}",
            (batch / "report.html").as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[0] >= 1000 and pixels.shape[1] >= 1000
    grey = pixels[..., :3].mean(axis=2)
    assert grey.std() > 0.05  # not a blank page: text, tables and figures
    assert (grey < 0.5).mean() > 0.005  # some dark ink (text, lines)
    assert np.isfinite(grey).all()
