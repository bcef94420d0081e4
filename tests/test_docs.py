"""The README and the documentation pages agree: every verb documented, every page linked, the README short.

`make docs` (mkdocs build --strict) checks the site's own links, anchors and included README parts;
these tests check what it cannot see: the README's links as GitHub follows them, and the CLI itself.
"""

import argparse
import re
from pathlib import Path

from infogan.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def _verbs() -> set[str]:
    (commands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return set(commands.choices)


def _nav_pages() -> set[str]:
    # mkdocs.yml holds a python tag (the slugify function), so read the nav's "- Title: page.md" lines.
    return set(re.findall(r"^\s+- [^:\n]+: (\S+\.md)$", (ROOT / "mkdocs.yml").read_text(), flags=re.MULTILINE))


def test_every_cli_verb_is_shown_on_the_command_line_page():
    page = (DOCS / "cli.md").read_text()
    assert _verbs() >= {"train", "sample", "serve"}  # the parser was read, not an empty set
    assert {verb for verb in _verbs() if not re.search(rf"^infogan {verb}\b", page, flags=re.MULTILINE)} == set()


def test_the_readmes_links_to_pages_resolve_and_reach_every_page():
    linked = re.findall(r"\]\((docs/[^)#\s]+)", README.read_text())
    assert [link for link in linked if not (ROOT / link).is_file()] == []
    pages = {link.removeprefix("docs/") for link in linked if link.endswith(".md")}
    assert pages == _nav_pages() - {"index.md"}


def test_every_page_in_docs_is_in_the_nav():
    assert {p.name for p in DOCS.glob("*.md")} == _nav_pages()


def test_the_readme_stays_short():
    assert len(README.read_text().splitlines()) <= 200  # the rest lives in docs/ (issue 17)
