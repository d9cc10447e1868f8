"""``musicgraph neo4j start`` beyond loopback: refused with the development password."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from musicgraph.cli import cli
from musicgraph.config import DEFAULT_PASSWORD
from musicgraph.errors import ServerError
from musicgraph.neo4j_local import Instance, free_port, is_loopback


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "192.168.1.20", "db.example.org"])
def test_start_refuses_the_default_password_beyond_loopback(tmp_path: Path,
                                                            address: str) -> None:
    inst = Instance(home=tmp_path / "home", bolt_port=free_port(), http_port=free_port(),
                    listen_address=address)
    with pytest.raises(ServerError, match="development default password"):
        inst.start(DEFAULT_PASSWORD)
    # Refused before anything was written or started.
    assert not inst.home.exists() and inst.pid() is None


def test_cli_refuses_and_says_what_to_do(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here to supply a password
    result = CliRunner().invoke(cli, ["neo4j", "start", "--home", str(tmp_path / "home"),
                                      "--listen-address", "0.0.0.0"])
    assert result.exit_code == ServerError.exit_code
    assert "refusing to listen on 0.0.0.0" in result.output
    assert "NEO4J_PASSWORD" in result.output


@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("10.0.0.1", False), ("example.org", False)])
def test_loopback_addresses(address: str, loopback: bool) -> None:
    assert is_loopback(address) is loopback


def test_listen_address_reaches_the_config(tmp_path: Path) -> None:
    inst = Instance(home=tmp_path / "home", bolt_port=17001, http_port=17002,
                    listen_address="0.0.0.0")
    inst._write_conf()
    conf = (inst.conf_dir / "neo4j.conf").read_text()
    assert "server.bolt.listen_address=0.0.0.0:17001" in conf
    assert "server.http.listen_address=0.0.0.0:17002" in conf
    # The next start without the option keeps the address it last ran with.
    assert Instance.at(inst.home).listen_address == "0.0.0.0"
    assert Instance.at(inst.home, listen_address="127.0.0.1").listen_address == "127.0.0.1"
