"""GraphSAGE song embeddings: export from Neo4j, train, write back, embed new songs.

One module per stage, one public entry each:

- :func:`gnn.export.export_graph` reads the graph into PyTorch Geometric;
- :func:`gnn.train.train` trains the encoder, saves artifacts and writes embeddings back;
- :func:`gnn.writeback.write_embeddings` stores vectors and keeps the ``song_embedding``
  vector index in step with their size;
- :func:`gnn.embed.embed` embeds songs added after training, without retraining.
"""
