"""Each product module has its test file where the tree says it is (after mitmproxy's
test/filename_matching.py): agent/x/y.py -> tests/x/test_y.py, rules/*/y.py -> tests/rules/test_y.py,
dashboard/y.py -> tests/dashboard/test_y.py (test_y_*.py also counts).

Modules tested through another file say which (TESTED_BY). Modules without a test file of their
own when the tree was restructured are listed in UNTESTED: that list may only shrink, and a new
module is never added to it."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TESTED_BY = {
    "agent/commands/": "tests/test_cli.py",  # commands are tested as users run them (tests/test_cli*.py)
    "agent/config/": "tests/test_config.py",
    "agent/alerts/sinks/": "tests/alerts/test_sinks.py",
    "rules/evidence/": "tests/rules/test_evidence_bundle.py",
    "agent/scan/observer.py": "tests/scan/test_watcher.py",
    "agent/scan/readers/": "tests/scan/test_readers.py",  # every format through read_records
    "agent/proxy/script.py": "tests/e2e/test_proxy_command.py",
    "agent/demo/route.py": "tests/demo/test_proxy.py",
    "agent/demo/tls.py": "tests/demo/test_vendor.py",
    "agent/demo/http.py": "tests/demo/test_proxy.py",
    "agent/demo/runner.py": "tests/test_demo.py",
    "agent/demo/scenario.py": "tests/test_demo.py",
    "agent/store/models.py": "tests/store/test_store.py",
    "agent/alerts/dispatcher.py": "tests/alerts/test_outbox.py",  # real sinks: outages, restarts, a hanging sink
    "agent/writer/fleet.py": "tests/test_status.py",  # `aiaudit status` over the fleet's heartbeats
    "agent/store/engine.py": "tests/store/test_store.py",
    "agent/store/migrate.py": "tests/store/test_store.py",
    "agent/writer/parsers/common.py": "tests/writer/test_parse_call.py",
    "agent/writer/parsed.py": "tests/writer/test_output_policy.py",  # ParsedCall.add_output, the one output policy
    "agent/writer/parsers/metadata.py": "tests/writer/test_parse_call.py",
    "agent/writer/parsers/responses.py": "tests/writer/parsers/test_openai.py",
    "agent/writer/parsers/bedrock_native.py": "tests/writer/test_bedrock_families.py",
    "dashboard/model.py": "tests/dashboard/test_build.py",
    # data-lake formats and the sketch (#14)
    "agent/scan/formats/rows.py": "tests/scan/formats/test_arrow.py",  # Arrow rows as records
    "agent/scan/incremental.py": "tests/scan/test_sketch.py",  # checked through the sketch it reads
}

# Modules with no test file of their own yet: none. A new module comes with its test file.
UNTESTED: set[str] = set()


def modules() -> list[str]:
    found = []
    for top in ("agent", "rules", "dashboard"):
        for path in sorted((REPO / top).rglob("*.py")):
            rel = path.relative_to(REPO)
            if path.name in ("__init__.py", "__main__.py") or "migrations" in rel.parts:
                continue
            found.append(rel.as_posix())
    return found


def own_test_dir(module: str) -> Path:
    parts = Path(module).parts
    if parts[0] == "agent":
        return REPO / "tests" / Path(*parts[1:-1]) if len(parts) > 2 else REPO / "tests"
    return REPO / "tests" / parts[0]


def has_own_test(module: str) -> bool:
    stem, folder = Path(module).stem, own_test_dir(module)
    return (folder / f"test_{stem}.py").is_file() or any(folder.glob(f"test_{stem}_*.py"))


def covering_test(module: str) -> str | None:
    for prefix, test in TESTED_BY.items():
        if module == prefix or (prefix.endswith("/") and module.startswith(prefix)):
            return test
    return None


def test_every_module_has_its_test_file():
    missing = [m for m in modules() if not has_own_test(m) and not covering_test(m) and m not in UNTESTED]
    assert missing == [], "add tests/.../test_<module>.py for: " + ", ".join(missing)


def test_the_files_named_as_testing_a_module_exist():
    assert [t for t in set(TESTED_BY.values()) if not (REPO / t).is_file()] == []


def test_the_untested_list_only_shrinks():
    """An entry that now has its test file, or names a module that is gone, is to be removed."""
    present = set(modules())
    stale = sorted(m for m in UNTESTED if m not in present or has_own_test(m))
    assert stale == []
