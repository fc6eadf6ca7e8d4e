"""Splitting a candidate's hit pairs by the side of the record they sit on (agent.reuse.roles),
so that a match on the response side is told from one only in the prompt, and a record's prompt
side weakens what its response repeats from it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from agent.reuse.roles import FieldPath
from agent.reuse.roles import role_of
from agent.reuse.scoring import bridge_boilerplate
from agent.reuse.scoring import bridge_echoes


@lru_cache(maxsize=4096)
def cached_role(path: str, speaker: str | None) -> str:
    return role_of(FieldPath(path, speaker))  # few distinct paths per dataset: "messages[2].content"


def split_by_side(batch, cand_record: np.ndarray, pair_cand: np.ndarray, pair_record: np.ndarray,
                  pair_output: np.ndarray, boilerplate: np.ndarray, echo: np.ndarray, hot_start: np.ndarray):
    """The hit pairs of every candidate split by the side of the record they sit on: candidate c
    keeps its response (and unknown) side pairs, c + n its prompt side pairs, sorted by candidate.
    `batch` is the matcher's batch (field and record token bounds, prompt_fields()).

    An output 5-gram that the record's prompt side also holds restates the question (answers do:
    "To calculate the median of..."), or quotes what the question quoted (a poem, a code block):
    every independent answer to that prompt can hold it, so on the response side it is weak
    evidence. Returns (candidate, record position, output position, weak mask (boilerplate
    and echoes), echo mask, mask offsets) for the 2n candidates.
    """
    count = len(hot_start) - 1
    field = np.searchsorted(batch.field_tokens[:, 0], pair_record + batch.record_tokens[cand_record[pair_cand], 0],
                            "right") - 1
    on_prompt = batch.prompt_fields()[field]
    side_echo = np.concatenate((echo, echo))
    side_echo[hot_start[pair_cand[on_prompt]] + pair_output[on_prompt]] = True
    side_start = np.concatenate((hot_start[:-1], hot_start + hot_start[-1]))
    side_echo = bridge_echoes(side_echo, side_start)
    side_hot = bridge_boilerplate(np.concatenate((boilerplate, boilerplate)) | side_echo, side_start)
    side_cand = pair_cand + count * on_prompt
    order = np.argsort(side_cand, kind="stable")
    return side_cand[order], pair_record[order], pair_output[order], side_hot, side_echo, side_start
