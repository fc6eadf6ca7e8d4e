"""The writer's backlog: records and bytes past its position counted from the real journal, the
count kept right as the writer catches up, and the oldest waiting call's capture time."""

from __future__ import annotations

from agent.proxy.journal import Journal
from agent.writer.backlog import Backlog
from tests.writer.test_drain import exchange
from tests.writer.test_drain import fill


def test_the_backlog_follows_appends_and_the_writers_progress(tmp_path):
    journal = Journal(tmp_path / "j", 1 << 30)
    start = journal.acked()
    backlog = Backlog(journal, start)
    assert backlog.records() == 0 and backlog.complete and backlog.oldest_captured_at(start) is None
    fill(journal, 5)
    assert backlog.records() == 5 and backlog.bytes_after(start) == journal.size > 0
    first, _, _ = exchange("question number 0 about rivers and mountains")
    assert abs(backlog.oldest_captured_at(start) - first.finished) < 60

    payloads, middle = journal.read(start, max_records=2)
    backlog.consumed(len(payloads), middle)  # the writer stored two: the cursor was ahead of it
    assert backlog.records() == 3 and backlog.bytes_after(middle) < journal.size
    fill(journal, 4)
    assert backlog.records() == 7
    _, end = journal.read(middle, max_records=100)
    backlog.consumed(7, end)  # caught up past the cursor
    assert backlog.records() == 0 and backlog.bytes_after(end) == 0
