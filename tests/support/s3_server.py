"""A real S3-compatible server for the lake tests and bench/data_lake.py: moto's standalone server
(`moto_server`), a subprocess on 127.0.0.1 reached over HTTP. It is installed in the SDK clients'
venv (tests/requirements-sdks.txt: moto pulls boto3, which the product venv must not hold), and
filled through s3fs, the product's own S3 backend. Credentials reach aiaudit only through the AWS
standard chain (the environment `env()` returns); moto accepts any key.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.client_side import clients_python
from tests.support.local_server import free_port
from tests.support.local_server import start_listening
from tests.support.local_server import stop_process

ACCESS_KEY = "AKIALAKETESTKEY00001"
SECRET_KEY = "lake-test-secret-7f3a9c1e"  # a canary: it must appear in nothing aiaudit writes
REGION = "us-east-1"


class MotoServer:
    """`start()` / `stop()` may be called again: a restart on the same port (moto keeps no data)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> MotoServer:
        exe = clients_python().parent / "moto_server"
        if not exe.exists():
            raise RuntimeError(f"{exe} is missing: ./install.sh --dev installs moto[server] into the clients' venv")
        self.proc = start_listening([str(exe), "-H", "127.0.0.1", "-p", str(self.port)], self.port, "moto_server",
                                    timeout)
        return self

    def stop(self) -> None:
        stop_process(self.proc)

    def env(self) -> dict[str, str]:
        """The AWS standard chain's environment variables pointing at this server (AWS_ALLOW_HTTP:
        deltalake's object_store refuses a plain-HTTP endpoint without it)."""
        return {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": self.url, "AWS_ALLOW_HTTP": "true"}

    def delta_options(self) -> dict[str, str]:
        """deltalake's storage options for this server (its object_store reads no AWS_ENDPOINT_URL
        from botocore's chain, so the writer is told)."""
        return {"AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                "AWS_REGION": REGION, "AWS_ALLOW_HTTP": "true", "AWS_S3_ALLOW_UNSAFE_RENAME": "true"}

    def fs(self):
        """An s3fs filesystem on this server, for filling buckets (not cached: a restart is a new server)."""
        import s3fs

        return s3fs.S3FileSystem(key=ACCESS_KEY, secret=SECRET_KEY, endpoint_url=self.url,
                                 client_kwargs={"region_name": REGION}, skip_instance_cache=True,
                                 use_listings_cache=False)

    def make_bucket(self, name: str) -> None:
        """CreateBucket without a location constraint (s3fs's mkdir sends us-east-1 as one, which
        S3 refuses for that region)."""
        from fsspec.asyn import sync

        fs = self.fs()
        sync(fs.loop, fs._call_s3, "create_bucket", Bucket=name)

    def upload_tree(self, bucket: str, prefix: str, root: Path) -> int:
        """Every file under `root` to s3://bucket/prefix/..., returns the bytes uploaded."""
        fs, total = self.fs(), 0
        for path in sorted(Path(root).rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                fs.pipe(f"{bucket}/{prefix}/{path.relative_to(root).as_posix()}", data)
                total += len(data)
        return total
