"""The output-index and upload tests use the scanner tests' store of captured outputs."""

from tests.scan.conftest import captured  # noqa: F401 - a fixture, shared with tests/scan
