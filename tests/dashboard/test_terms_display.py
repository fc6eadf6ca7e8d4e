"""The report quotes each vendor clause with how it was read (confidence), its document, section
and version, and says it is not legal advice; report.json carries the same."""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape

import pytest

from dashboard.report import write_weekly_report
from rules.engine.evaluate import evaluate
from tests.rules.conftest import seed
from tests.rules.scenario import CALLS
from tests.rules.scenario import SINCE
from tests.rules.scenario import UNTIL
from tests.rules.scenario import reuse_entries

WEEK = "2026-W47"


@pytest.fixture
def report(store, tmp_path):
    seed(store, calls=CALLS, reuse_findings=reuse_entries())
    evaluate(store, SINCE, UNTIL)
    write_weekly_report(store, WEEK, tmp_path, now=dt.datetime(2026, 11, 24, tzinfo=dt.timezone.utc))
    page = unescape(re.sub(r"\s+", " ", (tmp_path / WEEK / "index.html").read_text()))
    return page, json.loads((tmp_path / WEEK / "report.json").read_text())


def test_each_clause_shows_its_confidence_source_and_not_legal_advice(report):
    page, data = report
    distill = next(f for f in data["findings"] if f["team"] == "distill")
    assert distill["clause_confidence"] == "primary"
    assert distill["clause_source"]["document"] == "Anthropic Usage Policy"
    assert distill["clause"].startswith("“Utilization of inputs and outputs to train an AI model")
    # the clause block: the quote, then how it was read, the document and section, the version
    block = page.split(distill["clause"], 1)[1].split("</blockquote>", 1)[0]
    assert "read in the vendor's own text" in block
    assert "Anthropic Usage Policy, Do Not Abuse our Platform" in block
    assert "version effective 2025-09-15" in block and "not legal advice" in block
    # the vendor table too
    vendors = page.split('id="vendors"', 1)[1].split("</table>", 1)[0]
    assert vendors.count("read in the vendor's own text") >= 2 and "Not legal advice" in page
    assert "This is not legal advice." in page


def test_a_second_hand_clause_says_so(store, tmp_path):
    calls = [{"ts": SINCE + dt.timedelta(hours=1), "team": "bedrock-team", "vendor": "aws-bedrock",
              "model": "amazon.nova-pro-v1:0", "endpoint": "converse", "repeat": 5, "every": "1m", "id": "bx{i}"}]
    seed(store, calls=calls)
    write_weekly_report(store, WEEK, tmp_path, now=dt.datetime(2026, 11, 24, tzinfo=dt.timezone.utc))
    page = unescape(re.sub(r"\s+", " ", (tmp_path / WEEK / "index.html").read_text()))
    row = page.split('id="vendors"', 1)[1].split("</table>", 1)[0]
    assert "aws-bedrock" in row and "quoted second-hand" in row
    assert "AWS Service Terms, Amazon Bedrock section" in row
