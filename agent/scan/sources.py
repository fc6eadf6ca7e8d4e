"""Dataset sources named by fsspec URLs (`s3://`, `gs://`, `abfs://`/`az://`, `hf://datasets/...`).

Credentials come from each cloud's own chain (environment, profiles, instance roles): nothing here
takes, stores or prints a secret. A URL is only ever shown or stored through `public_url`, which
drops userinfo, query and fragment (where SAS tokens and signed parameters live). Listing an
object store gives each object's identity (ETag or version, size, modified time); that identity
stands in for a local file's inode, size and mtime in the scan state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from agent.config.urls import is_url  # noqa: F401 (re-exported: the scanner's name for it)
from agent.errors import UserError

# scheme -> (the fsspec backend package it needs, its import name)
BACKENDS = {
    "s3": ("s3fs", "s3fs"), "s3a": ("s3fs", "s3fs"),
    "gs": ("gcsfs", "gcsfs"), "gcs": ("gcsfs", "gcsfs"),
    "abfs": ("adlfs", "adlfs"), "abfss": ("adlfs", "adlfs"), "az": ("adlfs", "adlfs"),
    "hf": ("huggingface_hub", "huggingface_hub"),
    "memory": ("fsspec", "fsspec"),  # fsspec's own in-memory filesystem (tests, pipelines)
}
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
EXTRA = "lake"


# Azure's `abfs://CONTAINER@ACCOUNT.dfs.core.windows.net/path`: the user part names the container
_CONTAINER_AT_ACCOUNT = frozenset({"abfs", "abfss", "az"})


def public_url(url: str) -> str:
    """`url` fit to show and store: no password, query or fragment, and no user part except an
    Azure container's name (`user:password@` in an s3:// URL is a key pair)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    if parts.username and parts.password is None and parts.scheme.lower() in _CONTAINER_AT_ACCOUNT:
        host = f"{parts.username}@{host}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def scrub(text: str, url: str) -> str:
    """`text` (an error message, say) with every secret part of `url` taken out."""
    parts = urlsplit(url)
    text = text.replace(url, public_url(url))
    shown_user = parts.username if parts.password is None and parts.scheme.lower() in _CONTAINER_AT_ACCOUNT else None
    for secret in (parts.password, parts.username if parts.username != shown_user else None, parts.query,
                   parts.fragment):
        if secret:
            text = text.replace(secret, "***")
    return text


@dataclass(frozen=True)
class RemoteObject:
    """One listed object: its public URL, the path its filesystem knows it by, and its identity."""

    url: str
    key: str
    size: int
    etag: str
    mtime_ns: int
    tag: str = ""  # content_tag: what a reader of the object later checks it still is



def open_filesystem(url: str) -> tuple[Any, str]:
    """(fsspec filesystem, path within it) for `url`; UserError naming the extra when the backend
    for the scheme is not installed, or naming the scheme when none is known."""
    scheme = _URL.match(url).group(1).lower()  # type: ignore[union-attr]
    if scheme not in BACKENDS:
        raise UserError(f"{public_url(url)}: unsupported URL scheme {scheme}:// "
                        f"(expected one of {', '.join(s + '://' for s in sorted(BACKENDS))})")
    parts = urlsplit(url)
    if parts.password is not None or parts.query or parts.fragment or (
            parts.username and scheme not in _CONTAINER_AT_ACCOUNT):
        raise UserError(f"{public_url(url)}: credentials, signatures and query strings are not taken from URLs "
                        f"(left out here); {scheme}:// reads its cloud's standard credential chain "
                        f"(environment, profiles, instance roles)")
    package, module = BACKENDS[scheme]
    try:
        __import__(module)
        import fsspec.core
    except ImportError:
        raise UserError(f"{public_url(url)}: reading {scheme}:// needs {package}: "
                        f"pip install 'aiaudit[{EXTRA}]'") from None
    try:
        # A filesystem of its own, not fsspec's cached instance: that one keeps the endpoint and
        # credentials of whenever it was first made (a watcher runs for months; a Dask worker
        # serves many scans), and the standard chain must be read as it is now.
        fs, path = fsspec.core.url_to_fs(url, skip_instance_cache=True)
    except ImportError as e:  # a backend's own dependency is missing
        raise UserError(f"{public_url(url)}: reading {scheme}:// needs {package} and its dependencies "
                        f"({e.name or e}): pip install 'aiaudit[{EXTRA}]'") from None
    except Exception as e:  # the backend refused the URL or found no account/credentials to use
        reason = scrub(" ".join(str(e).split())[:300], url)
        raise UserError(f"{public_url(url)}: {package} cannot open it ({type(e).__name__}: {reason})") from None
    return fs, path


def object_url(fs: Any, key: str) -> str:
    return public_url(fs.unstrip_protocol(key))


def _etag(info: dict) -> str:
    for name in ("VersionId", "version_id", "ETag", "etag", "md5Hash", "content_md5", "blob_id", "oid"):
        value = info.get(name)
        if value:
            return str(value).strip('"')
    return ""


def content_tag(info: dict) -> str:
    """What says which content an object holds, as both a listing and a HEAD of it give it: its
    ETag (or the backend's content hash), else its version. Not the version first, as `_etag`
    has it: S3 lists no VersionId, but a HEAD on a versioned bucket gives one."""
    for name in ("ETag", "etag", "md5Hash", "content_md5", "blob_id", "oid", "VersionId", "version_id"):
        value = info.get(name)
        if value:
            return str(value).strip('"')
    return ""


def _mtime_ns(info: dict) -> int:
    for name in ("LastModified", "last_modified", "mtime", "updated", "created"):
        value = info.get(name)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return int(value.timestamp() * 1e9)
        if isinstance(value, (int, float)):
            return int(value * 1e9)
        try:
            import datetime as dt

            return int(dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp() * 1e9)
        except ValueError:
            continue
    return 0


def describe(fs: Any, key: str, info: dict) -> RemoteObject:
    return RemoteObject(object_url(fs, key), key, int(info.get("size") or 0), _etag(info), _mtime_ns(info),
                        content_tag(info))


def list_objects(fs: Any, root: str) -> list[RemoteObject]:
    """Every object under `root` (or `root` itself when it is one), sorted by key. Errors (no such
    bucket, access denied, network) propagate: the caller reports them and tries again later.
    The filesystem's listing cache is dropped first: a rescan must see the store as it is now (a
    stale cached directory made objects listed since look missing when opened)."""
    fs.invalidate_cache()
    found = fs.find(root, detail=True, withdirs=False)
    if not found and fs.isfile(root):
        found = {root: fs.info(root)}
    return [describe(fs, key, info) for key, info in sorted(found.items()) if info.get("type", "file") == "file"]


__all__ = ["BACKENDS", "EXTRA", "RemoteObject", "content_tag", "describe", "is_url", "list_objects", "object_url",
           "open_filesystem", "public_url"]
