"""Offline evaluation of the recommendations: the product's measuring stick.

The package sits above the pipeline stages and is imported by none of them:

- :mod:`evaluation.split` hides a seeded share of the playlist memberships;
- :mod:`evaluation.tasks` builds the two cold-start tasks from a split;
- :mod:`evaluation.metrics` holds pure metric functions (they return values);
- :mod:`evaluation.baselines` scores the non-graph methods with numpy;
- :mod:`evaluation.run` loads a split into a private Neo4j with the real ETL, trains
  there, runs the served ranking (``app.recommend``) and scores every method;
- :mod:`evaluation.report` writes the JSON, Markdown and chart.

``musicgraph evaluate`` (:mod:`evaluation.cli`) is the public entry.
"""
