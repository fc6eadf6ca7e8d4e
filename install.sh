#!/usr/bin/env bash
# Install aiaudit.
#
#   ./install.sh                 .venv in this checkout, the package installed (again: upgraded)
#   ./install.sh --lake          the same with the object-store and table-format readers
#                                (the aiaudit[lake] extra: s3fs, gcsfs, adlfs, huggingface_hub, deltalake)
#   ./install.sh --cluster       the same with Dask distributed, for `aiaudit scan --cluster/--workers`
#                                (the aiaudit[cluster] extra; combines with --lake)
#   ./install.sh --dev           the same as --lake --cluster plus the test tools, pinned to what the product
#                                resolved, and the vendors' SDKs (and the S3 server and `datasets`
#                                the lake tests use) in a venv of their own (.venv-clients)
#   ./install.sh --python PATH   use that interpreter (default: python3), e.g. python3.12
#   ./install.sh --venv DIR      the product venv in DIR (the SDKs then go to DIR-clients), so
#                                two lines (3.11 with mitmproxy 11, 3.12 with 12) can coexist
#   ./install.sh --clients DIR   with --dev: the SDK clients' venv in DIR (default VENV-clients); a
#                                second line can share the first's (clients run in any Python)
#   sudo ./install.sh --system   /opt/aiaudit, the aiaudit user, /etc/aiaudit, /var/lib/aiaudit,
#                                systemd units for the proxy, the watcher and the weekly report
#   ./install.sh --system --root DIR   stage the system layout under DIR (no users, no systemctl)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
MODE=local
DEV=0
LAKE=0
CLUSTER=0
ROOT=""
VENV=""
CLIENTS=""
SERVICE_USER=aiaudit

die() { echo "install.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --dev) DEV=1; LAKE=1; CLUSTER=1 ;;
        --lake) LAKE=1 ;;
        --cluster) CLUSTER=1 ;;
        --system) MODE=system ;;
        --root) [ $# -ge 2 ] || die "--root needs a directory"; ROOT="$(realpath -m "$2")"; shift ;;
        --root=*) ROOT="$(realpath -m "${1#--root=}")" ;;
        --python) [ $# -ge 2 ] || die "--python needs an interpreter"; PYTHON="$2"; shift ;;
        --python=*) PYTHON="${1#--python=}" ;;
        --venv) [ $# -ge 2 ] || die "--venv needs a directory"; VENV="$(realpath -m "$2")"; shift ;;
        --venv=*) VENV="$(realpath -m "${1#--venv=}")" ;;
        --clients) [ $# -ge 2 ] || die "--clients needs a directory"; CLIENTS="$(realpath -m "$2")"; shift ;;
        --clients=*) CLIENTS="$(realpath -m "${1#--clients=}")" ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option $1 (see ./install.sh --help)" ;;
    esac
    shift
done
[ -z "$ROOT" ] || [ "$MODE" = system ] || die "--root only applies to --system"
# the extras asked for: names for production_pins, "[a,b]" for pip
EXTRA_NAMES=""
if [ "$LAKE" = 1 ]; then EXTRA_NAMES="lake"; fi
if [ "$CLUSTER" = 1 ]; then EXTRA_NAMES="${EXTRA_NAMES:+$EXTRA_NAMES }cluster"; fi
EXTRAS=""
if [ -n "$EXTRA_NAMES" ]; then EXTRAS="[${EXTRA_NAMES// /,}]"; fi
[ -z "$VENV" ] || [ "$MODE" = local ] || die "--venv does not apply to --system (it installs into /opt/aiaudit/venv)"
[ -z "$CLIENTS" ] || [ "$DEV" = 1 ] || die "--clients only applies to --dev (the SDK clients are test tools)"

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found: install Python 3.11 or newer"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || die "Python 3.11 or newer is required, $PYTHON is $("$PYTHON" -c 'import platform; print(platform.python_version())')"
"$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1 \
    || die "the Python venv module is missing: on Debian/Ubuntu run: apt-get install python3-venv"

make_venv() {  # make_venv DIR: create or reuse, then make sure pip is current enough for PEP 660
    local dir="$1"
    if [ ! -x "$dir/bin/python" ]; then
        "$PYTHON" -m venv "$dir" || die "could not create a virtual environment in $dir"
    fi
    "$dir/bin/python" -m pip install --quiet --upgrade "pip>=23.1" || die "could not upgrade pip in $dir"
}

# The installed distributions that aiaudit's requirements reach, extras and markers applied, as
# name==version lines: what a plain ./install.sh resolved (with --lake/--dev: aiaudit[lake], since
# users who read object stores install that extra and the tests must run what they get). pip's vendored packaging is used because
# packaging itself is not a dependency of the product.
production_pins() {  # production_pins VENV [EXTRA...]
    "$1/bin/python" - "${@:2}" <<'PY'
import sys
from importlib import metadata
from pip._vendor.packaging.requirements import Requirement
from pip._vendor.packaging.utils import canonicalize_name

seen, todo = {}, [("aiaudit", frozenset(filter(None, sys.argv[1:])))]
while todo:
    name, extras = todo.pop()
    key = canonicalize_name(name)
    if key in seen and extras <= seen[key]:
        continue
    seen[key] = seen.get(key, frozenset()) | extras
    for line in metadata.distribution(name).requires or []:
        req = Requirement(line)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in {"", *extras}):
            todo.append((req.name, frozenset(req.extras)))
del seen["aiaudit"]
for key in sorted(seen):
    print(f"{key}=={metadata.version(key)}")
PY
}

install_local() {
    local venv="${VENV:-$HERE/.venv}"
    local clients="${CLIENTS:-$venv-clients}"
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import openai' >/dev/null 2>&1; then
        # an earlier --dev put the SDKs (and their newer h11) into the product venv
        echo "$venv holds the vendor SDKs of an older --dev install: making it anew without them"
        rm -rf "$venv"
    fi
    make_venv "$venv"
    echo "installing aiaudit into $venv ..."
    "$venv/bin/python" -m pip install --quiet --upgrade -e "$HERE$EXTRAS" || die "pip could not install aiaudit$EXTRAS"
    if [ "$DEV" = 1 ]; then
        # The tests must run the product exactly as a plain install resolves it: the test tools
        # are installed under constraints frozen from that install, and may not move any of them.
        local pins="$venv/production-pins.txt"
        production_pins "$venv" $EXTRA_NAMES > "$pins" || die "could not list the production dependencies of $venv"
        echo "installing test tools into $venv (pinned to the $(wc -l < "$pins") production packages in $pins) ..."
        "$venv/bin/python" -m pip install --quiet --upgrade -e "$HERE[dev]" -c "$pins" \
            || die "the test tools cannot be installed without changing a production pin (pip's reason above; pins in $pins)"
        production_pins "$venv" $EXTRA_NAMES | cmp -s - "$pins" \
            || die "installing the test tools changed the production dependencies of $venv (compare with $pins)"
        # The vendors' SDKs want other versions of shared packages (h11 0.16 where mitmproxy
        # 11.0.2 wants at most 0.14): they get a venv of their own, which the tests drive.
        make_venv "$clients"
        echo "installing the vendors' SDKs into $clients ..."
        "$clients/bin/python" -m pip install --quiet --upgrade -r "$HERE/tests/requirements-sdks.txt" \
            || die "pip could not install the vendor SDKs into $clients"
        "$clients/bin/python" -c 'import openai, anthropic, google.genai, boto3, cohere, httpx, moto.server, datasets' \
            || die "the vendor SDKs for the tests did not install into $clients"
        # Azurite, Azure Storage's emulator, for the az:// tests (tests/support/azurite_server.py):
        # from the npm registry, pinned; without npm those tests skip (CI fails them)
        if command -v npm >/dev/null 2>&1; then
            echo "installing Azurite (Azure Storage emulator) into $clients/azurite ..."
            npm install --silent --no-audit --no-fund --prefix "$clients/azurite" azurite@3.37.0 >/dev/null \
                || die "npm could not install azurite into $clients/azurite"
        else
            echo "npm not found: the az:// tests against Azurite will be skipped"
        fi
        # where the tests find the clients (tests/support/client_side.py), when not beside the venv
        if [ "$clients" = "$venv-clients" ]; then rm -f "$venv/aiaudit-clients"; else echo "$clients" > "$venv/aiaudit-clients"; fi
    fi
    "$venv/bin/python" -m pip check >/dev/null \
        || { "$venv/bin/python" -m pip check >&2; die "$venv does not hold the versions its packages declare (pip check above)"; }
    "$venv/bin/aiaudit" --help >/dev/null || die "aiaudit does not start from $venv"
    local shown="${venv#"$PWD"/}"
    echo
    echo "aiaudit is installed in $venv"
    echo "  try it:          $shown/bin/aiaudit demo"
    [ "$DEV" = 1 ] && echo "  run the tests:   $shown/bin/pytest   (SDK clients run from ${clients#"$PWD"/})"
    echo "  on a proxy host: sudo ./install.sh --system"
}

write_unit() {  # write_unit NAME: stdin becomes $ROOT/etc/systemd/system/NAME
    install -d -m 0755 "$ROOT/etc/systemd/system"
    cat > "$ROOT/etc/systemd/system/$1"
    chmod 0644 "$ROOT/etc/systemd/system/$1"
}

install_system() {
    local staged=0
    [ -n "$ROOT" ] && staged=1
    if [ "$staged" = 0 ] && [ "$(id -u)" != 0 ]; then
        die "--system needs root (sudo ./install.sh --system), or --root DIR to stage the files"
    fi
    local opt="$ROOT/opt/aiaudit" etc="$ROOT/etc/aiaudit" var="$ROOT/var/lib/aiaudit"
    local confdir="$var/mitmproxy"

    if [ "$staged" = 0 ] && ! id "$SERVICE_USER" >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/aiaudit --no-create-home --shell /usr/sbin/nologin "$SERVICE_USER" \
            || die "could not create the $SERVICE_USER user"
    fi
    local owner=""
    id "$SERVICE_USER" >/dev/null 2>&1 && owner="$SERVICE_USER"

    install -d -m 0755 "$opt"
    make_venv "$opt/venv"
    echo "installing aiaudit into $opt/venv ..."
    # setuptools builds the wheel through build/ in the checkout and never deletes what earlier
    # builds left there: modules moved or removed since would ship again (build/ is its scratch)
    rm -rf "$HERE/build"
    "$opt/venv/bin/python" -m pip install --quiet --upgrade "$HERE$EXTRAS" || die "pip could not install aiaudit$EXTRAS"

    install -d -m 0755 "$etc"
    install -d -m 0755 "$etc/rules.d"
    if [ ! -e "$etc/aiaudit.yaml" ]; then  # never overwrite a configured site
        install -m 0640 "$HERE/agent/config/aiaudit.example.yaml" "$etc/aiaudit.yaml"
        [ -n "$owner" ] && [ "$staged" = 0 ] && chgrp "$SERVICE_USER" "$etc/aiaudit.yaml"
    fi
    install -d -m 0750 "$var" "$var/reports" "$var/journal"
    install -d -m 0700 "$confdir"
    if [ ! -e "$confdir/mitmproxy-ca-cert.pem" ]; then  # the interception CA, made here so it can be distributed now
        "$opt/venv/bin/python" - "$confdir" <<'PY' || die "could not create the proxy CA in $confdir"
import os, sys
from mitmproxy.certs import CertStore
old = os.umask(0o077)
CertStore.from_store(sys.argv[1], "mitmproxy", 2048)
os.umask(old)
PY
        # the certificate is public (it is what clients trust); the key files stay 0600
        chmod 0644 "$confdir/mitmproxy-ca-cert.pem" "$confdir/mitmproxy-ca-cert.cer" "$confdir/mitmproxy-ca-cert.p12"
    fi
    if [ -n "$owner" ] && [ "$staged" = 0 ]; then
        chown -R "$SERVICE_USER:$SERVICE_USER" "$var"
    fi

    local bin=/opt/aiaudit/venv/bin/aiaudit
    local common="User=$SERVICE_USER
Group=$SERVICE_USER
Environment=AIAUDIT_CONFIG=/etc/aiaudit/aiaudit.yaml
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=/var/lib/aiaudit
PrivateTmp=yes
PrivateDevices=yes"
    write_unit aiaudit-proxy.service <<EOF
[Unit]
Description=aiaudit capture proxy (mitmdump with the aiaudit addon)
Documentation=file:///opt/aiaudit/README.md
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
$common
ProtectHome=yes
ExecStart=$bin proxy
Restart=on-failure
RestartSec=2
# mitmdump flushes captured calls on SIGTERM; give it time
TimeoutStopSec=30
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
EOF
    write_unit aiaudit-watch.service <<EOF
[Unit]
Description=aiaudit dataset watcher (finds captured AI outputs in dataset files)
After=network-online.target

[Service]
Type=simple
$common
# datasets may live under /home; the watcher only reads them
ProtectHome=read-only
ExecStart=$bin watch
Restart=on-failure
RestartSec=5
TimeoutStopSec=30

[Install]
WantedBy=multi-user.target
EOF
    write_unit aiaudit-report.service <<EOF
[Unit]
Description=aiaudit weekly report
After=network-online.target

[Service]
Type=oneshot
$common
ProtectHome=yes
ExecStart=$bin report --out /var/lib/aiaudit/reports
ExecStart=$bin prune
EOF
    write_unit aiaudit-report.timer <<EOF
[Unit]
Description=aiaudit weekly report, Monday morning

[Timer]
OnCalendar=Mon *-*-* 06:00:00
Persistent=true
RandomizedDelaySec=15min

[Install]
WantedBy=timers.target
EOF
    cp "$HERE/README.md" "$opt/README.md"

    if [ "$staged" = 0 ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        systemctl daemon-reload
    fi
    echo
    echo "aiaudit is installed in /opt/aiaudit${ROOT:+ (staged under $ROOT)}"
    echo "  1. edit /etc/aiaudit/aiaudit.yaml: teams, dataset directories, database_url"
    echo "  2. distribute the proxy's CA certificate (the public part only) to employees' trust stores:"
    echo "       /var/lib/aiaudit/mitmproxy/mitmproxy-ca-cert.pem"
    echo "     never copy mitmproxy-ca.pem or mitmproxy-ca.p12: they hold the private key"
    echo "  3. systemctl enable --now aiaudit-proxy aiaudit-watch aiaudit-report.timer"
    echo "  4. point clients at the proxy (HTTPS_PROXY=http://THIS-HOST:8080)"
}

if [ "$MODE" = system ]; then
    install_system
else
    install_local
fi
