"""A local Neo4j Community 5.26 server without Docker or a tarball.

Neo4j's jars come from Maven Central: a tiny POM names ``org.neo4j:neo4j`` (the
community server, entry point ``org.neo4j.server.CommunityEntryPoint``) and
``org.neo4j.client:neo4j-browser`` (Neo4j Browser, served at ``/browser/``), and
``mvn dependency:copy-dependencies`` copies them with their runtime dependencies into
a cache under the user's cache directory, once. An *instance home* (conf, data,
logs, run) lives elsewhere, so several instances can run side by side on their own
ports (the tests start their own).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs
from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable

from musicgraph.config import DEFAULT_PASSWORD, Neo4jSettings
from musicgraph.db import Database
from musicgraph.errors import ServerError

NEO4J_VERSION = "5.26.30"
BROWSER_VERSION = "5.24.0"
DEFAULT_BOLT_PORT = 7687
DEFAULT_HTTP_PORT = 7474
DEFAULT_LISTEN_ADDRESS = "127.0.0.1"
MIN_PASSWORD_LENGTH = 8

# Java 17 needs these to let Neo4j reach NIO internals (as Neo4j's own launcher does).
_JAVA_OPENS = [
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
]

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.musicgraph</groupId>
  <artifactId>neo4j-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.neo4j</groupId><artifactId>neo4j</artifactId><version>{neo4j}</version>
    </dependency>
    <dependency>
      <groupId>org.neo4j.client</groupId><artifactId>neo4j-browser</artifactId><version>{browser}</version>
    </dependency>
  </dependencies>
</project>
"""


def cache_dir() -> Path:
    """Where the Neo4j jars are cached (``MUSICGRAPH_CACHE`` or the user cache dir)."""
    base = os.environ.get("MUSICGRAPH_CACHE") or platformdirs.user_cache_dir("musicgraph")
    return Path(base) / f"neo4j-{NEO4J_VERSION}-browser-{BROWSER_VERSION}"


def default_home() -> Path:
    """The default instance home (``MUSICGRAPH_NEO4J_HOME`` or the user data dir)."""
    env = os.environ.get("MUSICGRAPH_NEO4J_HOME")
    return Path(env) if env else Path(platformdirs.user_data_dir("musicgraph")) / "neo4j"


def is_loopback(address: str) -> bool:
    """Whether ``address`` (an IP or ``localhost``) reaches this machine only."""
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def _require_tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if not path:
        raise ServerError(f"{name} not found on PATH: {hint}")
    return path


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise provisioning and start/stop across processes (tests run them concurrently)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def provision() -> Path:
    """Make sure the Neo4j jars are cached; return the folder holding them.

    Resolves with Maven once, into a temporary folder that is renamed into place only
    when complete, so an interrupted download never leaves a half cache behind.

    Raises:
        ServerError: Java or Maven missing, or Maven failed (its output's tail is included).
    """
    lib = cache_dir() / "lib"
    marker = cache_dir() / "complete"
    if marker.is_file():
        return lib
    _require_tool("java", "install a Java 17 JDK (Debian: apt-get install openjdk-17-jdk-headless)")
    mvn = _require_tool("mvn", "install Maven (Debian: apt-get install maven)")
    with _file_lock(cache_dir().parent / f".{cache_dir().name}.lock"):
        if marker.is_file():
            return lib
        cache_dir().mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
            pom = Path(tmp) / "pom.xml"
            pom.write_text(_POM.format(neo4j=NEO4J_VERSION, browser=BROWSER_VERSION))
            out = Path(tmp) / "lib"
            print(f"Fetching Neo4j {NEO4J_VERSION} and Neo4j Browser {BROWSER_VERSION} "
                  f"from Maven Central into {cache_dir()} (once)...", flush=True)
            proc = subprocess.run(
                [mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies",
                 "-DincludeScope=runtime", f"-DoutputDirectory={out}"],
                capture_output=True, text=True,
            )
            if proc.returncode != 0 or not any(out.glob("neo4j-*.jar")):
                tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
                raise ServerError(f"Maven could not fetch Neo4j {NEO4J_VERSION}:\n{tail}")
            if lib.exists():
                shutil.rmtree(lib)
            out.rename(lib)
        marker.write_text(NEO4J_VERSION + "\n")
    return lib


@dataclass
class Instance:
    """One local Neo4j server: its home folder, ports and listen address.

    The server listens on loopback unless ``listen_address`` says otherwise (for
    example ``0.0.0.0`` to serve other machines); then :meth:`start` refuses the
    development default password.
    """

    home: Path
    bolt_port: int = DEFAULT_BOLT_PORT
    http_port: int = DEFAULT_HTTP_PORT
    listen_address: str = DEFAULT_LISTEN_ADDRESS

    # -- paths -----------------------------------------------------------------
    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "neo4j.log"

    @property
    def console_file(self) -> Path:
        return self.home / "logs" / "console.log"

    @property
    def pid_file(self) -> Path:
        return self.home / "run" / "musicgraph-neo4j.pid"

    @property
    def meta_file(self) -> Path:
        return self.home / "instance.json"

    @property
    def bolt_uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def browser_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/browser/"

    @classmethod
    def at(cls, home: Path | None = None, bolt_port: int | None = None,
           http_port: int | None = None, listen_address: str | None = None) -> Instance:
        """The instance at ``home``: settings given here win, then those it last ran with,
        then defaults."""
        home = (home or default_home()).expanduser().resolve()
        saved: dict[str, Any] = {}
        meta = home / "instance.json"
        if meta.is_file():
            saved = json.loads(meta.read_text())
        return cls(
            home=home,
            bolt_port=bolt_port or saved.get("bolt_port", DEFAULT_BOLT_PORT),
            http_port=http_port or saved.get("http_port", DEFAULT_HTTP_PORT),
            listen_address=listen_address
            or str(saved.get("listen_address", DEFAULT_LISTEN_ADDRESS)),
        )

    # -- state -------------------------------------------------------------------
    def pid(self) -> int | None:
        """The server's pid if it is running, else None (a stale pid file is ignored)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        # A reused pid belonging to something else is not our server.
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return pid
        return pid if b"CommunityEntryPoint" in cmdline else None

    def status(self) -> dict[str, object]:
        """Whether it runs, its pid, ports, home and the URLs to use."""
        pid = self.pid()
        return {
            "running": pid is not None,
            "pid": pid,
            "home": str(self.home),
            "bolt": self.bolt_uri,
            "browser": self.browser_url,
            "bolt_port": self.bolt_port,
            "http_port": self.http_port,
            "version": NEO4J_VERSION,
            "listen_address": self.listen_address,
            "log": str(self.log_file),
        }

    # -- start / stop --------------------------------------------------------------
    def _write_conf(self) -> None:
        h = self.home
        listen = self.listen_address
        # Clients are told to come back to the address they can reach: a wildcard
        # listener is reached through this machine's name.
        advertised = (socket.gethostname() if listen in ("0.0.0.0", "::")
                      else listen)
        settings = {
            "server.directories.data": h / "data",
            "server.directories.logs": h / "logs",
            "server.directories.run": h / "run",
            "server.directories.plugins": h / "plugins",
            "server.directories.import": h / "import",
            "server.directories.transaction.logs.root": h / "data" / "transactions",
            "server.default_listen_address": listen,
            "server.default_advertised_address": advertised,
            "server.bolt.listen_address": f"{listen}:{self.bolt_port}",
            "server.bolt.advertised_address": f"{advertised}:{self.bolt_port}",
            "server.http.listen_address": f"{listen}:{self.http_port}",
            "server.http.advertised_address": f"{advertised}:{self.http_port}",
            "server.https.enabled": "false",
            "server.memory.pagecache.size": os.environ.get("MUSICGRAPH_NEO4J_PAGECACHE", "512m"),
            "dbms.usage_report.enabled": "false",
            "dbms.security.auth_enabled": "true",
            # Keep transaction logs small: this is a development server.
            "db.tx_log.rotation.retention_policy": "2 files",
        }
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        lines = ["# Written by `musicgraph neo4j start`; rewritten at every start."]
        lines += [f"{k}={v}" for k, v in settings.items()]
        (self.conf_dir / "neo4j.conf").write_text("\n".join(lines) + "\n")
        for sub in ("data", "logs", "run", "plugins", "import"):
            (h / sub).mkdir(parents=True, exist_ok=True)
        self.meta_file.write_text(json.dumps(
            {"bolt_port": self.bolt_port, "http_port": self.http_port,
             "listen_address": self.listen_address, "version": NEO4J_VERSION}
        ))

    def _java(self, lib: Path, main: str, *args: str, heap: str | None = None) -> list[str]:
        java = _require_tool("java", "install a Java 17 JDK (Debian: apt-get install openjdk-17-jdk-headless)")
        cmd = [java, *_JAVA_OPENS]
        if heap:
            cmd += [f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError"]
        return cmd + ["-cp", f"{lib}/*:{self.home / 'plugins'}/*", main, *args]

    def _set_initial_password(self, lib: Path, password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ServerError(
                f"NEO4J_PASSWORD must be at least {MIN_PASSWORD_LENGTH} characters "
                "(Neo4j's rule); set it before the first start"
            )
        env = {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.conf_dir)}
        proc = subprocess.run(
            # "--" ends the options: a password starting with "-" is a password, not an
            # unknown option (picocli's convention).
            self._java(lib, "org.neo4j.cli.AdminTool", "dbms", "set-initial-password", "--",
                       password),
            env=env, capture_output=True, text=True,
        )
        if proc.returncode != 0:
            raise ServerError("could not set the initial Neo4j password:\n" + proc.stderr[-2000:])

    def import_full(self, database: str, nodes: list[tuple[str, Path]],
                    relationships: list[tuple[str, Path]], *, multiline: bool,
                    report_file: Path) -> None:
        """``neo4j-admin database import full`` into ``database``, replacing it.

        The server must be stopped (Community Edition can't take one database offline).
        The tool runs from the same jars as the server, with this home's configuration.

        Args:
            database: the database to (re)create.
            nodes: ``(label, csv)`` per node file; headers name ids and property types.
            relationships: ``(type, csv)`` per relationship file.
            multiline: some quoted values hold line breaks (slower parsing).
            report_file: where the tool reports bad entries.

        Raises:
            ServerError: the server is running, or the import failed (with its output).
        """
        if self.pid() is not None:
            raise ServerError(f"stop Neo4j ({self.home}) before neo4j-admin database import")
        lib = provision()
        self._write_conf()
        args = ["database", "import", "full", database, "--overwrite-destination=true",
                f"--report-file={report_file}", "--ignore-empty-strings=true",
                f"--multiline-fields={'true' if multiline else 'false'}",
                # The importer's own caches live off-heap; the page cache setting is the
                # memory this server is allowed for pages, so the import gets the same.
                "--max-off-heap-memory="
                + os.environ.get("MUSICGRAPH_NEO4J_PAGECACHE", "512m").upper()]
        args += [f"--nodes={label}={path}" for label, path in nodes]
        args += [f"--relationships={rel}={path}" for rel, path in relationships]
        env = {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.conf_dir)}
        heap = os.environ.get("MUSICGRAPH_NEO4J_HEAP", "1g")
        proc = subprocess.run(self._java(lib, "org.neo4j.cli.AdminTool", *args, heap=heap),
                              env=env, capture_output=True, text=True, cwd=self.home)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
            raise ServerError(f"neo4j-admin database import failed ({self.home}):\n{tail}")

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the Neo4j log and the console output, for error messages."""
        parts = []
        for f in (self.log_file, self.console_file):
            if f.is_file():
                text = f.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {f} ---\n" + "\n".join(text))
        return "\n".join(parts) or "(no log written)"

    def start(self, password: str, timeout: float = 180.0) -> dict[str, object]:
        """Start the server and return only when a Bolt query answers.

        Starting a running instance is a no-op. On the first start the initial
        password is set from ``password``.

        Raises:
            ServerError: the development default password with a listen address beyond
                loopback, a port is taken, Java is missing, or the server died or did not
                answer in ``timeout`` seconds (with the tail of its log).
        """
        if not is_loopback(self.listen_address) and password == DEFAULT_PASSWORD:
            raise ServerError(
                f"refusing to listen on {self.listen_address} with the development default "
                "password: anyone who can reach this machine could log in. Set "
                "NEO4J_PASSWORD (in the environment or .env) before the first start"
            )
        with _file_lock(self.home.parent / f".{self.home.name}.lock"):
            if self.pid() is not None:
                return self.status()
            for port in (self.bolt_port, self.http_port):
                if _port_in_use(port):
                    raise ServerError(
                        f"port {port} on 127.0.0.1 is already in use; pick another with "
                        "--bolt-port/--http-port or stop what holds it"
                    )
            lib = provision()
            first_start = not (self.home / "data" / "databases").exists()
            self._write_conf()
            if first_start:
                self._set_initial_password(lib, password)
            heap = os.environ.get("MUSICGRAPH_NEO4J_HEAP", "1g")
            cmd = self._java(lib, "org.neo4j.server.CommunityEntryPoint",
                             f"--home-dir={self.home}", f"--config-dir={self.conf_dir}",
                             heap=heap)
            env = {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.conf_dir)}
            with open(self.console_file, "ab") as console:
                # A new session: the server outlives this command and ignores its Ctrl-C.
                proc = subprocess.Popen(cmd, stdout=console, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env=env,
                                        start_new_session=True, cwd=self.home)
            self.pid_file.write_text(f"{proc.pid}\n")
            try:
                self._wait_for_bolt(proc, password, timeout)
            except ServerError:
                self._terminate(proc.pid, 30.0)
                self.pid_file.unlink(missing_ok=True)
                raise
            return self.status()

    def _wait_for_bolt(self, proc: subprocess.Popen[bytes], password: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        with GraphDatabase.driver(self.bolt_uri, auth=("neo4j", password),
                                  connection_timeout=2.0) as driver:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise ServerError(
                        f"Neo4j exited with status {proc.returncode} while starting.\n"
                        + self.log_tail()
                    )
                try:
                    # A plain session, not execute_query: its retries would back off for seconds.
                    with driver.session(database="neo4j") as session:
                        session.run("RETURN 1").consume()
                    return
                except AuthError as exc:
                    raise ServerError(
                        "Neo4j is up but refused NEO4J_PASSWORD: this home was initialised "
                        f"with another password ({self.home}); use that one, or start a "
                        "fresh --home"
                    ) from exc
                except (ServiceUnavailable, Neo4jError, OSError) as exc:
                    last_error = exc
                    # Polling a server that is booting: there is no event to wait on.
                    time.sleep(0.5)
        raise ServerError(
            f"Neo4j did not answer on {self.bolt_uri} within {timeout:.0f}s "
            f"(last error: {last_error}).\n" + self.log_tail()
        )

    @staticmethod
    def _terminate(pid: int, timeout: float) -> bool:
        """SIGTERM (Neo4j's clean shutdown), wait; SIGKILL only if it hangs. True if clean."""
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                waited, _ = os.waitpid(pid, os.WNOHANG)
                if waited == pid:
                    return True
            except ChildProcessError:
                pass  # not our child: fall back to probing
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.2)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        return False

    def stop(self, timeout: float = 120.0) -> bool:
        """Stop the server cleanly and wait for it to exit.

        Returns:
            True if a running server was stopped, False if none was running.
        """
        with _file_lock(self.home.parent / f".{self.home.name}.lock"):
            pid = self.pid()
            if pid is None:
                self.pid_file.unlink(missing_ok=True)
                return False
            clean = self._terminate(pid, timeout)
            self.pid_file.unlink(missing_ok=True)
            if not clean:
                raise ServerError(
                    f"Neo4j (pid {pid}) did not stop within {timeout:.0f}s and was killed; "
                    f"see {self.log_file}"
                )
            return True


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])



@contextlib.contextmanager
def throwaway_database(prefix: str = "musicgraph-") -> Iterator[tuple[Database, Path]]:
    """A private Neo4j for one job: a temporary home, free ports, a random password.

    Yields:
        The driver and the temporary folder (the job may keep its own files there);
        on exit the server is stopped and the folder removed.

    Raises:
        ServerError: the server did not start.
    """
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        tmp_dir = Path(tmp)
        password = secrets.token_urlsafe(16)
        inst = Instance(home=tmp_dir / "neo4j", bolt_port=free_port(), http_port=free_port())
        inst.start(password)
        try:
            with Database(Neo4jSettings(uri=inst.bolt_uri, password=password)) as db:
                yield db, tmp_dir
        finally:
            inst.stop()


__all__ = ["Instance", "provision", "cache_dir", "default_home", "free_port",
           "throwaway_database"]
