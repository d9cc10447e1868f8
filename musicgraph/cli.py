"""The ``musicgraph`` command: one group, one subcommand per pipeline stage.

This module owns the group and the ``neo4j`` commands (the local server is shared
plumbing). Each stage brings its own commands through the ``musicgraph.commands`` entry
point group (``etl`` from :mod:`etl.cli`, ``train`` and ``embed`` from :mod:`gnn.cli`,
``serve`` from :mod:`app.cli`, ``evaluate`` from :mod:`evaluation.cli`), loaded when
invoked, so this package imports none of the stages and ``musicgraph --help`` doesn't
pay for torch.

Expected failures (:class:`~musicgraph.errors.MusicGraphError`) print one line on
stderr and exit non-zero; they never print a traceback.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import entry_points
from pathlib import Path

import click

from musicgraph.config import Neo4jSettings, load_dotenv
from musicgraph.errors import MusicGraphError
from musicgraph.neo4j_local import Instance

#: Entry point group through which the stages add their commands.
COMMANDS_GROUP = "musicgraph.commands"


class _Group(click.Group):
    """A click group that turns MusicGraphError into a clean, non-zero exit and adds the
    stages' commands from the ``musicgraph.commands`` entry points."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        plugins = {ep.name for ep in entry_points(group=COMMANDS_GROUP)}
        return sorted(set(super().list_commands(ctx)) | plugins)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        for ep in entry_points(group=COMMANDS_GROUP, name=cmd_name):
            loaded = ep.load()
            if not isinstance(loaded, click.Command):
                raise TypeError(f"entry point {ep.value} is not a click command")
            return loaded
        return None

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except MusicGraphError as exc:
            click.echo(f"error: {exc.message}", err=True)
            if exc.detail:
                click.echo(exc.detail, err=True)
            ctx.exit(exc.exit_code)


#: Options the stages' commands share.
models_option = click.option(
    "--models", type=click.Path(path_type=Path), default=None,
    help="Models folder (default $MUSICGRAPH_MODELS or ./models); artifacts go to its "
         "graphsage/ subfolder.")
quiet_option = click.option("--quiet", is_flag=True, help="No progress bars.")


@click.group(cls=_Group)
@click.version_option(package_name="musicgraph")
def cli() -> None:
    """MusicGraph: songs in Neo4j, GraphSAGE embeddings, recommendations with paths."""
    load_dotenv()


# --- neo4j --------------------------------------------------------------------------
@cli.group()
def neo4j() -> None:
    """Run a local Neo4j Community 5.26 server (no Docker needed)."""


_home = click.option("--home", type=click.Path(path_type=Path), default=None,
                     help="Instance folder (conf, data, logs). Default: the user data dir.")
_bolt = click.option("--bolt-port", type=click.IntRange(1, 65535), default=None,
                     help="Bolt port on 127.0.0.1 (default 7687, or the instance's last).")
_http = click.option("--http-port", type=click.IntRange(1, 65535), default=None,
                     help="HTTP port on 127.0.0.1 for Neo4j Browser (default 7474).")
_listen = click.option("--listen-address", default=None, metavar="ADDRESS",
                       help="Address to listen on (default 127.0.0.1, or the instance's "
                            "last); beyond loopback it needs a NEO4J_PASSWORD of your own.")


@neo4j.command()
@_home
@_bolt
@_http
@_listen
@click.option("--timeout", type=float, default=180.0, show_default=True,
              help="Seconds to wait for Bolt to answer.")
def start(home: Path | None, bolt_port: int | None, http_port: int | None,
          listen_address: str | None, timeout: float) -> None:
    """Start the server; returns once a Bolt query answers (a no-op if it runs)."""
    inst = Instance.at(home, bolt_port, http_port, listen_address)
    was_running = inst.pid() is not None
    st = inst.start(Neo4jSettings.from_env().password, timeout=timeout)
    verb = "already running" if was_running else "started"
    click.echo(f"Neo4j {verb} (pid {st['pid']}): bolt {st['bolt']}, browser {st['browser']}")
    click.echo(f"home {st['home']}")


@neo4j.command()
@_home
@click.option("--timeout", type=float, default=120.0, show_default=True,
              help="Seconds to wait for a clean exit before killing the server (a store of "
                   "a million vectors can take minutes: Lucene finishes its merges).")
def stop(home: Path | None, timeout: float) -> None:
    """Stop the server cleanly and wait for it to exit."""
    inst = Instance.at(home)
    click.echo("Neo4j stopped" if inst.stop(timeout=timeout)
               else f"Neo4j was not running ({inst.home})")


@neo4j.command()
@_home
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(home: Path | None, as_json: bool) -> None:
    """Say whether the server runs, its ports and its home (exit 1 when stopped)."""
    st = Instance.at(home).status()
    if as_json:
        click.echo(json.dumps(st))
    else:
        state = f"running (pid {st['pid']})" if st["running"] else "stopped"
        click.echo(f"Neo4j {st['version']}: {state}\n  bolt    {st['bolt']}\n"
                   f"  browser {st['browser']}\n  home    {st['home']}\n  log     {st['log']}")
    sys.exit(0 if st["running"] else 1)


def main() -> None:
    """Console entry point."""
    cli(prog_name="musicgraph")


if __name__ == "__main__":
    main()
