"""docker-compose.yml and the Dockerfile, checked without a container engine.

A real Compose implementation (Debian's ``docker-compose`` 1.29, which needs no engine for
``config``; ``make test`` installs it when missing) validates and resolves the file, and
the tests assert what ``docker compose up`` depends on: services, the pinned Neo4j image,
healthchecks, start order, volumes and published ports. The Dockerfile is checked against
``requirements.lock`` and setup.cfg, the files ``make demo`` installs from, so the image
and a local checkout can't drift apart.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from musicgraph.neo4j_local import NEO4J_VERSION
from tests import support

ROOT = support.ROOT
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
PASSWORD = "compose-test-password"


def compose_binary() -> str:
    path = shutil.which("docker-compose")
    assert path, "docker-compose is not installed: apt-get install docker-compose (make test does)"
    return path


def compose_config(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env_file = tmp_path / "test.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return subprocess.run(
        [compose_binary(), "--project-directory", str(ROOT), "-f", str(COMPOSE),
         "--env-file", str(env_file), "config"],
        capture_output=True, text=True, timeout=60, check=False,
        # Only PATH from the caller: a NEO4J_PASSWORD exported in the shell must not leak in.
        env={"PATH": "/usr/local/bin:/usr/bin:/bin"})


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    result = compose_config(tmp_path_factory.mktemp("compose"), {"NEO4J_PASSWORD": PASSWORD})
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = yaml.safe_load(result.stdout)
    return data


def ports(service: dict[str, Any]) -> set[tuple[str, int, int]]:
    """(host ip, published, target) of each port, from config's 'ip:host:target/proto'."""
    out = set()
    for spec in service.get("ports", []):
        m = re.fullmatch(r"(?:([\d.]+):)?(\d+):(\d+)(?:/tcp)?", str(spec))
        assert m, f"unexpected port spec {spec!r}"
        out.add((m.group(1) or "0.0.0.0", int(m.group(2)), int(m.group(3))))
    return out


def test_services_and_pinned_image(config: dict[str, Any]) -> None:
    services = config["services"]
    assert set(services) == {"neo4j", "init", "app"}
    # Exactly the patch release the local server runs, community edition.
    assert services["neo4j"]["image"] == f"neo4j:{NEO4J_VERSION}-community"
    assert services["init"]["build"]["context"] == str(ROOT)
    assert services["app"]["image"] == services["init"]["image"]


def test_neo4j_auth_volume_and_healthcheck(config: dict[str, Any]) -> None:
    neo4j = config["services"]["neo4j"]
    assert neo4j["environment"]["NEO4J_AUTH"] == f"neo4j/{PASSWORD}"
    assert "neo4j-data:/data:rw" in neo4j["volumes"]
    assert "neo4j-data" in config["volumes"]
    test = " ".join(neo4j["healthcheck"]["test"])
    assert test.startswith("CMD-SHELL cypher-shell -u neo4j")
    assert "RETURN 1" in test
    # The container's shell expands the password: compose must not interpolate it.
    assert '"$${NEO4J_AUTH#neo4j/}"' in test
    assert PASSWORD not in test
    assert ports(neo4j) == {("127.0.0.1", 7474, 7474), ("127.0.0.1", 7687, 7687)}


def test_init_runs_etl_and_training_once_neo4j_is_healthy(config: dict[str, Any]) -> None:
    init = config["services"]["init"]
    assert init["depends_on"] == {"neo4j": {"condition": "service_healthy"}}
    assert init["command"][-1] == "musicgraph etl && musicgraph train --quiet"
    assert init["restart"] == "no"
    env = init["environment"]
    assert env["NEO4J_URI"] == "bolt://neo4j:7687" and env["NEO4J_PASSWORD"] == PASSWORD
    assert "models:/models:rw" in init["volumes"] and env["MUSICGRAPH_MODELS"] == "/models"
    assert "ports" not in init


def test_app_under_gunicorn_after_init(config: dict[str, Any]) -> None:
    app = config["services"]["app"]
    assert app["depends_on"] == {
        "init": {"condition": "service_completed_successfully"},
        "neo4j": {"condition": "service_healthy"},
    }
    assert app["command"][0] == "gunicorn" and app["command"][-1] == "app.wsgi:app"
    assert "0.0.0.0:8000" in app["command"]
    # Its settings, metrics across workers included, come from app/gunicorn_conf.py.
    assert app["command"][1:3] == ["-c", "python:app.gunicorn_conf"]
    test = " ".join(app["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in test
    assert app["environment"] == config["services"]["init"]["environment"]
    assert ports(app) == {("127.0.0.1", 8000, 8000)}


def test_ports_and_bind_address_are_configurable(tmp_path: Path) -> None:
    result = compose_config(tmp_path, {"NEO4J_PASSWORD": PASSWORD, "MUSICGRAPH_APP_PORT": "8080",
                                       "MUSICGRAPH_BIND": "0.0.0.0"})
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert ports(services["app"]) == {("0.0.0.0", 8080, 8000)}
    assert ports(services["neo4j"]) == {("0.0.0.0", 7474, 7474), ("0.0.0.0", 7687, 7687)}


def test_password_is_required(tmp_path: Path) -> None:
    result = compose_config(tmp_path, {"NEO4J_USER": "neo4j"})
    assert result.returncode != 0
    assert "set NEO4J_PASSWORD in .env" in result.stderr


# --- the Dockerfile against the files make demo installs from ------------------------------
def lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        name, sep, version = line.partition("==")
        if sep:
            pins[name.strip().lower()] = version.strip()
    return pins


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", "\n".join(
        line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")))
    out = []
    for line in text.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def test_dockerfile_installs_the_locked_set() -> None:
    steps = dockerfile_instructions()
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = [args for op, args in steps if op == "RUN"]
    copies = [args for op, args in steps if op == "COPY"]
    # The dependency layers see only setup.cfg and requirements.lock: code edits reuse them.
    assert copies[0] == "setup.cfg requirements.lock ./"
    first_code_copy = next(i for i, (op, _) in enumerate(steps) if op == "COPY"
                           and steps[i][1] != "setup.cfg requirements.lock ./")
    dep_runs = [args for op, args in steps[:first_code_copy] if op == "RUN"]
    assert len(dep_runs) == 2
    # Same pins as make demo: requirements.lock, minus only the CUDA wheels.
    assert "grep -vE '^(nvidia-|triton|cuda-)' requirements.lock > /tmp/constraints.txt" in runs[0]
    assert "https://download.pytorch.org/whl/cpu" in runs[0]
    assert "sed -n 's/^torch==//p' requirements.lock" in runs[0]
    assert '"torch==${TORCH_VERSION}+cpu"' in runs[0]
    assert "c['options']['install_requires']" in runs[1]
    assert "pip install -c /tmp/constraints.txt -r /tmp/requirements.txt" in runs[1]
    # The project itself: no dependency resolution after the code is copied.
    assert any("pip install --no-deps --config-settings editable_mode=compat -e ." in r
               for r in runs[2:])
    assert ("USER", "musicgraph") in steps
    cmd = next(args for op, args in steps if op == "CMD")
    assert "app.wsgi:app" in cmd and "python:app.gunicorn_conf" in cmd


def test_filtered_lock_keeps_every_cpu_package() -> None:
    """What the Dockerfile's grep removes is CUDA only; torch itself stays pinned."""
    pins = lock()
    dropped = {n for n in pins if re.match(r"^(nvidia-|triton|cuda-)", n)}
    assert "torch" not in dropped and "torch" in pins
    assert all(n.startswith(("nvidia-", "triton", "cuda-")) for n in dropped)
    # Every runtime requirement in setup.cfg is pinned by the lock the image uses.
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    required = [re.split(r"[<>=!~ \[]", r.strip(), maxsplit=1)[0].lower()
                for r in cfg["options"]["install_requires"].split("\n") if r.strip()]
    assert required and all(r.replace("_", "-") in {p.replace("_", "-") for p in pins}
                            for r in required), required


def test_makefile_installs_from_the_same_files() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install -q -c requirements.lock -e '.[test]'" in makefile
    assert re.search(r"^\$\(STAMP\): setup\.cfg pyproject\.toml requirements\.lock$",
                     makefile, re.M)


def test_dockerignore_keeps_the_bundled_data() -> None:
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert {".git", ".venv", ".env", "models", "artifacts", "data/*.rejects.csv"} <= set(ignored)
    assert not any(p in {"data", "data/", "*.gz", "data/*"} for p in ignored)
    copies = [args for op, args in dockerfile_instructions() if op == "COPY"]
    assert "data/spotify_songs.csv.gz data/README.md ./data/" in copies
    # The code folders: tests/musicgraph/test_layout.py checks them against setup.cfg.
