"""Tokenizer Lab core: the lab's BPE is the library's BPE, the merge replay reproduces the library's
encoding, the studio's real tokenizers are read faithfully, bad inputs get a message that says what to do."""
from __future__ import annotations

import pytest

from core.tokenizer_lab import (TrainSettings, compare, corpus_text, library_tokenizer, replay, replay_bpe,
                                studio_tokenizer, train)
from core.tokenizer_lab.studio import piece_bytes

# Unseen characters (é, 🚀) and a word the vocabulary cannot hold whole.
SENTENCES = ("Tokenizers learn their vocabulary from unbelievably frequent pairs.",
             "naïve café 🚀 x=lambda: None  # done")
SMALL_TEXT = "low lower lowest newer newest wider widest\n" * 3


@pytest.fixture(scope="module")
def docs():
    return corpus_text("python-docs")[:120_000]  # a real corpus, cut so each training takes well under a second


@pytest.mark.parametrize("pre", ["whitespace", "byte-level", "metaspace"])
def test_lab_bpe_gives_the_librarys_tokens_and_the_replay_reproduces_them(docs, pre):
    settings = TrainSettings("BPE", 800, pre)
    trained = train(docs, settings)
    reference = library_tokenizer(docs, settings)  # the library alone, same settings
    assert trained.vocab_size == reference.get_vocab_size() == 800
    assert trained.tokenizer.get_vocab() == reference.get_vocab()
    for sentence in SENTENCES:
        lib = reference.encode(sentence, add_special_tokens=False)
        ours = trained.tokenizer.encode(sentence, add_special_tokens=False)
        assert ours.tokens == lib.tokens and ours.ids == lib.ids
        rep = replay_bpe(trained, sentence)
        assert list(rep.pieces) == lib.tokens  # applying the merges in rank order = the library's encoding
        ranks = [s.rank for s in rep.steps[1:]]
        assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)  # each merge once, in rank order
        assert len(rep.steps[0].pieces) >= len(rep.pieces)


def test_merges_are_the_librarys_merges_in_order():
    settings = TrainSettings("BPE", 27, "whitespace")
    trained = train(SMALL_TEXT, settings)
    import json

    lib = [tuple(m) for m in json.loads(library_tokenizer(SMALL_TEXT, settings).to_str())["model"]["merges"]]
    assert list(trained.merges) == lib
    assert trained.merges[0] in {("l", "o"), ("e", "s"), ("w", "e"), ("e", "r")}  # the most frequent pairs here


@pytest.mark.parametrize("algo", ["WordPiece", "Unigram"])
def test_wordpiece_and_unigram_replays_end_on_the_encoding(docs, algo):
    trained = train(docs, TrainSettings(algo, 800, "whitespace"))
    for sentence in SENTENCES:
        rep = replay(trained, sentence)
        assert list(rep.pieces) == trained.tokenizer.encode(sentence, add_special_tokens=False).tokens
        assert len(rep.steps) == len(rep.words) + 1  # one step per word


def test_bad_vocabulary_sizes_and_texts_get_clear_messages():
    with pytest.raises(ValueError, match="cannot hold a single token"):
        TrainSettings("BPE", 0)
    with pytest.raises(ValueError, match="at most 27 tokens"):
        train(SMALL_TEXT, TrainSettings("BPE", 5_000))
    train(SMALL_TEXT, TrainSettings("BPE", 27))  # the size the message names works
    with pytest.raises(ValueError, match="gave Unigram only"):
        train(SMALL_TEXT, TrainSettings("Unigram", 5_000))
    with pytest.raises(ValueError, match="choose at least 11"):
        train(SMALL_TEXT, TrainSettings("BPE", 5))
    with pytest.raises(ValueError, match="empty"):
        train("   \n ", TrainSettings("BPE", 100))
    with pytest.raises(ValueError, match="empty"):
        replay(train(SMALL_TEXT, TrainSettings("BPE", 27)), " ")
    with pytest.raises(ValueError, match="python-docs"):
        corpus_text("wikipedia")
    with pytest.raises(ValueError, match="algorithm"):
        TrainSettings("SentencePiece", 100)


TEXT = "Hello world! Naïve café, Привет мир, 東京 🚀🤗"


def test_byte_level_tokenizers_cover_every_byte_once():
    """SmolLM2 and Whisper: the bytes of the pieces, joined, are exactly the text's UTF-8 bytes."""
    for view in compare(TEXT, ("smollm2", "whisper"), add_special_tokens=False):
        raw = b"".join(piece_bytes(t.piece, True) for t in view.tokens)
        assert raw == TEXT.encode("utf-8"), view.title
        assert view.n_unknown == 0 and view.n_special == 0
        assert view.bytes_per_token == pytest.approx(len(TEXT.encode()) / view.n_tokens)
        assert any(t.text.startswith("<") for t in view.tokens)  # an emoji cut into byte pieces


def test_studio_tokenizers_match_the_models_own_tokenizers():
    from transformers import AutoTokenizer

    from core import models

    minilm = AutoTokenizer.from_pretrained(models.resolve("minilm").path)
    (view,) = compare(TEXT, ("minilm",))
    assert [t.id for t in view.tokens] == minilm(TEXT)["input_ids"]
    assert view.tokens[0].piece == "[CLS]" and view.tokens[-1].piece == "[SEP]" and view.n_unknown == 1  # the emoji
    whisper = compare(TEXT, ("whisper",))[0]
    assert whisper.tokens[0].piece == "<|startoftranscript|>" and whisper.tokens[-1].piece == "<|endoftext|>"
    assert studio_tokenizer("smollm2").get_vocab_size() == 49_152
    with pytest.raises(ValueError, match="smollm2"):
        studio_tokenizer("gpt4")
    with pytest.raises(ValueError, match="empty"):
        compare("  ")
