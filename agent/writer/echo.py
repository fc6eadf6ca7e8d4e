"""The prompt texts of a captured generation call, for the echo marks of its outputs'
fingerprints (agent.reuse.fingerprint).

The parse reads them with the call's signatures (`ParsedCall.prompt_texts`, which the writer
uses); this reads them for one exchange on its own. Only the fingerprint uses the texts; they are
never stored. A request that is not read whole leaves the outputs unmarked, which costs
precision, never the call.
"""

from __future__ import annotations

from agent.proxy.record import CapturedExchange
from agent.writer.rows import parse_exchange


def prompt_texts(ex: CapturedExchange, max_body_bytes: int) -> list[str]:
    return parse_exchange(ex, max_body_bytes).prompt_texts
