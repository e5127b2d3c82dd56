"""The repository stands on its own (issue 12): no file points at the project's shared folder
outside the repository (its conceptual model and seed documents are described in
docs/conceptual-model.md and docs/sources.md), and every relative link in the README and in
docs/*.md leads to a file that is in the repository."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[2]

# Written in pieces so that this file does not match itself.
OUTSIDE = re.compile("|".join(re.escape(s) for s in ("../" + "shared", "shared/" + "seeds", "MODEL" + ".md")))
"""A reference to the shared folder outside the repository, its conceptual model or its seeds."""

SKIPPED_DIRS = {".git", ".venv", "venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}
SKIPPED_DIRS |= {"build", "dist", "outputs", "node_modules"}
"""Folders the tree walk leaves out when git is missing: environments, caches, results."""

LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)")
"""An inline markdown link or image, ``[text](target "title")``; group 1 is the target."""

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
EXTERNAL = ("http://", "https://", "mailto:", "#")


def walk_files(root: Path) -> list[Path]:
    """Every file under ``root`` outside :data:`SKIPPED_DIRS` and ``*.egg-info`` (and not
    ``.git``, which is a file in a worktree)."""
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info")]
        found.extend(Path(folder) / name for name in names if name != ".git")
    return sorted(found)


def repository_files(root: Path = ROOT) -> list[Path]:
    """The repository's files: what git tracks (and new files it does not ignore), or, where git
    is missing or ``root`` is not a checkout, every file of the tree (:func:`walk_files`)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return walk_files(root)
    names = sorted({name for name in listed.decode("utf-8").split("\0") if name})
    return [root / name for name in names if (root / name).is_file()]


def outside_references(files: list[Path], root: Path = ROOT) -> list[str]:
    """``path:line: text`` for every line of a text file that refers outside the repository."""
    hits = []
    for path in files:
        data = path.read_bytes()
        if b"\0" in data:  # binary (a figure)
            continue
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
            if OUTSIDE.search(line):
                hits.append(f"{path.relative_to(root).as_posix()}:{number}: {line.strip()[:160]}")
    return hits


def broken_links(markdown: Path, root: Path = ROOT) -> list[str]:
    """``path:line: target`` for every relative link in ``markdown`` (outside fenced code) whose
    target is not a file or folder inside ``root``."""
    text = markdown.read_text(encoding="utf-8")
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)  # keep the line numbers
    broken = []
    for match in LINK.finditer(text):
        target = match.group(1)
        if target.startswith(EXTERNAL):
            continue
        path = unquote(target.split("#", 1)[0].split("?", 1)[0])
        resolved = (markdown.parent / path).resolve()
        if not resolved.is_relative_to(root.resolve()) or not resolved.exists():
            number = text.count("\n", 0, match.start()) + 1
            broken.append(f"{markdown.relative_to(root).as_posix()}:{number}: {target}")
    return broken


def documents(root: Path = ROOT) -> list[Path]:
    """The README and the pages of docs/."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def test_no_file_refers_to_the_shared_folder_outside_the_repository():
    files = repository_files()
    assert ROOT / "README.md" in files and Path(__file__).resolve() in files
    hits = outside_references(files)
    assert hits == [], "refers outside the repository (use docs/conceptual-model.md, docs/sources.md):\n" + (
        "\n".join(hits)
    )


def test_every_relative_link_in_the_readme_and_docs_leads_to_a_file_in_the_repository():
    pages = documents()
    assert ROOT / "docs" / "conceptual-model.md" in pages and ROOT / "docs" / "sources.md" in pages
    broken = [line for page in pages for line in broken_links(page)]
    assert broken == [], "links to nothing in the repository:\n" + "\n".join(broken)


def test_the_checks_find_what_they_look_for(tmp_path):
    """Both checks fail on a bad reference and a broken link, and pass the good ones."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "ok.md").write_text("fine\n", encoding="utf-8")
    bad = "MODEL" + ".md"
    (tmp_path / "sim.py").write_text(f'"""Arrivals ({bad} 3.1)."""\n', encoding="utf-8")
    (tmp_path / "figure.png").write_bytes(b"\x89PNG\0" + bad.encode())
    (tmp_path / "README.md").write_text(
        "# x\n\n[ok](docs/ok.md#top) [web](https://example.org) [here](#x) ![fig](docs/ok.md)\n"
        "[gone](docs/missing.md) [out](" + "../" + "shared/x.md)\n\n```\n[code](not/a/link.md)\n```\n",
        encoding="utf-8",
    )
    files = walk_files(tmp_path)
    assert outside_references(files, tmp_path) == [
        "README.md:4: [gone](docs/missing.md) [out](" + "../" + "shared/x.md)",
        f'sim.py:1: """Arrivals ({bad} 3.1)."""',
    ]
    assert broken_links(tmp_path / "README.md", tmp_path) == [
        "README.md:4: docs/missing.md",
        "README.md:4: " + "../" + "shared/x.md",
    ]
    assert outside_references([tmp_path / "docs" / "ok.md"], tmp_path) == []


def test_the_tree_walk_without_git_finds_the_repository_files():
    walked = walk_files(ROOT)
    assert Path(__file__).resolve() in walked and ROOT / "docs" / "conceptual-model.md" in walked
    assert not any(".git" in p.relative_to(ROOT).parts for p in walked)
