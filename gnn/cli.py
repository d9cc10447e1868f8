"""``musicgraph train`` and ``musicgraph embed``: the command-line face of :mod:`gnn`."""

from __future__ import annotations

from pathlib import Path

import click

from musicgraph.cli import models_option, quiet_option

# The stage's modules (torch, PyG) are imported inside the commands, so listing the
# commands or asking for --help stays fast.


@click.command()
@click.option("--epochs", type=click.IntRange(1, 100_000), default=None,
              help="Maximum epochs (full-batch steps); early stopping may end sooner.")
@click.option("--seed", type=int, default=None,
              help="Seed for weights, the inner split and sampling.")
@click.option("--lr", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Adam learning rate.")
@click.option("--patience", type=click.IntRange(1, 100_000), default=None,
              help="Epochs without inner-split Recall@10 gain before stopping.")
@click.option("--eval-every", type=click.IntRange(1, 100_000), default=None,
              help="Evaluate the inner split every this many epochs.")
@click.option("--inner-fraction", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
              default=None, help="Share of playlist memberships hidden for early stopping.")
@click.option("--threads", type=click.IntRange(0, 256), default=None,
              help="Torch threads while training (0: torch's default).")
@click.option("--no-write-back", is_flag=True, help="Train and save artifacts only.")
@models_option
@quiet_option
def train(epochs: int | None, seed: int | None, lr: float | None, patience: int | None,
          eval_every: int | None, inner_fraction: float | None, threads: int | None,
          no_write_back: bool, models: Path | None, quiet: bool) -> None:
    """Train GraphSAGE on the graph and write song embeddings under a vector index."""
    from gnn.train import TrainConfig
    from gnn.train import train as run_training
    from musicgraph.db import Database

    config = TrainConfig()
    overrides = {"epochs": epochs, "seed": seed, "lr": lr, "patience": patience,
                 "eval_every": eval_every, "inner_fraction": inner_fraction,
                 "threads": threads}
    for name, value in overrides.items():
        if value is not None:
            setattr(config, name, value)
    config.write_back = not no_write_back
    with Database() as db:
        db.verify()
        result = run_training(db, config, models=models, progress=not quiet)
    click.echo(result.summary())


@click.command()
@click.option("--missing/--all", "missing_only", default=True, show_default=True,
              help="Embed only songs without an embedding, or rewrite every song.")
@models_option
@quiet_option
def embed(missing_only: bool, models: Path | None, quiet: bool) -> None:
    """Embed songs with the trained model, without retraining (new songs by default)."""
    from gnn.embed import embed as run_embed
    from musicgraph.db import Database

    with Database() as db:
        db.verify()
        result = run_embed(db, missing_only=missing_only, models=models, progress=not quiet)
    click.echo(result.summary())
