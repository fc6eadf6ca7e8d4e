"""Seeded text for the fingerprint tests: answers that share vocabulary and boilerplate."""

from __future__ import annotations

import random

WORDS = """the a of to and in is for on with that this it be as by from or can are you your
will use when if not at check run set file server cache request token key log config data table
query index node cluster service user job build test value error retry limit time version
deploy restore update backup network disk memory thread process queue message event model
policy role account session secret storage bucket region image volume module package""".split()
RARE = [f"{a}{b}" for a in ("kor", "lux", "vex", "dal", "mir", "sun", "tav", "zel")
        for b in ("ant", "bor", "cil", "dex", "eon", "fax", "gil", "hum", "ix", "jor")]
BOILERPLATE = "I hope this helps! Let me know if you have any other questions."


def sentence(rng: random.Random, words: int) -> str:
    chosen = [rng.choice(RARE) if rng.random() < 0.25 else rng.choice(WORDS) for _ in range(words)]
    return " ".join(chosen).capitalize() + "."


def answer(rng: random.Random, words: int = 160, boilerplate: bool = False) -> str:
    parts = []
    total = 0
    while total < words:
        size = rng.randint(8, 16)
        parts.append(sentence(rng, size))
        total += size
    text = " ".join(parts)
    return f"{text} {BOILERPLATE}" if boilerplate else text


def answers(seed: int, count: int, words: int = 160) -> list[str]:
    rng = random.Random(seed)
    return [answer(rng, rng.randint(words - 40, words + 40)) for _ in range(count)]


def edit(text: str, share: float, seed: int) -> str:
    """Delete, substitute or insert a word at `share` of the positions."""
    rng = random.Random(seed)
    out = []
    for word in text.split():
        if rng.random() >= share:
            out.append(word)
            continue
        kind = rng.randrange(3)
        if kind == 1:
            out.append(rng.choice(WORDS))
        elif kind == 2:
            out.extend([word, rng.choice(WORDS)])
    return " ".join(out)
