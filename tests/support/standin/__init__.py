"""A local HTTPS stand-in for the AI vendors, and a harness that runs a real mitmdump before it.

Used by the tests, the benchmarks and `aiaudit demo` to send real SDK traffic through a real
proxy, offline. `expected_text` / `expected_usage` give what the stand-in answers, so a test can
assert the exact text the proxy captured.
"""

from .server import LoggedRequest
from .server import StandinServer
from .text import Usage
from .text import batch_prompt
from .text import count_tokens
from .text import expected_reasoning
from .text import expected_text
from .text import expected_usage

__all__ = [
    "LoggedRequest",
    "StandinServer",
    "Usage",
    "batch_prompt",
    "count_tokens",
    "expected_reasoning",
    "expected_text",
    "expected_usage",
]
