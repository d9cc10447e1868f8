"""The ``musicgraph`` command: one group, one subcommand per pipeline stage.

Expected failures (:class:`~musicgraph.errors.MusicGraphError`) print one line on
stderr and exit non-zero; they never print a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from musicgraph.config import Neo4jSettings, load_dotenv
from musicgraph.errors import MusicGraphError
from musicgraph.neo4j_local import Instance


class _Group(click.Group):
    """A click group that turns MusicGraphError into a clean, non-zero exit."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except MusicGraphError as exc:
            click.echo(f"error: {exc.message}", err=True)
            if exc.detail:
                click.echo(exc.detail, err=True)
            ctx.exit(exc.exit_code)


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


@neo4j.command()
@_home
@_bolt
@_http
@click.option("--timeout", type=float, default=180.0, show_default=True,
              help="Seconds to wait for Bolt to answer.")
def start(home: Path | None, bolt_port: int | None, http_port: int | None, timeout: float) -> None:
    """Start the server; returns once a Bolt query answers (a no-op if it runs)."""
    inst = Instance.at(home, bolt_port, http_port)
    was_running = inst.pid() is not None
    st = inst.start(Neo4jSettings.from_env().password, timeout=timeout)
    verb = "already running" if was_running else "started"
    click.echo(f"Neo4j {verb} (pid {st['pid']}): bolt {st['bolt']}, browser {st['browser']}")
    click.echo(f"home {st['home']}")


@neo4j.command()
@_home
def stop(home: Path | None) -> None:
    """Stop the server cleanly and wait for it to exit."""
    inst = Instance.at(home)
    click.echo("Neo4j stopped" if inst.stop() else f"Neo4j was not running ({inst.home})")


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


# --- etl ------------------------------------------------------------------------------
@cli.command()
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), default=None,
              help="CSV or gzipped CSV of songs. Default: the bundled data/spotify_songs.csv.gz.")
@click.option("--map", "mapping", default=None, metavar="FIELD=COLUMN,...",
              help="Name the column for a field, e.g. id=song_id,title=song_title.")
@click.option("--rejects", type=click.Path(path_type=Path), default=None,
              help="Where rejected rows go (default: <csv>.rejects.csv beside the input).")
@click.option("--schema-only", is_flag=True, help="Apply constraints and indexes, load nothing.")
@click.option("--k", "knn_k", type=click.IntRange(1, 200), default=None,
              help="Neighbours per song in the audio-similarity graph.")
@click.option("--threshold", type=click.FloatRange(-1.0, 1.0), default=None,
              help="Minimum cosine similarity for a SIMILAR edge.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=2000, show_default=True)
def etl(csv_path: Path | None, mapping: str | None, rejects: Path | None, schema_only: bool,
        knn_k: int | None, threshold: float | None, batch_size: int) -> None:
    """Load songs from a CSV into Neo4j and build the audio-similarity graph."""
    from etl import pipeline
    from musicgraph.db import Database

    with Database() as db:
        db.verify()
        if schema_only:
            pipeline.apply_schema(db)
            click.echo("schema applied")
            return
        options = pipeline.EtlOptions(batch_size=batch_size)
        if knn_k is not None:
            options.knn_k = knn_k
        if threshold is not None:
            options.threshold = threshold
        report = pipeline.run(db, csv_path=csv_path, mapping=mapping, rejects_path=rejects,
                              options=options)
    click.echo(report.summary())


# --- gnn --------------------------------------------------------------------------------
_models = click.option("--models", type=click.Path(path_type=Path), default=None,
                       help="Models folder (default $MUSICGRAPH_MODELS or ./models); "
                            "artifacts go to its graphsage/ subfolder.")
_quiet = click.option("--quiet", is_flag=True, help="No progress bars.")


@cli.command()
@click.option("--epochs", type=click.IntRange(1, 100_000), default=None,
              help="Maximum epochs (full-batch steps); early stopping may end sooner.")
@click.option("--seed", type=int, default=None, help="Seed for weights, splits and sampling.")
@click.option("--lr", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Adam learning rate.")
@click.option("--patience", type=click.IntRange(1, 100_000), default=None,
              help="Epochs without validation-AUC gain before stopping.")
@click.option("--val-fraction", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
              default=None, help="Share of SIMILAR and IN_PLAYLIST edges held out.")
@click.option("--mask-playlist-rate", type=click.FloatRange(0.0, 1.0, max_open=True),
              default=None, help="Share of playlist edges hidden per epoch (0: off).")
@click.option("--similar-min-score", type=click.FloatRange(-1.0, 1.0), default=None,
              help="Drop SIMILAR edges scored below this from the graph.")
@click.option("--threads", type=click.IntRange(0, 256), default=None,
              help="Torch threads while training (0: torch's default).")
@click.option("--no-write-back", is_flag=True, help="Train and save artifacts only.")
@_models
@_quiet
def train(epochs: int | None, seed: int | None, lr: float | None, patience: int | None,
          val_fraction: float | None, mask_playlist_rate: float | None,
          similar_min_score: float | None, threads: int | None, no_write_back: bool,
          models: Path | None, quiet: bool) -> None:
    """Train GraphSAGE on the graph and write song embeddings under a vector index."""
    from gnn.train import TrainConfig
    from gnn.train import train as run_training
    from musicgraph.db import Database

    config = TrainConfig()
    overrides = {"epochs": epochs, "seed": seed, "lr": lr, "patience": patience,
                 "val_fraction": val_fraction, "mask_playlist_rate": mask_playlist_rate,
                 "similar_min_score": similar_min_score, "threads": threads}
    for name, value in overrides.items():
        if value is not None:
            setattr(config, name, value)
    config.write_back = not no_write_back
    with Database() as db:
        db.verify()
        result = run_training(db, config, models=models, progress=not quiet)
    click.echo(result.summary())


@cli.command()
@click.option("--missing/--all", "missing_only", default=True, show_default=True,
              help="Embed only songs without an embedding, or rewrite every song.")
@_models
@_quiet
def embed(missing_only: bool, models: Path | None, quiet: bool) -> None:
    """Embed songs with the trained model, without retraining (new songs by default)."""
    from gnn.embed import embed as run_embed
    from musicgraph.db import Database

    with Database() as db:
        db.verify()
        result = run_embed(db, missing_only=missing_only, models=models, progress=not quiet)
    click.echo(result.summary())


# --- serve ----------------------------------------------------------------------------
@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every interface).")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True,
              help="Port to listen on.")
@click.option("--debug", is_flag=True, help="Flask debug mode: development only.")
def serve(host: str, port: int, debug: bool) -> None:
    """Serve the web app and API (for production: gunicorn app.wsgi:app)."""
    from app import create_app

    application = create_app()
    click.echo(f"MusicGraph serving on http://{host}:{port}/ (Ctrl-C to stop)")
    application.run(host=host, port=port, debug=debug, threaded=True, use_reloader=False)


# --- evaluate -------------------------------------------------------------------------
@cli.command()
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None,
              help="Also write the JSON report here.")
@click.option("--seed", type=int, default=42, show_default=True,
              help="Seed for the split, seed choices, random baseline and training.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), default=None,
              help="Songs CSV. Default: the bundled data/spotify_songs.csv.gz.")
@click.option("--embeddings", "embeddings", type=click.Path(path_type=Path), default=None,
              help="Reuse the embeddings.npz of an earlier run with the same seed instead "
                   "of training (re-measures the served ranking in minutes).")
@_models
@_quiet
def evaluate(json_path: Path | None, seed: int, csv_path: Path | None,
             embeddings: Path | None, models: Path | None, quiet: bool) -> None:
    """Offline evaluation: hide 20% of playlist memberships, rank the cold songs with
    every method (a private Neo4j is started for the graph methods), write a report."""
    from gnn.evaluate import EvalSettings, markdown_table
    from gnn.evaluate import evaluate as run_evaluation

    settings = EvalSettings(csv_path=csv_path, progress=not quiet, embeddings=embeddings,
                            out_dir=(models / "evaluation") if models else None)
    report = run_evaluation(settings, seed=seed, json_path=json_path)
    click.echo(markdown_table(report))


def main() -> None:
    """Console entry point."""
    cli(prog_name="musicgraph")


if __name__ == "__main__":
    main()
