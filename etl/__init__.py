"""ETL: songs from a CSV file into Neo4j, plus the audio-similarity graph.

The public entry is :func:`etl.pipeline.run`; ``musicgraph etl`` calls it.
"""
