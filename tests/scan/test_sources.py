"""Sources named by URL (agent.scan.sources): for gs:// and hf://datasets/ no emulator is installed
here, so these tests stop at the boundary: the URL is accepted by `aiaudit scan`, the right fsspec
backend is asked for (hidden, it is named in one line with the extra to install; installed, it is
the one that opens the URL), and URLs are shown without secrets. S3 (moto_server) and az://
(Azurite, from npm) are tested end to end against real servers in test_remote.py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import UserError
from agent.scan.sources import BACKENDS
from agent.scan.sources import is_url
from agent.scan.sources import open_filesystem
from agent.scan.sources import public_url
from agent.scan.sources import scrub
from tests.conftest import REPO
from tests.conftest import aiaudit_command

CLOUD_URLS = {
    "gs": "gs://corp-training/chat/2024",
    "abfs": "abfs://training@corpacct.dfs.core.windows.net/chat",
    "az": "az://training/chat",
    "hf": "hf://datasets/corp/chat-logs/data",
    "s3": "s3://corp-training/chat",
}


def scan(tmp_path: Path, *args: str, hide: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    # a backend made unimportable, as when the extra is not installed
    (site / "sitecustomize.py").write_text(f"import sys\nsys.modules[{hide!r}] = None\n" if hide else "")
    full = {k: v for k, v in os.environ.items() if not k.startswith(("AIAUDIT_", "AWS_", "AZURE_", "GOOGLE_", "HF_"))}
    full.update(XDG_DATA_HOME=str(tmp_path / "xdg"), PYTHONPATH=f"{site}:{REPO}", **(env or {}))
    return subprocess.run([*aiaudit_command(), "--db", f"sqlite:///{tmp_path / 'a.db'}", "scan", *args],
                          capture_output=True, text=True, env=full, cwd=tmp_path, timeout=120)


@pytest.mark.parametrize("scheme", sorted(CLOUD_URLS))
def test_a_missing_backend_is_one_line_naming_it_and_the_extra(tmp_path, scheme):
    package, module = BACKENDS[scheme]
    url = CLOUD_URLS[scheme]
    done = scan(tmp_path, url, hide=module)
    assert done.returncode == 3 and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith(url)]
    assert errors == [f"{url}: reading {scheme}:// needs {package}: pip install 'aiaudit[lake]'"]


@pytest.mark.parametrize("scheme, module", [("gs", "gcsfs"), ("abfs", "adlfs"), ("az", "adlfs"), ("hf", "huggingface_hub"),
                                            ("s3", "s3fs")])
def test_the_installed_backend_for_the_scheme_is_the_one_asked_for(scheme, module):
    assert BACKENDS[scheme][1] == module
    import fsspec

    cls = fsspec.get_filesystem_class(scheme)  # what fsspec.url_to_fs will build for this URL
    assert cls.__module__.split(".")[0] == module


def test_an_hf_dataset_url_opens_the_hub_filesystem_at_the_repo_path():
    fs, path = open_filesystem(CLOUD_URLS["hf"])  # HfFileSystem makes no request until it lists
    assert type(fs).__name__ == "HfFileSystem" and path == "datasets/corp/chat-logs/data"


@pytest.mark.parametrize("url", ["s3://AKIAXXXXSECRETUSER:wJalrSECRETPASS@bucket/p",
                                 "gs://bucket/p?X-Goog-Signature=SECRETSIG", "az://c/p?sv=2024&sig=SECRETSIG",
                                 "abfs://c@acct.dfs.core.windows.net/p#SECRETFRAG",
                                 "hf://datasets/o/n?token=SECRETTOKEN"])
def test_credentials_in_a_url_are_refused_and_never_repeated(tmp_path, url):
    with pytest.raises(UserError) as raised:
        open_filesystem(url)
    assert "standard credential chain" in str(raised.value)
    assert "SECRET" not in str(raised.value)
    done = scan(tmp_path, url)
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert "SECRET" not in done.stderr + done.stdout
    assert len([line for line in done.stderr.splitlines() if "standard credential chain" in line]) == 1


def test_an_unknown_scheme_names_the_known_ones(tmp_path):
    done = scan(tmp_path, "ftp://host/data")
    assert done.returncode == 3
    assert "ftp://host/data: unsupported URL scheme ftp:// (expected one of" in done.stderr


def test_urls_are_recognised_and_local_paths_are_not():
    assert all(is_url(u) for u in CLOUD_URLS.values())
    assert not any(is_url(p) for p in ("data/train.jsonl", "/abs/x", "file:///x", "C:\\data", "s3:/x"))


def test_an_azure_container_name_is_kept_a_password_is_not():
    assert public_url("abfs://training@acct.dfs.core.windows.net/x?sig=1") == \
        "abfs://training@acct.dfs.core.windows.net/x"
    assert public_url("abfs://user:pw@acct.dfs.core.windows.net/x") == "abfs://acct.dfs.core.windows.net/x"
    assert public_url("s3://KEY@bucket/x") == "s3://bucket/x"


secret_text = st.text(st.characters(min_codepoint=48, max_codepoint=122, exclude_characters=":@/?#[]%\\"),
                      min_size=6, max_size=20)


@given(user=secret_text, password=secret_text, query=secret_text, fragment=secret_text,
       scheme=st.sampled_from(sorted(CLOUD_URLS)), path=st.lists(st.sampled_from(["a", "b-1", "c.jsonl", ""]), max_size=4))
def test_no_part_of_a_secret_survives_public_url_or_scrub(user, password, query, fragment, scheme, path):
    url = f"{scheme}://{user}:{password}@bucket/{'/'.join(path)}?k={query}#{fragment}"
    shown = public_url(url)
    public = f"{scheme}://bucket/{'/'.join(path)}"
    assert shown == public
    said = scrub(f"could not open {url}: denied for {user}", url)
    for secret in (password, query, fragment, user):
        if secret not in public + " could not open: denied for ***":  # by chance in the public words
            assert secret not in said
