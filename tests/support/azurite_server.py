"""Azurite, Azure Storage's own emulator, for the `az://` / `abfs://` tests: its blob service, a
node subprocess on 127.0.0.1, reached over HTTP by adlfs (the product's Azure backend), the way
moto_server stands in for S3 (s3_server.py). `./install.sh --dev` installs it from the npm
registry into the SDK clients' venv (CLIENTS-VENV/azurite). Credentials reach aiaudit only through the chain adlfs
reads (AZURE_STORAGE_CONNECTION_STRING, from `env()`); the key is Azurite's published
development key, which every Azurite accepts.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.client_side import clients_python
from tests.support.local_server import free_port
from tests.support.local_server import start_listening
from tests.support.local_server import stop_process

ACCOUNT = "devstoreaccount1"
# Azurite's fixed development account key (documented with the emulator; not a secret)
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_blob() -> Path:
    return clients_python().parent.parent / "azurite" / "node_modules" / ".bin" / "azurite-blob"


class AzuriteServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/{ACCOUNT}"
        self.proc: subprocess.Popen | None = None
        self.data: str | None = None

    def start(self, timeout: float = 60) -> AzuriteServer:
        exe = azurite_blob()
        if not exe.exists():
            raise RuntimeError(f"{exe} is missing: ./install.sh --dev installs Azurite (needs npm)")
        self.data = tempfile.mkdtemp(prefix="aiaudit-azurite-")
        self.proc = start_listening([str(exe), "--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--location",
                                     self.data, "--silent", "--skipApiVersionCheck", "--loose"],
                                    self.port, "azurite-blob", timeout)
        return self

    def stop(self) -> None:
        stop_process(self.proc)
        if self.data is not None:
            shutil.rmtree(self.data, ignore_errors=True)

    def connection_string(self) -> str:
        return f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};BlobEndpoint={self.url};"

    def env(self) -> dict[str, str]:
        """What a user's environment would hold for adlfs's credential chain."""
        return {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string()}

    def fs(self):
        import adlfs

        return adlfs.AzureBlobFileSystem(connection_string=self.connection_string())

    def upload_tree(self, container: str, prefix: str, root: Path) -> None:
        fs = self.fs()
        fs.mkdir(container)
        for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
            fs.pipe(f"{container}/{prefix}/{path.relative_to(root).as_posix()}", path.read_bytes())
