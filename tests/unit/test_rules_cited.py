"""The rulebook the code cites is the one in the repository (docs/rules.md).

Code and docs cite a section of the rulebook as "rules §5" (or, in the older
form, "SPEC 5"), a few at once as "rules §5, 9", "SPEC 1, 5 and 10" or
"SPEC 2 to 5". Every section they name must be one docs/rules.md has, and
docs/rules.md has exactly the sections 1 to 10, in order. Inside the
rulebook and its coverage map (tests/SPEC_COVERAGE.md) a bare "§7" is a
citation too."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RULEBOOK = ROOT / "docs" / "rules.md"
SECTIONS = list(range(1, 11))
NOT_OURS = {".venv", "var", ".git"}
"""Folders at the repository's root that hold no code or docs of ours."""
BARE_SECTION_SIGN_IN = {Path("docs/rules.md"), Path("tests/SPEC_COVERAGE.md")}
"""Where a bare "§n" is the rulebook's section n (elsewhere it could be another document's)."""

# One more section in a list: "5, 9", "1 and 10", "2 to 5", "5-7", also where
# a comment or docstring wraps the list onto the next line ("SPEC 2 and\n# 4").
_MORE = r"(?:\s*(?:,|\band\b|\bor\b|\bto\b|-|–)\s*(?:#\s*)?§?\d+\b)*"
_PREFIXED = re.compile(r"(?:\bSPEC\s+§?|\brules\s+§{1,2}\s*)(\d+\b" + _MORE + ")")
_BARE = re.compile(r"§{1,2}\s*(\d+\b" + _MORE + ")")
_RANGE = re.compile(r"(\d+)\s*(?:\bto\b|-|–)\s*(?:#\s*)?§?(\d+)")


def sections_named(listed: str) -> list[int]:
    """The sections a citation's list names: "1, 4 to 10" is 1, 4, 5, ..., 10."""
    named = []
    for first, last in _RANGE.findall(listed):
        named += range(int(first), int(last) + 1)
    named += [int(n) for n in re.findall(r"\d+", _RANGE.sub(" ", listed))]
    return sorted(set(named))


def citations(text: str, *, bare: bool = False) -> list[tuple[int, str, list[int]]]:
    """Each citation of the rulebook in ``text``: its line, its words, the sections it names."""
    found = []
    for pattern in (_PREFIXED, _BARE) if bare else (_PREFIXED,):
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append((line, " ".join(match.group(0).split()), sections_named(match.group(1))))
    return found


def rulebook_sections(text: str) -> list[int | str]:
    """The rulebook's sections in order: each ``## n. Title`` heading's number
    (a second-level heading without one is listed as its words)."""
    headings = re.findall(r"^## (.*)$", text, re.MULTILINE)
    return [int(m.group(1)) if (m := re.match(r"(\d+)\. \S", h)) else h for h in headings]


def code_and_docs(root: Path) -> list[Path]:
    files = []
    for folder, subfolders, names in os.walk(root):
        if Path(folder) == root:
            subfolders[:] = [s for s in subfolders if s not in NOT_OURS]
        subfolders[:] = [s for s in subfolders if s != "__pycache__"]
        files += [Path(folder) / n for n in names if n.endswith((".py", ".md"))]
    return sorted(files)


def every_citation(root: Path) -> list[tuple[str, str, list[int]]]:
    found = []
    for path in code_and_docs(root):
        relative = path.relative_to(root)
        text = path.read_text(encoding="utf-8", errors="replace")
        for line, words, sections in citations(text, bare=relative in BARE_SECTION_SIGN_IN):
            found.append((f"{relative}:{line}", words, sections))
    return found


def test_the_rulebook_has_exactly_the_sections_one_to_ten_in_order():
    assert rulebook_sections(RULEBOOK.read_text(encoding="utf-8")) == SECTIONS


def test_every_citation_of_the_rulebook_names_a_section_it_has():
    sections = set(rulebook_sections(RULEBOOK.read_text(encoding="utf-8")))
    wrong = [
        f"{where}: {words!r} names section {n}, which docs/rules.md does not have"
        for where, words, named in every_citation(ROOT)
        for n in named
        if n not in sections
    ]
    assert wrong == [], "\n".join(wrong)


def test_citations_are_found_in_the_code_and_in_the_docs():
    """The walk reads what it should: a pattern that matched nothing would pass the test above vacuously."""
    found = every_citation(ROOT)
    assert any(where.split(":")[0].endswith(".py") for where, _, _ in found)
    assert any(where.split(":")[0].endswith(".md") for where, _, _ in found)
    assert not any(where.startswith((".venv", "var", ".git")) for where, _, _ in found)


@pytest.mark.parametrize(
    ("text", "sections"),
    [
        ("the chain rules (SPEC 2): who", [2]),
        ("the chain rules (rules §2): who", [2]),
        ("rules §§5, 9 say", [5, 9]),
        ("SPEC 5, 9;", [5, 9]),
        ("rules §5, 9;", [5, 9]),
        ("a viewer sees (SPEC 1, 5 and 10).", [1, 5, 10]),
        ("a viewer sees (rules §1, 5 and 10).", [1, 5, 10]),
        ("matrix (issue 13; SPEC 1, 4 to 10): every", [1, 4, 5, 6, 7, 8, 9, 10]),
        ("matrix (rules §1, 4 to 10): every", [1, 4, 5, 6, 7, 8, 9, 10]),
        ('"""Commands on contracts (SPEC 2 and\n4)."""', [2, 4]),
        ("# the runner (rules §6 and\n# 8) reads", [6, 8]),
        ("SPEC 3's table", [3]),
        ("SPEC 10: the contract", [10]),
        ("SPEC 1, Who registers whom", [1]),
        ("SPEC " + "11", [11]),  # split, or this file would cite a section the rulebook lacks
    ],
)
def test_a_citation_names_its_sections_in_either_form(text, sections):
    assert [named for _, _, named in citations(text)] == [sections]


@pytest.mark.parametrize("text", ["SPEC.md", "SPEC_COVERAGE.md", "the SPEC is silent", "rules we added", "§7 alone"])
def test_words_that_cite_no_section_are_not_citations(text):
    assert citations(text) == []


def test_a_bare_section_sign_cites_only_where_it_is_told_to():
    assert [named for _, _, named in citations("health status (§7)", bare=True)] == [[7]]
    assert citations("RFC 9110 §15", bare=False) == []


def test_a_rulebook_with_a_section_missing_or_out_of_order_is_told_apart():
    assert rulebook_sections("# The rulebook\n## 1. Who\n## 3. Statuses\n## 2. Contracts\n") == [1, 3, 2]
    assert rulebook_sections("## 1. Who\n## Appendix\n") == [1, "Appendix"]
