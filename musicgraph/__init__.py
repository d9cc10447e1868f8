"""MusicGraph: shared plumbing (configuration, the Neo4j driver, the local server, the CLI).

The pipeline stages live beside this package: ``etl`` (CSV into Neo4j), ``gnn``
(export, GraphSAGE, write-back) and ``app`` (Flask), with ``evaluation`` (the offline
measuring stick) above them. They import this package; it imports none of them. Every
Cypher statement lives in the ``cypher`` package as a ``.cypher`` file.
"""

__version__ = "0.1.0"
