"""`aiaudit scan` text lines say where the reused text sits, and never pass a scanned file's
control characters (field names come from its content) to the terminal."""

from __future__ import annotations

from agent.commands.scan import print_finding

ROW = {"path": "/d/a.jsonl", "record": 3, "vendors": ["openai"], "teams": ["research"], "output_coverage": 0.9,
       "record_coverage": 0.5, "matched_words": 80, "reuse_class": "edited", "tier": "near-verbatim",
       "role": "response", "call_ids": ["c1"]}


def test_text_line_names_tier_side_and_fields(capsys):
    print_finding({**ROW, "fields": ["messages[2].content", "meta.answer"]}, "text")
    line = capsys.readouterr().out
    assert "edited near-verbatim  response side: messages[2].content,meta.answer  calls=c1" in line


def test_control_characters_in_field_names_do_not_reach_the_terminal(capsys):
    print_finding({**ROW, "fields": ["a\x1b[2Jb\x07", "c\rd"]}, "text")
    line = capsys.readouterr().out
    assert "\x1b" not in line and "\x07" not in line and "\r" not in line and "a?[2Jb?,c?d" in line
