"""``musicgraph etl``: the command-line face of :func:`etl.pipeline.run`."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
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
@click.option("--bulk", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True,
              help="First load of an empty local database through neo4j-admin import: "
                   "auto does it from --bulk-min-rows rows up.")
@click.option("--bulk-min-rows", type=click.IntRange(0), default=None,
              help="Rows from which --bulk auto takes the bulk path (default 200,000).")
@click.option("--home", type=click.Path(path_type=Path), default=None,
              help="The local Neo4j's home, for the bulk path (default: the instance "
                   "NEO4J_URI names, found by its Bolt port).")
@click.option("--report", "report_path", type=click.Path(path_type=Path), default=None,
              help="Also write the run's report (counts, rejects, seconds per stage) as JSON.")
def etl(csv_path: Path | None, mapping: str | None, rejects: Path | None, schema_only: bool,
        knn_k: int | None, threshold: float | None, batch_size: int, bulk: str,
        bulk_min_rows: int | None, home: Path | None, report_path: Path | None) -> None:
    """Load songs from a CSV into Neo4j and build the audio-similarity graph."""
    from etl import pipeline
    from musicgraph.db import Database

    with Database() as db:
        db.verify()
        if schema_only:
            pipeline.apply_schema(db)
            click.echo("schema applied")
            return
        options = pipeline.EtlOptions(batch_size=batch_size, bulk=bulk, home=home)
        if bulk_min_rows is not None:
            options.bulk_min_rows = bulk_min_rows
        if knn_k is not None:
            options.knn_k = knn_k
        if threshold is not None:
            options.threshold = threshold
        report = pipeline.run(db, csv_path=csv_path, mapping=mapping, rejects_path=rejects,
                              options=options)
    if report_path is not None:
        report.write_json(report_path)
    click.echo(report.summary())
