"""Reading rule files never raises: a syntax error, a duplicate key, an oversized or unreadable
file are problems at their line, and each entry remembers its line."""

from __future__ import annotations

from agent.config.yamlfile import MAX_CONFIG_BYTES
from rules.engine.loader import line_of
from rules.engine.loader import read_documents


def test_entries_remember_their_lines_and_duplicates_are_problems(tmp_path):
    path = tmp_path / "r.yml"
    path.write_text("title: a\nlevel: high\nlevel: low\ntags:\n  - x\n  - y\n---\nother: 1\n")
    documents, problems = read_documents(path)
    first = documents[0]
    assert len(documents) == 2 and first["level"] == "high"  # the first of two equal keys is kept
    assert [(p.line, "duplicate key 'level'" in p.message) for p in problems] == [(3, True)]
    assert line_of(first, "tags") == 4 and line_of(first["tags"], 1) == 6
    assert line_of(first["tags"], 9) == first["tags"].line and line_of("not a container", "k", 7) == 7


def test_a_bad_file_is_a_problem_never_an_exception(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("title: a\n  bad: [indent\n")
    _, problems = read_documents(broken)
    assert problems and problems[0].line >= 1 and problems[0].path == broken
    big = tmp_path / "big.yml"
    big.write_bytes(b"#" * (MAX_CONFIG_BYTES + 1))
    assert "byte limit" in read_documents(big)[1][0].message
    assert read_documents(tmp_path / "missing.yml")[1][0].message.startswith("cannot read")
