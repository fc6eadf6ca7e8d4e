"""Output fingerprints, the fingerprint index, and reuse scoring (see matching.ReuseDetector)."""

from agent.fingerprint.fingerprint import Fingerprint
from agent.fingerprint.fingerprint import fingerprint
from agent.fingerprint.normalise import normalise
from agent.fingerprint.normalise import tokens

__all__ = ["Fingerprint", "fingerprint", "normalise", "tokens"]
