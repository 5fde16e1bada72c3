"""Tokenizer Lab (roadmap week 5): train BPE, WordPiece and Unigram with Hugging Face `tokenizers`,
replay how they cut a sentence step by step, and compare the studio's real tokenizers side by side."""
from core.tokenizer_lab.studio import STUDIO_TOKENIZERS, TokenRow, TokenizerView, compare, studio_tokenizer
from core.tokenizer_lab.corpora import CORPORA, corpus_text
from core.tokenizer_lab.replay import Replay, ReplayStep, pre_tokenize, replay, replay_bpe
from core.tokenizer_lab.train import (ALGORITHMS, PRE_TOKENIZERS, TrainedTokenizer, TrainSettings, encode,
                                      library_tokenizer, train)

__all__ = [
    "ALGORITHMS", "CORPORA", "PRE_TOKENIZERS", "STUDIO_TOKENIZERS", "Replay", "ReplayStep", "TokenRow",
    "TokenizerView", "TrainSettings", "TrainedTokenizer", "compare", "corpus_text", "encode",
    "library_tokenizer", "pre_tokenize", "replay", "replay_bpe", "studio_tokenizer", "train",
]
