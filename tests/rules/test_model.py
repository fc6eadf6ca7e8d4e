"""Rule levels and statuses order by declaration, so `level >= Level.HIGH` reads as it says; a
value of another enum is not comparable."""

from __future__ import annotations

import pytest

from rules.engine.model import Level
from rules.engine.model import Status


def test_levels_and_statuses_order_as_declared():
    assert sorted(Level, reverse=True)[0] is Level.CRITICAL and min(Level) is Level.INFORMATIONAL
    assert Level.HIGH >= Level.MEDIUM > Level.LOW and not Level.LOW >= Level.HIGH
    assert Status.STABLE > Status.TEST > Status.EXPERIMENTAL > Status.DEPRECATED
    assert Level("medium") is Level.MEDIUM


def test_members_of_two_enums_do_not_compare():
    with pytest.raises(TypeError):
        assert Level.HIGH < Status.STABLE
