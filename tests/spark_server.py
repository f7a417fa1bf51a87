"""A real Spark Connect server for the test session: pyspark's own connect server class, run by the wheel's
`bin/spark-submit` on 127.0.0.1 with a free port, `local[2]` and 1 GB of driver memory, started once and stopped
at the end of the session. Skipped with the reason when Java or pyspark is missing, except under CI=true,
where that fails the run (as PostgreSQL does in conftest.py).

`SENTINEL_TEST_SPARK=sc://host:port` uses a server already running instead (it is neither started nor stopped).

Tables go into a fresh schema per test (`SparkServer.schema()`), written as managed Parquet tables so that
every Spark session of the server (Sentinel opens its own) sees them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

CONNECT_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
START_TIMEOUT = 180  # seconds; ~6 s on an idle 2-core machine, more when the other test jobs share it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def problem() -> str | None:
    """Why no Spark Connect server can run here, or None."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Java is not installed (Spark needs a JRE 17+)"
    try:
        import pyspark  # noqa: F401
        import pyspark.sql.connect  # noqa: F401
    except ImportError as exc:
        return f"pyspark[connect] is not installed (pip install -e '.[spark]'): {exc}"
    try:
        import databricks.sqlalchemy  # noqa: F401
    except ImportError as exc:
        return f"databricks-sqlalchemy is not installed (pip install -e '.[spark]'): {exc}"
    return None


class SparkServer:
    def __init__(self, work: Path, url: str | None = None):
        import pyspark

        self.home = Path(pyspark.__file__).parent
        self.work = work
        self.port = _free_port()
        self.url = url or f"sc://127.0.0.1:{self.port}"
        self.log = work / "server.log"
        self.proc: subprocess.Popen | None = None
        self._client = None

    def start(self) -> None:
        env = {
            **os.environ,
            "SPARK_HOME": str(self.home),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOG_DIR": str(self.work),
            "SPARK_CONF_DIR": str(self.work),  # none of the machine's spark-defaults
        }
        conf = {
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(self.port),
            "spark.driver.host": "127.0.0.1",
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "2",  # default 200: each tiny GROUP BY would schedule 200 tasks
            "spark.sql.catalogImplementation": "in-memory",  # no Derby metastore_db in the working directory
            "spark.sql.warehouse.dir": str(self.work / "warehouse"),
            "spark.sql.session.timeZone": "UTC",
            # compiled query stages kept (default 100): two workloads taking turns (bench/speed.py's Sentinel run
            # and the hand-written statements) evicted each other's and recompiled every round; measured on 10M
            # rows, Sentinel's run 5.8-6.3 s -> 4.8-5.1 s, the hand-written 4.9-5.0 s -> 4.4-4.5 s (docs/spark.md)
            "spark.sql.codegen.cache.maxEntries": "1000",
            "spark.driver.extraJavaOptions": f"-Djava.io.tmpdir={self.work}",
        }
        cmd = [
            str(self.home / "bin" / "spark-submit"),
            "--class",
            CONNECT_CLASS,
            "--name",
            "sentinel-tests",
            "--master",
            "local[2]",
            "--driver-memory",
            "1g",
        ]
        for k, v in conf.items():
            cmd += ["--conf", f"{k}={v}"]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.work, start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not _listening(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-3000:]
                self.stop()
                raise RuntimeError(f"Spark Connect server did not start on port {self.port}:\n{tail}")
            time.sleep(0.2)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def client(self):
        """The tests' own session on the server (data loading); Sentinel opens its own."""
        if self._client is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # pandas 3: see sources/spark_dbapi.py
                from pyspark.sql import SparkSession

                self._client = SparkSession.builder.remote(self.url).create()
        return self._client

    def schema(self) -> str:
        name = "t_" + uuid.uuid4().hex[:10]
        self.client().sql(f"CREATE SCHEMA {name}")
        return name

    def drop(self, schema: str) -> None:
        self.client().sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    def load(self, table: str, data) -> None:
        """Write `data` (a pyarrow Table) as the managed Parquet table `table` (schema.name), replacing it."""
        self.client().createDataFrame(data).write.mode("overwrite").format("parquet").saveAsTable(table)

    def stop(self) -> None:
        if self._client is not None:
            try:
                self._client.stop()
            except Exception:
                pass
            self._client = None
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # spark-submit's JVM is in the group started here
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@contextlib.contextmanager
def running(prefix: str, url: str | None = None) -> Iterator[SparkServer]:
    """A server in a fresh work folder, started here unless `url` names a running one; stopped and its folder
    removed at the end. Skips with the reason when Java or pyspark is missing, fails under CI=true."""
    why = problem()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(why + " (required under CI)")
        pytest.skip(why)
    work = Path(tempfile.mkdtemp(prefix=prefix))
    server = SparkServer(work, url)
    try:
        if server.url.endswith(f":{server.port}"):
            server.start()
    except RuntimeError as exc:
        shutil.rmtree(work, ignore_errors=True)
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def spark_server():
    """The session's Spark Connect server (started on first use)."""
    with running("sentinel-spark-", os.environ.get("SENTINEL_TEST_SPARK")) as server:
        yield server


@pytest.fixture
def spark_schema(spark_server):
    """A fresh Spark schema for one test; yields (server, schema). Dropped afterwards."""
    schema = spark_server.schema()
    try:
        yield spark_server, schema
    finally:
        if spark_server.alive():
            spark_server.drop(schema)
