"""The client runner: runs in the SDK clients' venv (`.venv-clients`), never in the product's.

It reads one request per line on stdin, `{"source", "name", "args", "kwargs"}`, runs the function
`name` defined by `source` (a test's `@client_side` function, with the SDK factories in scope as
`clients`) and answers one line on stdout: `{"result": ...}`, or `{"error": {...}}` with the
exception's type, its base classes and its message, so the test can assert on what the client
saw. Anything the SDKs print goes to stderr, so it cannot break the protocol.

Only the standard library, the SDKs and tests/support are imported here: not the product.
"""

from __future__ import annotations

import base64
import datetime
import json
import linecache
import sys
import traceback
from pathlib import Path
from typing import Any

# run as a script, its own folder would come first on sys.path; the repository root is wanted
sys.path[0] = str(Path(__file__).resolve().parents[2])

from tests.support import sdk_clients  # noqa: E402


def plain(value: Any) -> Any:
    """What the client received, as JSON data: SDK models become dicts (their extra fields too),
    bytes travel as {"__bytes__": base64}."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if hasattr(value, "model_dump"):  # pydantic models: openai, anthropic, google-genai, cohere
        return plain(value.model_dump(mode="json"))
    raise TypeError(f"a client function returned a {type(value).__qualname__}: return plain data "
                    "(str, numbers, lists, dicts, SDK models, bytes)")


def unwire(value: Any) -> Any:
    """The arguments as the test passed them: {"__bytes__": base64} back to bytes."""
    if isinstance(value, dict):
        if set(value) == {"__bytes__"}:
            return base64.b64decode(value["__bytes__"])
        return {k: unwire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwire(v) for v in value]
    return value


def _names(cls: type) -> list[str]:
    return [f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__ if c is not object]


def _run(request: dict[str, Any], cache: dict[str, Any]) -> Any:
    source = request["source"]
    function = cache.get(source)
    if function is None:
        scope: dict[str, Any] = {"__name__": "client_side", "clients": sdk_clients, "json": json,
                                 "plain": plain}
        filename = request.get("filename", "<client_side>")
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # for tracebacks
        exec(compile(source, filename, "exec"), scope)
        function = cache[source] = scope[request["name"]]
    return plain(function(*unwire(request.get("args", [])), **unwire(request.get("kwargs", {}))))


def main() -> int:
    answers = sys.stdout
    sys.stdout = sys.stderr  # stray prints from the SDKs must not reach the protocol
    cache: dict[str, Any] = {}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer: dict[str, Any] = {"result": _run(request, cache)}
        except BaseException as error:  # noqa: BLE001 - every failure is the test's to judge
            answer = {"error": {"type": _names(type(error))[0], "bases": _names(type(error)),
                                "message": str(error), "traceback": traceback.format_exc()}}
            if isinstance(error, KeyboardInterrupt):
                raise
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
