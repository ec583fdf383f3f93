"""A single-node Trino server on loopback for the `trino` test tier (started once per session).

The Hive connector reads local folders through its local file system (local:///<path under the data
root>), with a file metastore and partition projection on, which is what Athena's tables rely on.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

CACHE = Path(os.environ.get("ALB502_CACHE", Path.home() / ".cache" / "alb502athena"))
VERSION = os.environ.get("ALB502_TRINO_VERSION", "476")


def trino_home() -> Path:
    return CACHE / f"trino-server-{VERSION}"


def java_home() -> Path:
    """A JDK new enough for Trino (24+): JAVA_HOME if it is one, else the newest in /usr/lib/jvm."""
    candidates = [
        os.environ.get("ALB502_TRINO_JAVA_HOME", ""),
        *sorted(glob.glob("/usr/lib/jvm/*"), reverse=True),
    ]
    for c in candidates:
        if not c or not (Path(c) / "bin" / "java").exists():
            continue
        out = subprocess.run([f"{c}/bin/java", "-version"], capture_output=True, text=True).stderr
        try:
            major = int(out.split('"')[1].split(".")[0])
        except (IndexError, ValueError):
            continue
        if major >= 24:
            return Path(c)
    raise RuntimeError("Trino needs a JDK 24 or newer (set ALB502_TRINO_JAVA_HOME)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TrinoServer:
    def __init__(self, work: Path, data_root: Path) -> None:
        self.work = work
        self.data_root = data_root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _configure(self) -> Path:
        etc = self.work / "etc"
        (etc / "catalog").mkdir(parents=True, exist_ok=True)
        (etc / "node.properties").write_text(
            f"node.environment=test\nnode.id=alb502-test\nnode.data-dir={self.work / 'data'}\n"
        )
        (etc / "config.properties").write_text(
            "coordinator=true\nnode-scheduler.include-coordinator=true\n"
            f"http-server.http.port={self.port}\ndiscovery.uri={self.url}\n"
            "query.max-memory=1GB\nquery.max-memory-per-node=1GB\n"
        )
        (etc / "jvm.config").write_text(
            "-server\n-Xmx2G\n-XX:+UseG1GC\n-XX:+ExitOnOutOfMemoryError\n-Djdk.attach.allowAttachSelf=true\n"
            "-XX:+EnableDynamicAgentLoading\n"
        )
        (etc / "log.properties").write_text("io.trino=WARN\n")
        (etc / "catalog" / "hive.properties").write_text(
            "connector.name=hive\nhive.metastore=file\nhive.metastore.catalog.dir=local:///metastore\n"
            f"fs.native-local.enabled=true\nlocal.location={self.data_root}\n"
            "hive.recursive-directories=true\nhive.partition-projection-enabled=true\n"
            "hive.ignore-absent-partitions=true\n"
        )
        (self.data_root / "metastore").mkdir(parents=True, exist_ok=True)
        return etc

    def start(self, timeout: float = 180) -> None:
        home = trino_home()
        if not (home / "bin" / "launcher").exists():
            raise RuntimeError(f"no Trino server in {home}: run scripts/fetch-trino first")
        etc = self._configure()
        env = {**os.environ, "JAVA_HOME": str(java_home())}
        env["PATH"] = f"{env['JAVA_HOME']}/bin:{env.get('PATH', '')}"
        log = open(self.work / "server.log", "wb")  # noqa: SIM115 - kept open for the server's lifetime
        self.process = subprocess.Popen(
            [
                str(home / "bin" / "launcher"),
                "run",
                "--etc-dir",
                str(etc),
                f"--data-dir={self.work / 'data'}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Trino exited: {(self.work / 'server.log').read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/v1/info", timeout=2) as r:
                    if b'"starting":false' in r.read() and self._answers():
                        return
            except OSError:
                pass
            time.sleep(1)
        self.stop()
        raise RuntimeError(
            f"Trino did not start in {timeout:.0f} s: {(self.work / 'server.log').read_text()[-3000:]}"
        )

    def _answers(self) -> bool:
        # "Started" comes before the coordinator has registered itself as a worker node.
        try:
            cursor = self.connect().cursor()
            cursor.execute("SELECT 1")
            return bool(cursor.fetchall())
        except Exception:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None

    def connect(self, catalog: str = "hive", schema: str = "alb"):  # type: ignore[no-untyped-def]
        import trino

        return trino.dbapi.connect(
            host="127.0.0.1", port=self.port, user="alb502", catalog=catalog, schema=schema
        )

    def reset_data(self) -> None:
        shutil.rmtree(self.data_root / "logs", ignore_errors=True)
