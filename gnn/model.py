"""Stage 2: the GraphSAGE encoder, its link decoder, and the checkpoint format.

The encoder follows PyG's ``graph_sage_unsup.py`` / ``link_pred.py`` examples: full-batch
``SAGEConv`` layers with mean aggregation (the design's 2 layers, 64-d output) encode every
node, and a decoder scores node pairs from their embeddings. The decoder scores pairs by
*cosine* similarity times a learned scale plus a learned bias, not by a raw dot product:
the embeddings are served by a cosine vector index, so training ranks pairs the same way
the index will. (A dot-product objective lets vector norms carry part of the score, and
the index would throw that part away.)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.nn import SAGEConv

from musicgraph.config import models_dir
from musicgraph.errors import ModelError
from musicgraph.schema import MODEL_ARTIFACTS, MODEL_CHECKPOINT

CHECKPOINT_NAME = MODEL_CHECKPOINT
#: Subfolder of the models folder that holds the GraphSAGE artifacts.
ARTIFACT_SUBDIR = MODEL_ARTIFACTS


def artifacts_dir(root: Path | None = None) -> Path:
    """Where the GraphSAGE artifacts live: ``<models>/graphsage``."""
    return (root or models_dir()) / ARTIFACT_SUBDIR
#: Bumped when the checkpoint's contents change incompatibly.
CHECKPOINT_VERSION = 1


class GraphSageEncoder(nn.Module):
    """GraphSAGE encoder plus a cosine link decoder.

    Args:
        in_channels: width of the input node features.
        hidden_channels: width of the hidden layers.
        out_channels: width of the embeddings.
        num_layers: number of ``SAGEConv`` layers (2: a song sees its entities and, through
            them, the songs that share them).
        aggr: neighbourhood aggregation (``"mean"``).
        dropout: dropout on hidden activations during training.

    Shapes:
        - ``x``: ``[num_nodes, in_channels]``
        - ``edge_index``: ``[2, num_edges]`` (both directions present for undirected graphs)
        - ``encode`` returns ``[num_nodes, out_channels]``
        - ``decode(z, pairs)``: ``pairs`` is ``[2, num_pairs]``; returns ``[num_pairs]`` logits
    """

    def __init__(self, in_channels: int, hidden_channels: int = 64, out_channels: int = 64,
                 num_layers: int = 2, aggr: str = "mean", dropout: float = 0.0) -> None:
        super().__init__()
        if num_layers < 1:
            raise ModelError(f"num_layers must be at least 1, got {num_layers}")
        dims = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.convs = nn.ModuleList(
            SAGEConv(dims[i], dims[i + 1], aggr=aggr) for i in range(num_layers)
        )
        self.dropout = dropout
        # logit = scale * cos + bias. Starting at scale 5 lets cosines in [-1, 1] reach
        # confident logits without first inflating vector norms.
        self.log_scale = nn.Parameter(torch.tensor(math.log(5.0)))
        self.bias = nn.Parameter(torch.zeros(()))

    def encode(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Embed every node from its features and its neighbourhood.

        Shapes:
            ``x`` ``[N, in]``, ``edge_index`` ``[2, E]`` → ``[N, out]``
        """
        for i, conv in enumerate(self.convs):
            x = conv(x, edge_index)
            if i < len(self.convs) - 1:
                x = F.relu(x)
                x = F.dropout(x, p=self.dropout, training=self.training)
        return x

    def decode(self, z: Tensor, pairs: Tensor) -> Tensor:
        """Logits that the node pairs are linked: scaled cosine of their embeddings.

        Shapes:
            ``z`` ``[N, out]``, ``pairs`` ``[2, P]`` → ``[P]``
        """
        zn = F.normalize(z, dim=-1)
        cos = (zn[pairs[0]] * zn[pairs[1]]).sum(-1)
        return self.log_scale.exp() * cos + self.bias

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Same as :meth:`encode`."""
        return self.encode(x, edge_index)


def build_model(in_channels: int, config: dict[str, Any]) -> GraphSageEncoder:
    """The encoder described by a training configuration (a ``TrainConfig`` as dict)."""
    return GraphSageEncoder(
        in_channels,
        hidden_channels=int(config["hidden"]),
        out_channels=int(config["out"]),
        num_layers=int(config["layers"]),
        aggr=str(config["aggr"]),
        dropout=float(config["dropout"]),
    )


def save_checkpoint(path: Path, model: GraphSageEncoder, config: dict[str, Any],
                    features: dict[str, Any], extra: dict[str, Any]) -> None:
    """Write everything inductive embedding needs: weights, config, feature spec.

    Only tensors and plain Python data go in, so :func:`load_checkpoint` can use
    ``torch.load(weights_only=True)`` and never unpickles code.
    """
    torch.save({
        "version": CHECKPOINT_VERSION,
        "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
        "in_channels": model.convs[0].in_channels,
        "config": config,
        "features": features,
        **extra,
    }, path)


def load_checkpoint(path: Path) -> tuple[GraphSageEncoder, dict[str, Any]]:
    """Load a checkpoint written by :func:`save_checkpoint`.

    Returns:
        The encoder in eval mode, and the checkpoint dict (config, features, ...).

    Raises:
        ModelError: no checkpoint there, or it can't be read.
    """
    if not path.is_file():
        raise ModelError(f"no trained model at {path}: run `musicgraph train` first")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if ckpt.get("version") != CHECKPOINT_VERSION:
            raise ModelError(f"checkpoint {path} has version {ckpt.get('version')}, "
                             f"expected {CHECKPOINT_VERSION}: retrain")
        model = build_model(int(ckpt["in_channels"]), ckpt["config"])
        model.load_state_dict(ckpt["state_dict"])
    except ModelError:
        raise
    except Exception as exc:  # a corrupt or foreign file: say which, keep the cause
        raise ModelError(f"can't read the checkpoint {path}", str(exc)) from exc
    model.eval()
    return model, ckpt
