"""Configuration: defaults first, then the environment.

Secrets never live in the repository: ``NEO4J_PASSWORD`` comes from the
environment (or a ``.env`` file the operator writes from ``.env.example``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: The repository root when running from a checkout (the package sits one level below it).
PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_URI = "bolt://127.0.0.1:7687"
DEFAULT_USER = "neo4j"
#: Local-development default only; the local server is bound to loopback.
DEFAULT_PASSWORD = "musicgraph-dev"
DEFAULT_DATABASE = "neo4j"


def load_dotenv(path: Path | None = None) -> None:
    """Read ``KEY=VALUE`` lines from a ``.env`` file into ``os.environ``.

    Values already in the environment win, so a deployment's real variables are
    never overridden by a file.

    Args:
        path: the file; defaults to ``.env`` in the current directory.
    """
    path = path or Path.cwd() / ".env"
    if not path.is_file():
        return
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip().strip('"').strip("'")
        os.environ.setdefault(key.strip(), value)


@dataclass(frozen=True)
class Neo4jSettings:
    """How to reach Neo4j."""

    uri: str = DEFAULT_URI
    user: str = DEFAULT_USER
    password: str = DEFAULT_PASSWORD
    database: str = DEFAULT_DATABASE

    @classmethod
    def from_env(cls) -> Neo4jSettings:
        """Build settings from ``NEO4J_URI``, ``NEO4J_USER``, ``NEO4J_PASSWORD``, ``NEO4J_DATABASE``."""
        return cls(
            uri=os.environ.get("NEO4J_URI", DEFAULT_URI),
            user=os.environ.get("NEO4J_USER", DEFAULT_USER),
            password=os.environ.get("NEO4J_PASSWORD", DEFAULT_PASSWORD),
            database=os.environ.get("NEO4J_DATABASE", DEFAULT_DATABASE),
        )


def default_csv() -> Path:
    """The bundled dataset, used when no ``--csv`` is given."""
    return PROJECT_ROOT / "data" / "spotify_songs.csv.gz"


def models_dir() -> Path:
    """Where training writes checkpoints and reports (``MUSICGRAPH_MODELS``, default ``./models``)."""
    return Path(os.environ.get("MUSICGRAPH_MODELS", PROJECT_ROOT / "models"))


def require_private_dir(path: Path, setting: str) -> None:
    """Make the folder ``path`` if missing (owner-only), and check that no one else can
    write in it: for files this process unpickles (the web app's shared result cache).
    Here rather than in app.recommend: gunicorn's master calls it, and need not load
    the recommendation code (numpy, the ranker, diskcache) that only workers use.

    Raises:
        InputError: the folder belongs to another user or others may open it; names
            ``setting``, the variable that named the folder.
    """
    from musicgraph.errors import InputError

    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise InputError(
            f"the result cache folder {path} ({setting}) must belong to this user and be "
            "closed to others (chmod 700): the answers in it are unpickled",
            f"owner uid {st.st_uid}, mode {oct(st.st_mode & 0o777)}")
