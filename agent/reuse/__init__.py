"""Output fingerprints, the fingerprint index, and reuse scoring (see matching.ReuseDetector)."""

from agent.reuse.fingerprint import Fingerprint
from agent.reuse.fingerprint import fingerprint
from agent.reuse.normalise import normalise
from agent.reuse.normalise import tokens

__all__ = ["Fingerprint", "fingerprint", "normalise", "tokens"]
