"""Embeddings: word vectors (GloVe, word2vec), sentence embeddings, projections to 2-D/3-D, the corpora they are shown on, and the explorer's view and figures.

The package's public surface is `__all__`: its modules."""

__all__ = [
    "corpus",
    "explorer",
    "figures",
    "projection",
    "sentences",
    "sets",
    "snippets",
    "view",
    "wordvectors",
]
