"""A small RANDOM-WEIGHT XTTS for tests, shared by the XTTS tests of core and of both front ends.

RANDOM WEIGHTS: no XTTS weights exist offline here (coqui/XTTS-v2 is a 1.8 GB download), so this
builds coqui-tts' own `Xtts` class from an `XttsConfig` with tiny dimensions (a 1-layer, 64-wide
GPT-2 with its perceiver resampler, a small HiFi-GAN decoder, the real ResNet speaker encoder) and
random weights. Its speech is noise; tests use it to check code paths only, never to present it
as a model.

The XTTS BPE vocabulary (vocab.json) is not shipped in any package either, so a tiny
character-level vocabulary with the same special tokens ([STOP], [UNK], [SPACE], [START], [en],
[de], ...) is built with the `tokenizers` library and loaded through coqui's own `VoiceBpeTokenizer`.

Use: `from tests.xtts_fixture import random_xtts, speech_clip  # noqa: F401` in a test module.
"""
from __future__ import annotations

import pytest

from core import tts
from core.tts.xtts import XttsEngine

LANGS = ("en", "de", "fr", "es")


@pytest.fixture(scope="session")
def random_xtts(tmp_path_factory):
    import torch
    from TTS.tts.layers.xtts.hifigan_decoder import HifiDecoder
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
    from TTS.tts.models.xtts import Xtts

    vocab = tiny_vocab(tmp_path_factory.mktemp("xtts") / "vocab.json")
    torch.manual_seed(0)
    model = Xtts(tiny_config())
    model.tokenizer = VoiceBpeTokenizer(vocab_file=str(vocab))
    model.init_models()  # builds the GPT now that the vocabulary size is known
    # a small HiFi-GAN (XttsArgs has no knob for its width); the speaker encoder stays full size
    model.hifigan_decoder = HifiDecoder(decoder_input_dim=64, upsample_initial_channel_decoder=32,
                                        resblock_kernel_sizes_decoder=[3],
                                        resblock_dilation_sizes_decoder=[[1, 3, 5]])
    model.gpt.init_gpt_for_inference(kv_cache=True)
    model.eval()
    return XttsEngine(model, "random-xtts")


def tiny_vocab(path):
    """A character-level stand-in for XTTS' BPE vocab.json, with its special tokens."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    specials = ["[STOP]", "[UNK]", "[SPACE]", "[START]", *[f"[{code}]" for code in LANGS]]
    vocab = {tok: i for i, tok in enumerate(specials)}
    for ch in "abcdefghijklmnopqrstuvwxyzäöüßéèàç'.,;:!?-":
        vocab[ch] = len(vocab)
    bpe = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    bpe.add_special_tokens(specials)
    bpe.pre_tokenizer = pre_tokenizers.Split("", "isolated")  # one token per character
    bpe.save(str(path))
    return path


def tiny_config():
    from TTS.tts.configs.xtts_config import XttsArgs, XttsConfig

    args = XttsArgs(gpt_layers=1, gpt_n_model_channels=64, gpt_n_heads=2, gpt_use_perceiver_resampler=True,
                    gpt_num_audio_tokens=34, gpt_start_audio_token=32, gpt_stop_audio_token=33,
                    gpt_max_audio_tokens=24, gpt_max_text_tokens=120, decoder_input_dim=64)
    return XttsConfig(model_args=args, languages=list(LANGS), gpt_cond_len=6, gpt_cond_chunk_len=3)


@pytest.fixture(scope="session")
def speech_clip():
    """Real speech to clone: Piper joe saying two sentences (about 4 s at 22,050 Hz)."""
    s = tts.synthesize("The north wind and the sun were disputing which was the stronger. A traveller came along.")
    assert s.duration > 3.5
    return s.sample_rate, s.audio
