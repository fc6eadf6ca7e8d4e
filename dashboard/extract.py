"""A Babel extractor for the built-in rules' titles, so a catalogue translates them too.

A finding's title is its rule's `title` (rules/builtin/*.yml), stored with the finding and shown
on every page. babel.cfg maps the rule files to `rule_titles`; the report translates a title
when the catalogue has it (site rules' titles have no entry and are shown as written).
"""

from __future__ import annotations

from typing import IO
from typing import Iterator

import yaml


def rule_titles(fileobj: IO[bytes], keywords, comment_tags, options) -> Iterator[tuple[int, None, str, list[str]]]:
    """Babel's extraction-method signature: (line, function, message, comments) per title."""
    text = fileobj.read().decode("utf-8")
    for document in yaml.compose_all(text, Loader=yaml.SafeLoader):
        if not isinstance(document, yaml.MappingNode):
            continue
        for key, value in document.value:
            if key.value == "title" and isinstance(value, yaml.ScalarNode) and value.value:
                yield value.start_mark.line + 1, None, value.value, ["Rule title (a finding's heading)."]
