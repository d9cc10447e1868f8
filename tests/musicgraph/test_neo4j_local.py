"""The local Neo4j server: start, no-op restart, status, Browser, clean stop, clear failures."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from neo4j import GraphDatabase

from musicgraph.cli import cli
from musicgraph.errors import ServerError
from musicgraph.neo4j_local import Instance, cache_dir, free_port, throwaway_database
from tests import support

pytestmark = pytest.mark.neo4j

# Starts with "-": neo4j-admin once read such a password as an unknown option and the
# start failed (about 1 in 64 of the evaluation's random passwords did).
PASSWORD = "-local-test-pw-1"


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    inst = Instance(home=tmp_path_factory.mktemp("local-home"), bolt_port=free_port(),
                    http_port=free_port())
    yield inst
    inst.stop()


def test_start_answers_bolt_serves_browser_and_is_idempotent(instance: Instance) -> None:
    first = instance.start(PASSWORD)
    assert first["running"] and first["home"] == str(instance.home)
    with GraphDatabase.driver(instance.bolt_uri, auth=("neo4j", PASSWORD)) as driver:
        records, _, _ = driver.execute_query("RETURN 41 + 1 AS answer")
        assert records[0]["answer"] == 42
    again = instance.start(PASSWORD)
    assert again["pid"] == first["pid"]  # starting a running instance is a no-op
    with urllib.request.urlopen(instance.browser_url, timeout=10) as resp:
        body = resp.read().decode("utf-8", "replace")
    assert resp.status == 200 and "Neo4j Browser" in body
    # The jars are cached outside the repository.
    repo = support.ROOT
    assert repo not in cache_dir().resolve().parents


def test_status_via_cli_reports_ports_and_home(instance: Instance) -> None:
    instance.start(PASSWORD)
    result = CliRunner().invoke(cli, ["neo4j", "status", "--home", str(instance.home)])
    assert result.exit_code == 0, result.output
    assert "running" in result.output
    assert f"bolt://127.0.0.1:{instance.bolt_port}" in result.output
    assert f"http://127.0.0.1:{instance.http_port}/browser/" in result.output


def test_auth_stays_on(instance: Instance) -> None:
    instance.start(PASSWORD)
    from neo4j.exceptions import AuthError

    with GraphDatabase.driver(instance.bolt_uri, auth=("neo4j", "wrong-password")) as driver:
        with pytest.raises(AuthError):
            driver.verify_connectivity()


def test_port_in_use_fails_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        inst = Instance(home=tmp_path / "busy", bolt_port=port, http_port=free_port())
        with pytest.raises(ServerError, match=f"port {port} on 127.0.0.1 is already in use"):
            inst.start(PASSWORD)


def test_short_password_is_refused_before_first_start(tmp_path: Path) -> None:
    inst = Instance(home=tmp_path / "short", bolt_port=free_port(), http_port=free_port())
    with pytest.raises(ServerError, match="at least 8 characters"):
        inst.start("short")
    assert inst.pid() is None


def test_stop_ends_the_server_and_status_says_so(instance: Instance) -> None:
    pid = instance.start(PASSWORD)["pid"]
    assert instance.stop() is True
    assert instance.pid() is None
    assert not Path(f"/proc/{pid}").exists()
    assert instance.stop() is False
    result = CliRunner().invoke(cli, ["neo4j", "status", "--home", str(instance.home)])
    assert result.exit_code == 1 and "stopped" in result.output
    # Ports are remembered: a plain start comes back on the same ports with its data.
    again = Instance.at(instance.home)
    assert (again.bolt_port, again.http_port) == (instance.bolt_port, instance.http_port)
    assert again.start(PASSWORD)["running"]


def test_a_throwaway_database_answers_then_leaves_nothing_behind() -> None:
    with throwaway_database("musicgraph-test-") as (db, tmp_dir):
        assert db.run_auto("RETURN 1 AS one")[0]["one"] == 1
        home = tmp_dir / "neo4j"
        pid = Instance.at(home).pid()
        assert pid is not None
    assert not tmp_dir.exists()
    assert not Path(f"/proc/{pid}").exists()
