"""Every relative link in README.md and docs/*.md leads somewhere: the file exists, and a `#anchor` names a
heading of that file (GitHub's slugs: lowercase, punctuation dropped, spaces to hyphens, `-1` for a repeat) or
an explicit `<a id="...">`. Links inside code are not links. External (http, https, mailto) links are not
fetched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Pages another change of the same issue adds; checked like any other as soon as they exist.
PENDING = {"docs/architecture.md": "the layer map and feature table (issue 20, the code restructure)"}
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    text = re.sub(r"^([ \t]*)(```+).*?^\1\2[ \t]*$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def anchors(page: Path) -> set[str]:
    text = re.sub(r"^([ \t]*)(```+).*?^\1\2[ \t]*$", "", page.read_text(), flags=re.S | re.M)
    found, seen = set(re.findall(r'<a id="([^"]+)"', text)), {}
    for heading in re.findall(r"^#{1,6} (.+?)\s*#*$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower()).replace(" ", "-")
        found.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return found


def links() -> list[tuple[str, str]]:
    out = []
    for page in PAGES:
        for target in LINK.findall(prose(page.read_text())):
            if not re.match(r"^(https?|mailto):", target):
                out.append((page.relative_to(ROOT).as_posix(), target))
    return out


LINKS = links()


def test_the_pages_link_each_other():
    assert len(LINKS) > 100


@pytest.mark.parametrize("page,target", LINKS, ids=[f"{p}->{t}" for p, t in LINKS])
def test_link_resolves(page, target):
    path, _, anchor = target.partition("#")
    file = (ROOT / page).parent / path if path else ROOT / page
    file = file.resolve()
    name = file.relative_to(ROOT).as_posix() if file.is_relative_to(ROOT) else str(file)
    if not file.exists() and name in PENDING:
        pytest.skip(f"{name} is not written yet: {PENDING[name]}")
    assert file.exists(), f"{page}: link to {target}: no such file"
    if anchor:
        assert file.suffix == ".md", f"{page}: anchor into a non-Markdown file: {target}"
        assert anchor in anchors(file), f"{page}: {target}: no heading with that anchor in {name}"
