"""Text Lab (roadmap week 1): preprocessing stage by stage, one-hot / Bag-of-Words / TF-IDF over a
real corpus, and sentiment three ways (VADER, GloVe average, MiniLM) trained live on real labels.

Public surface: the modules below. Nothing heavy loads at import.
"""
from core.text_lab import data, figures, preprocess, sentiment, vectorize, view

__all__ = ["data", "figures", "preprocess", "sentiment", "vectorize", "view"]
