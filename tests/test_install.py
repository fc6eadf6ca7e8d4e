"""install.sh: the staged system layout (--system --root), and its refusals."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from agent.config import load_config
from tests.support.client_side import clients_python

# install.sh generates the CA with mitmproxy and pins what it declares: part of each mitmproxy line
pytestmark = pytest.mark.mitmproxy

REPO = Path(__file__).resolve().parents[1]
INSTALL = REPO / "install.sh"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    root = tmp_path_factory.mktemp("root")
    result = subprocess.run([str(INSTALL), "--system", "--root", str(root)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return root, result


def test_system_layout_and_modes(staged):
    root, result = staged
    assert mode(root / "var/lib/aiaudit") == 0o750
    assert mode(root / "var/lib/aiaudit/mitmproxy") == 0o700
    assert mode(root / "etc/aiaudit/aiaudit.yaml") == 0o640
    for unit in ("aiaudit-proxy.service", "aiaudit-watch.service", "aiaudit-report.service",
                 "aiaudit-report.timer"):
        assert mode(root / "etc/systemd/system" / unit) == 0o644, unit
    assert (root / "opt/aiaudit/venv/bin/aiaudit").is_file()
    assert "mitmproxy-ca-cert.pem" in result.stdout and "private key" in result.stdout


def test_the_installed_product_carries_the_compiled_report_catalogues(staged):
    root, _ = staged
    python = root / "opt/aiaudit/venv/bin/python"
    probe = ("from dashboard.language import ReportLanguage, available_languages, LOCALES_DIR; "
             "print(LOCALES_DIR); print(available_languages()); print(ReportLanguage('ja').gettext('Findings'))")
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=120, cwd=root)
    assert result.returncode == 0, result.stderr
    where, languages, findings = result.stdout.splitlines()
    assert where.startswith(str(root / "opt/aiaudit/venv")), where  # the installed copy, not the checkout
    assert languages == "('en', 'ja')" and findings == "検出事項"


def test_installed_config_is_the_commented_example_and_loads(staged):
    root, _ = staged
    text = (root / "etc/aiaudit/aiaudit.yaml").read_text()
    assert text == (REPO / "agent/config/aiaudit.example.yaml").read_text()
    cfg = load_config(root / "etc/aiaudit/aiaudit.yaml")
    assert cfg.database_url == "sqlite:////var/lib/aiaudit/audit.db"
    assert str(cfg.confdir) == "/var/lib/aiaudit/mitmproxy"


def test_units_run_the_installed_commands_as_the_service_user(staged):
    root, _ = staged
    units = root / "etc/systemd/system"
    proxy = (units / "aiaudit-proxy.service").read_text()
    assert "ExecStart=/opt/aiaudit/venv/bin/aiaudit proxy" in proxy
    assert "User=aiaudit" in proxy and "Environment=AIAUDIT_CONFIG=/etc/aiaudit/aiaudit.yaml" in proxy
    assert "ReadWritePaths=/var/lib/aiaudit" in proxy and "NoNewPrivileges=yes" in proxy
    assert "ExecStart=/opt/aiaudit/venv/bin/aiaudit watch" in (units / "aiaudit-watch.service").read_text()
    report = (units / "aiaudit-report.service").read_text()
    assert "Type=oneshot" in report and "aiaudit report" in report
    timer = (units / "aiaudit-report.timer").read_text()
    assert "OnCalendar=Mon *-*-* 06:00:00" in timer and "WantedBy=timers.target" in timer


def test_ca_certificate_is_public_and_key_is_private(staged):
    root, _ = staged
    confdir = root / "var/lib/aiaudit/mitmproxy"
    cert = (confdir / "mitmproxy-ca-cert.pem").read_text()
    assert "BEGIN CERTIFICATE" in cert and "PRIVATE KEY" not in cert
    assert mode(confdir / "mitmproxy-ca-cert.pem") == 0o644
    assert "PRIVATE KEY" in (confdir / "mitmproxy-ca.pem").read_text()
    assert mode(confdir / "mitmproxy-ca.pem") == 0o600


def test_staged_aiaudit_runs(staged):
    root, _ = staged
    result = subprocess.run([str(root / "opt/aiaudit/venv/bin/aiaudit"), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "export" in result.stdout


def test_second_run_upgrades_in_place_and_keeps_the_site_config(staged):
    root, _ = staged
    config = root / "etc/aiaudit/aiaudit.yaml"
    config.write_text("privacy:\n  store_text: excerpt\n")
    ca = (root / "var/lib/aiaudit/mitmproxy/mitmproxy-ca.pem").read_bytes()
    result = subprocess.run([str(INSTALL), "--system", "--root", str(root)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert config.read_text() == "privacy:\n  store_text: excerpt\n"
    assert (root / "var/lib/aiaudit/mitmproxy/mitmproxy-ca.pem").read_bytes() == ca  # the CA is not replaced


def _fake_python(tmp_path: Path, body: str) -> Path:
    fake = tmp_path / "python-fake"
    fake.write_text("#!/bin/sh\n" + body)
    fake.chmod(0o755)
    return fake


def test_old_python_is_refused_in_one_line(tmp_path):
    fake = _fake_python(tmp_path, 'case "$*" in *platform*) echo 3.9.2;; *) exit 1;; esac\n')
    result = subprocess.run([str(INSTALL), "--python", str(fake)], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == f"install.sh: Python 3.11 or newer is required, {fake} is 3.9.2"


def test_missing_venv_module_is_refused_in_one_line(tmp_path):
    fake = _fake_python(tmp_path, f'case "$*" in *ensurepip*) exit 1;; *) exec {sys.executable} "$@";; esac\n')
    result = subprocess.run([str(INSTALL), "--python", str(fake)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "the Python venv module is missing" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_root_without_system_is_refused(tmp_path):
    result = subprocess.run([str(INSTALL), "--root", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.strip() == "install.sh: --root only applies to --system"


def test_unknown_option_is_refused():
    result = subprocess.run([str(INSTALL), "--frobnicate"], capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.strip() == "install.sh: unknown option --frobnicate (see ./install.sh --help)"


def test_venv_does_not_apply_to_system(tmp_path):
    result = subprocess.run([str(INSTALL), "--system", "--venv", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip() == "install.sh: --venv does not apply to --system (it installs into /opt/aiaudit/venv)"


# The venv running these tests is the product as `./install.sh --dev` made it.
PRODUCT = Path(sys.prefix)
PINS = PRODUCT / "production-pins.txt"
SDKS = ("openai", "anthropic", "google.genai", "boto3", "botocore", "cohere", "httpx2")


def _pins() -> dict[str, str]:
    if not PINS.exists():
        pytest.fail(f"{PINS} is missing: the tests must run from a venv made by ./install.sh --dev")
    return dict(line.split("==", 1) for line in PINS.read_text().split())


def test_the_product_runs_on_its_production_pins():
    from importlib import metadata

    pins = _pins()
    assert {"mitmproxy", "h11", "h2", "sqlalchemy", "pandas"} <= set(pins)
    # test tools are not production (httpx is, since the lake extra: huggingface_hub needs it)
    assert not {"pytest", "hypothesis", "jsonschema", "datasketch"} & set(pins)
    moved = {name: (pinned, metadata.version(name)) for name, pinned in pins.items()
             if metadata.version(name) != pinned}
    assert moved == {}
    check = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr  # e.g. mitmproxy's h11 range holds


def test_the_lake_extra_is_part_of_the_production_pins():
    """--dev installs aiaudit[lake], and its backends are pinned like every production package:
    the tests run the object-store code users get from `pip install 'aiaudit[lake]'`."""
    pins = _pins()
    assert {"fsspec", "s3fs", "gcsfs", "adlfs", "huggingface-hub", "deltalake"} <= set(pins)
    assert not {"moto", "datasets", "boto3"} & set(pins)  # the lake tests' tools live in the clients' venv


def test_pins_are_what_install_sh_computes_from_the_installed_product():
    script = INSTALL.read_text()
    function = script[script.index("production_pins() {"):script.index("\n}\n", script.index("production_pins() {")) + 3]
    result = subprocess.run(["bash", "-c", f"{function}\nproduction_pins {PRODUCT} lake cluster"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert dict(line.split("==", 1) for line in result.stdout.split()) == _pins()


def test_the_vendor_sdks_live_only_in_the_clients_venv():
    import importlib.util

    # botocore is a production package since the lake extra (s3fs -> aiobotocore); boto3 and the
    # rest are not, and must not leak into the product venv
    production = set(_pins())
    # the module itself, not its top package: `google` is a namespace the lake extra's gcsfs
    # (google-auth, google-cloud-storage) brings, google.genai must still be absent
    assert [name for name in SDKS if importlib.util.find_spec(name) is not None and name not in production] == []
    clients = clients_python()
    probe = "import sys, openai, anthropic, google.genai, boto3, cohere, httpx; print(sys.prefix)"
    result = subprocess.run([str(clients), "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) != PRODUCT


TEST_ONLY = {"tests", "tools", "bench", "pytest", "hypothesis", "httpx", "datasketch", "jsonschema", "openai",
             "anthropic", "cohere", "boto3", "botocore", "huggingface_hub", "google"}


def _site_packages(root: Path) -> Path:
    found = list((root / "opt/aiaudit/venv/lib").glob("python3*/site-packages"))
    assert len(found) == 1, found
    return found[0]


def test_the_installed_product_ships_no_test_code_and_its_data_files(staged):
    """install.sh installs the built wheel (not the checkout): what it holds is what users get."""
    root, _ = staged
    site = _site_packages(root)
    assert not (site / "tests").exists() and not (site / "tools").exists()
    assert not (site / "agent" / "standin").exists()
    for gone in ("browser.py", "sample.py", "screenshots.py"):
        assert not (site / "dashboard" / gone).exists(), gone
    for data in ("agent/proxy/hosts.yaml", "rules/terms.yaml", "agent/config/aiaudit.example.yaml",
                 "agent/store/migrations/env.py", "agent/store/migrations/script.py.mako",
                 "agent/store/migrations/versions/0007_alerts.py", "dashboard/templates/_evidence.html",
                 "dashboard/schema/report.schema.json", "agent/demo/route.py", "agent/proxy/script.py"):
        assert (site / data).is_file(), data


def test_no_installed_module_imports_test_code_or_a_test_only_dependency(staged):
    import ast

    root, _ = staged
    site = _site_packages(root)
    bad = []
    modules = [p for top in ("agent", "rules", "dashboard") for p in (site / top).rglob("*.py")]
    assert len(modules) > 150
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                     else [])
            bad += [f"{path.relative_to(site)}: {n}" for n in names if n.split(".")[0] in TEST_ONLY]
    assert bad == []
