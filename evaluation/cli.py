"""``musicgraph evaluate``: the command-line face of :func:`evaluation.run.evaluate`."""

from __future__ import annotations

from pathlib import Path

import click

from musicgraph.cli import models_option, quiet_option


@click.command()
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None,
              help="Also write the JSON report here.")
@click.option("--seed", type=int, default=42, show_default=True,
              help="Seed for the split, seed choices, random baseline and training.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), default=None,
              help="Songs CSV. Default: the bundled data/spotify_songs.csv.gz.")
@click.option("--embeddings", "embeddings", type=click.Path(path_type=Path), default=None,
              help="Reuse the embeddings.npz of an earlier run with the same seed instead "
                   "of training (re-measures the served ranking in minutes).")
@models_option
@quiet_option
def evaluate(json_path: Path | None, seed: int, csv_path: Path | None,
             embeddings: Path | None, models: Path | None, quiet: bool) -> None:
    """Offline evaluation: hide 20% of playlist memberships, rank the cold songs with
    every method (a private Neo4j is started for the graph methods), write a report."""
    from evaluation.report import markdown_table
    from evaluation.run import EvalSettings
    from evaluation.run import evaluate as run_evaluation

    settings = EvalSettings(csv_path=csv_path, progress=not quiet, embeddings=embeddings,
                            out_dir=(models / "evaluation") if models else None)
    report = run_evaluation(settings, seed=seed, json_path=json_path)
    click.echo(markdown_table(report))
