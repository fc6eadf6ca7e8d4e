"""Outputs fingerprinted by earlier tokenisers still match: a store holding blobs as earlier
releases wrote them (version 1: one token per Chinese or Japanese character; tokeniser 2: list
numbers as words) is indexed and scanned by today's code."""

from __future__ import annotations

import datetime as dt
import logging
import re
import struct

import numpy as np

from agent.ids import new_id
from agent.reuse import Fingerprint
from agent.reuse import fingerprint
from agent.reuse.fingerprint import LEGACY_TOKENISER
from agent.reuse.fingerprint import text_hash
from agent.reuse.matching import ReuseDetector
from agent.reuse.outputs import SyncedOutputIndex
from agent.reuse.scripts import TOKENISER
from agent.reuse.upgrade import may_hold_cut_script
from agent.reuse.upgrade import remade
from agent.store.engine import open_store
from agent.store.models import Call
from agent.store.models import Output
from tests.scan.conftest import answer

JAPANESE = ("ファイルシステムを作成するには mkfs コマンドを使います。作成したファイルシステムは /etc/fstab に"
            "一行を追加すると起動時にマウントされます。マウントポイントのディレクトリーは事前に作成しておく必要が"
            "あります。設定を変更した後は mount -a を実行して、エラーが出ないことを確認してください。")
CHINESE = ("要创建文件系统，请使用 mkfs 命令。创建的文件系统在 /etc/fstab 中添加一行后会在启动时挂载。挂载点目录需要"
           "事先创建。修改配置之后，请运行 mount -a 并确认没有出现错误。这样可以避免系统在下次启动时无法进入。")


def version_one_blob(text: str) -> bytes:
    """What the previous release stored: a version-1 header and the 5-grams of one token per
    Chinese or Japanese character (the same token hashes as spaced-out characters give)."""
    spaced = "".join(f" {ch} " if "\u3040" <= ch <= "\u9fff" else ch for ch in text)
    fp = fingerprint(spaced)
    header = struct.pack("<BBIQ16sI", 1, 5, fp.word_count, text_hash(text), fp.exact, len(fp.shingles))
    return header + np.ascontiguousarray(fp.shingles, dtype="<u8").tobytes()


def tokeniser_two_blob(text: str) -> bytes:
    """What tokeniser 2 stored for a text with a numbered list: the numbers were words (the same
    token hashes as the numbers without their points give)."""
    fp = fingerprint(re.sub(r"(?m)^(\d+)\. ", r"\1 ", text))
    return Fingerprint(fp.word_count, fp.exact, text_hash(text), fp.shingles, 2).to_blob()


NUMBERED = "\n".join(f"{n}. {answer(n, 12)}" for n in range(1, 9))
BULLETED = "\n".join(f"- {answer(n, 12)}" for n in range(1, 9))


def store_with(url: str, texts: list[str], keep_text: bool, blob_of=version_one_blob):
    store = open_store(url)
    now = dt.datetime.now(dt.timezone.utc)
    with store.write_session() as s:
        for text in texts:
            call = Call(id=new_id(), ts=now, vendor="openai", host="api.openai.com", endpoint="chat.completions",
                        team="jp", outputs=1, output_chars=len(text))
            s.add(call)
            s.flush()
            blob = blob_of(text)
            s.add(Output(call_id=call.id, idx=0, kind="generated", ts=now, word_count=Fingerprint.from_blob(blob).word_count,
                         char_count=len(text), exact_hash=Fingerprint.from_blob(blob).exact, fingerprint=blob,
                         text=text if keep_text else None))
    return store


def test_a_version_one_blob_reads_as_the_legacy_tokeniser():
    fp = Fingerprint.from_blob(version_one_blob(JAPANESE))
    assert fp.tokeniser == LEGACY_TOKENISER != TOKENISER
    assert fp.word_count > 0.5 * len(JAPANESE)  # one token per character
    assert may_hold_cut_script(fp, len(JAPANESE))
    assert not may_hold_cut_script(fingerprint(answer(1)), len(answer(1)))


def test_remade_only_from_the_whole_text():
    old = Fingerprint.from_blob(version_one_blob(JAPANESE))
    assert remade(old, JAPANESE) == fingerprint(JAPANESE)
    assert remade(old, JAPANESE[:100]) is None  # privacy.store_text: excerpt
    assert remade(old, None) is None


def test_an_old_english_fingerprint_is_what_the_new_tokeniser_makes():
    text = answer(3)
    old = Fingerprint.from_blob(version_one_blob(text))
    assert old.exact == fingerprint(text).exact and np.array_equal(old.shingles, fingerprint(text).shingles)


def edited_copies(text: str) -> list[list[tuple[str, str]]]:
    return [[("messages[1].content", text)],
            [("messages[1].content", text[: len(text) * 6 // 10])],
            [("text", "前置きの文章です。" + text + "以上です。")]]


def test_old_cjk_outputs_with_their_text_stored_are_remade_and_match(tmp_path, sqlite_url):
    store = store_with(sqlite_url, [JAPANESE, CHINESE, answer(5)], keep_text=True)
    output_index = SyncedOutputIndex(store, tmp_path / "index")
    assert output_index.sync() == 3
    assert output_index.kept_old_tokeniser == 0
    detector = ReuseDetector(output_index.index)
    for number, text in enumerate((JAPANESE, CHINESE), start=1):
        for record in edited_copies(text):
            assert [m.output_id for m in detector.match(record)] == [number]


def test_old_cjk_outputs_without_text_are_counted_and_still_match_byte_for_byte(tmp_path, sqlite_url, caplog):
    store = store_with(sqlite_url, [JAPANESE, CHINESE, answer(5)], keep_text=False)
    output_index = SyncedOutputIndex(store, tmp_path / "index")
    with caplog.at_level(logging.WARNING):
        assert output_index.sync() == 3
    assert output_index.kept_old_tokeniser == 2
    assert "2 outputs look Chinese or Japanese" in caplog.text
    detector = ReuseDetector(output_index.index)
    assert [m.output_id for m in detector.match([("messages[1].content", JAPANESE)])] == [1]
    assert [m.output_id for m in detector.match([("messages[1].content", answer(5)[:400])])] == [3]


def test_an_index_built_with_the_old_tokeniser_is_rebuilt(tmp_path, sqlite_url):
    store = store_with(sqlite_url, [JAPANESE], keep_text=True)
    output_index = SyncedOutputIndex(store, tmp_path / "index")
    output_index.sync()
    binding = dict(output_index.index.binding)
    binding["store"] = {k: v for k, v in binding["store"].items() if k != "tokeniser"}  # as written before
    output_index.index.reset(binding)
    again = SyncedOutputIndex(store, tmp_path / "index")
    again.sync()
    assert again.rebuilds == 1 and again.indexed() == 1


def test_tokeniser_two_lists_are_remade_from_their_text_and_match_as_bullets(tmp_path, sqlite_url):
    store = store_with(sqlite_url, [NUMBERED], keep_text=True, blob_of=tokeniser_two_blob)
    output_index = SyncedOutputIndex(store, tmp_path / "index")
    output_index.sync()
    detector = ReuseDetector(output_index.index)
    assert output_index.kept_old_tokeniser == 0
    [match] = detector.match([("messages[1].content", BULLETED)])
    assert (match.output_id, match.reuse_class) == (1, "reformatted")


def test_tokeniser_two_lists_without_text_still_match_their_copies(tmp_path, sqlite_url):
    """Kept as stored (not counted: that the text had a list cannot be told): a copy keeping the
    numbers matches whole, a bulleted one on the 5-grams inside the items."""
    store = store_with(sqlite_url, [NUMBERED, JAPANESE], keep_text=False, blob_of=tokeniser_two_blob)
    output_index = SyncedOutputIndex(store, tmp_path / "index")
    output_index.sync()
    assert output_index.kept_old_tokeniser == 0  # a tokeniser-2 CJK blob cuts as today's
    detector = ReuseDetector(output_index.index)
    assert [m.output_id for m in detector.match([("text", NUMBERED)])] == [1]
    assert [m.output_id for m in detector.match([("text", BULLETED)])] == [1]
    assert [m.output_id for m in detector.match([("text", JAPANESE[:120])])] == [2]


def tokeniser_three_blob(text: str) -> bytes:
    """What tokeniser 3 stored: Markdown's delimiters inside words were separators (the same
    tokens as spaces there give), outline numbers kept their leading parts."""
    fp = fingerprint(re.sub(r"(?<=\w)[*`]+(?=\w)", " ", text))
    return Fingerprint(fp.word_count, fp.exact, text_hash(text), fp.shingles, 3).to_blob()


# one word in 60 joined across delimiters (3 % of the same-prompt answers have any, mostly code)
JOINED = " ".join(f"**{w[0]}**{w[1:]}" if n % 60 == 0 and len(w) > 1 else w
                  for n, w in enumerate(answer(7, 300).split()))
RENDERED = JOINED.replace("*", "")


def test_tokeniser_three_joined_words_are_remade_from_their_text_and_match_rendered(tmp_path, sqlite_url):
    store = store_with(sqlite_url, [JOINED], keep_text=True, blob_of=tokeniser_three_blob)
    output_index = SyncedOutputIndex(store, tmp_path / "index")
    output_index.sync()
    assert output_index.kept_old_tokeniser == 0
    [match] = ReuseDetector(output_index.index).match([("messages[1].content", RENDERED)])
    assert (match.output_id, match.reuse_class) == (1, "reformatted")


def test_tokeniser_three_without_text_still_matches_its_copies(tmp_path, sqlite_url):
    """Kept as stored: the 5-grams away from a joined word are today's, so a copy keeping the
    delimiters matches whole and a cut of it on those 5-grams."""
    store = store_with(sqlite_url, [JOINED], keep_text=False, blob_of=tokeniser_three_blob)
    output_index = SyncedOutputIndex(store, tmp_path / "index")
    output_index.sync()
    detector = ReuseDetector(output_index.index)
    assert [m.output_id for m in detector.match([("text", JOINED)])] == [1]  # byte for byte
    assert [m.output_id for m in detector.match([("text", JOINED[: len(JOINED) * 6 // 10])])] == [1]
