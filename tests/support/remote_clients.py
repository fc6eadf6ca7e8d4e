"""SDK clients that live in the SDK clients' venv, used from a test as if they were local.

For straightforward calls, where a `@client_side` function would only repeat the call:

    from tests.support.remote_clients import clients

    client = clients.openai_client(proxy.url, proxy.ca_path)          # made in .venv-clients
    reply = client.chat.completions.create(model="gpt-4o", messages=[...])   # runs there
    assert reply.choices[0].message.content == expected_text(prompt)

A method call runs in the worker and returns what the client received as plain data: SDK models
become `Record`s (dicts that also allow attribute access), a stream becomes the list of its
events. Objects that are neither (a boto3 StreamingBody, a context manager such as
`messages.stream(...)`) cannot come back: write that part as a `@client_side` function.
`httpx_client`, `FAKE_KEYS` and `OPENAI_COMPATIBLE_BASE_URLS` are the local ones.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tests.support import sdk_clients
from tests.support.client_side import client_side
from tests.support.raw_http import httpx_client


class Record(dict):
    """A dict from the client side whose keys can also be read as attributes."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _records(value: Any) -> Any:
    if isinstance(value, dict):
        return Record({k: _records(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_records(v) for v in value]
    return value


@client_side
def _make(factory, args, kwargs):
    handles = vars(clients).setdefault("_remote_handles", {})
    client = getattr(clients, factory)(*args, **kwargs)
    handles[id(client)] = client
    return id(client)


@client_side
def _invoke(handle, path, args, kwargs):
    handles = vars(clients).get("_remote_handles", {})
    if handle not in handles:
        raise LookupError("this client was made in a client worker that has since restarted")
    target = handles[handle]
    for name in path:
        target = getattr(target, name)
    result = target(*args, **kwargs)
    is_data = isinstance(result, (dict, list, tuple, str, bytes)) or hasattr(result, "model_dump")
    return result if is_data or not hasattr(result, "__iter__") else list(result)  # a stream


class RemoteObject:
    """An attribute path on a client in the worker; calling it runs the call there."""

    def __init__(self, handle: int, path: tuple[str, ...] = ()) -> None:
        self._handle, self._path = handle, path

    def __getattr__(self, name: str) -> RemoteObject:
        if name.startswith("__"):
            raise AttributeError(name)
        return RemoteObject(self._handle, (*self._path, name))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _records(_invoke(self._handle, list(self._path), list(args), kwargs))

    def __repr__(self) -> str:
        return f"<client-side {'.'.join(self._path) or 'client'}>"


def _factory(name: str):
    def make(*args: Any, **kwargs: Any) -> RemoteObject:
        return RemoteObject(_make(name, list(args), kwargs))

    make.__name__ = name
    make.__doc__ = getattr(sdk_clients, name).__doc__
    return make


clients = SimpleNamespace(
    httpx_client=httpx_client,
    FAKE_KEYS=sdk_clients.FAKE_KEYS,
    OPENAI_COMPATIBLE_BASE_URLS=sdk_clients.OPENAI_COMPATIBLE_BASE_URLS,
    **{name: _factory(name) for name in ("openai_client", "azure_openai_client", "anthropic_client",
                                          "genai_client", "bedrock_client", "cohere_client")},
)
