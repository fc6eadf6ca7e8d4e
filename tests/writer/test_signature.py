from __future__ import annotations

import pytest

from agent.writer.signature import prompt_sha256
from agent.writer.signature import template_signature


def chat(*messages):
    return [(role, text) for role, text in messages]


SAME_TEMPLATE = [
    (
        chat(("user", "Question: What is the capital of France?\nAnswer:")),
        chat(("user", "Question: How do vaccines train the immune system?\nAnswer:")),
    ),
    (
        chat(("system", "You are a helpful math tutor."), ("user", "Solve 12 + 30 and explain.")),
        chat(("system", "You are a helpful math tutor."), ("user", "Solve 7.5 * 3 and explain.")),
    ),
    (
        chat(("system", "Answer as a pirate."), ("user", "Why is the sky blue?")),
        chat(("system", "Answer as a pirate."), ("user", "Tell me about the Roman empire and its fall")),
    ),
    (
        chat(("user", 'Translate "Good morning, friends" into French.')),
        chat(("user", 'Translate "The train leaves at noon" into French.')),
    ),
    (
        chat(("user", "Summarise the article below:\nThe council met on Tuesday.\nIt approved the budget.\n\nKeep it short.")),
        chat(("user", "Summarise the article below:\nScientists found water on Mars.\n\nKeep it short.")),
    ),
    (
        chat(("user", "Classify https://example.com/a?id=1 for user bob@example.com")),
        chat(("user", "Classify https://other.example.org/path for user alice@corp.example")),
    ),
    (
        chat(("user", "Context: The Nile is long.\nQuestion: How long?")),
        chat(("user", "Context: Mount Everest is in Nepal and is the highest peak.\nQuestion: Where is it?")),
    ),
    (
        chat(("user", "Describe record 3f2a9c1e8b7d6a5f4e3d2c1b0a998877 in detail")),
        chat(("user", "Describe record 0000aaaabbbbccccddddeeeeffff1111 in detail")),
    ),
]

DIFFERENT = [
    (chat(("user", "Question: What is 2+2?\nAnswer:")), chat(("user", "Q: What is 2+2?\nA:"))),
    (chat(("system", "You are a pirate."), ("user", "Hi")), chat(("system", "You are a lawyer."), ("user", "Hi"))),
    (chat(("user", "Write a poem about the sea")), chat(("user", "Write an essay about taxes"))),
    (chat(("user", 'Translate "x" into French.')), chat(("user", 'Translate "x" into German.'))),
]


@pytest.mark.parametrize("a,b", SAME_TEMPLATE)
def test_same_template_same_signature(a, b):
    assert template_signature(a) == template_signature(b)
    assert prompt_sha256(a) != prompt_sha256(b)


@pytest.mark.parametrize("a,b", DIFFERENT)
def test_different_templates_differ(a, b):
    assert template_signature(a) != template_signature(b)


def test_answers_in_history_do_not_change_the_template():
    a = chat(("system", "Grade the essay."), ("user", "Essay one"), ("assistant", "B+"), ("user", "Essay two"))
    b = chat(("system", "Grade the essay."), ("user", "Essay one"), ("assistant", "C"), ("user", "Essay three"))
    assert template_signature(a) == template_signature(b)


def test_prompt_hash_normalises_whitespace_only():
    assert prompt_sha256(chat(("user", "Hello   world\n"))) == prompt_sha256(chat(("user", " Hello world")))
    assert prompt_sha256(chat(("user", "Hello world"))) != prompt_sha256(chat(("user", "hello world")))
    assert prompt_sha256(chat(("user", "x"))) != prompt_sha256(chat(("system", "x")))


def test_empty_prompt_has_no_signature():
    assert template_signature([]) is None and prompt_sha256([]) is None
    assert template_signature(chat(("assistant", "only an answer"))) is None


def test_signature_is_hex_sha256_and_bounded_on_huge_prompts():
    import time

    huge = chat(("user", "Summarise:\n" + "word " * 400_000))
    started = time.perf_counter()
    signature = template_signature(huge)
    assert time.perf_counter() - started < 1.0
    assert len(signature) == 64 and int(signature, 16) >= 0
