"""Which points the Embedding Explorer projects: curated word sets, frequent words, a word's
neighbourhood, a typed list, or a corpus of sentences. Each becomes a `PointSet`."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from core import config
from core.embeddings.wordvectors import WordVectors

# Curated sets whose structure shows up in a projection; the label colours each group.
WORD_SETS: dict[str, dict[str, list[str]]] = {
    "Family and royalty (gender direction)": {
        "male": ["king", "prince", "man", "boy", "father", "son", "uncle", "brother", "husband", "he"],
        "female": ["queen", "princess", "woman", "girl", "mother", "daughter", "aunt", "sister", "wife", "she"],
    },
    "Countries and capitals": {
        "country": ["france", "italy", "germany", "japan", "china", "russia", "spain", "egypt", "canada", "kenya"],
        "capital": ["paris", "rome", "berlin", "tokyo", "beijing", "moscow", "madrid", "cairo", "ottawa", "nairobi"],
    },
    "Animals, fruit, vehicles, colours": {
        "animal": ["dog", "cat", "horse", "cow", "lion", "tiger", "rabbit", "sheep", "wolf", "bear"],
        "fruit": ["apple", "banana", "orange", "grape", "mango", "pear", "cherry", "peach", "lemon", "plum"],
        "vehicle": ["car", "truck", "bus", "train", "bicycle", "motorcycle", "plane", "boat", "ship", "taxi"],
        "colour": ["red", "blue", "green", "yellow", "purple", "pink", "brown", "black", "white", "grey"],
    },
    "Verb tenses": {
        "present": ["walk", "swim", "run", "eat", "write", "speak", "drive", "sing", "fly", "go"],
        "past": ["walked", "swam", "ran", "ate", "wrote", "spoke", "drove", "sang", "flew", "went"],
        "-ing": ["walking", "swimming", "running", "eating", "writing", "speaking", "driving", "singing",
                 "flying", "going"],
    },
    "Numbers, days, months": {
        "number": ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"],
        "day": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
        "month": ["january", "february", "march", "april", "may", "june", "july", "august", "september",
                  "october", "november", "december"],
    },
}


@dataclass(frozen=True)
class PointSet:
    texts: list[str]
    vectors: np.ndarray  # float32 [N, D], unit length
    labels: list[str] | None
    description: str
    skipped: tuple[str, ...] = ()


def from_word_set(wv: WordVectors, name: str) -> PointSet:
    if name not in WORD_SETS:
        raise ValueError(f"Unknown word set {name!r}; choose one of: {', '.join(WORD_SETS)}")
    texts, labels = [], []
    for label, words in WORD_SETS[name].items():
        for w in words:
            if w in wv.row:
                texts.append(w)
                labels.append(label)
    return PointSet(texts, wv.vectors[[wv.row[w] for w in texts]], labels, f"word set '{name}'")


def split_words(text: str) -> list[str]:
    return [w for w in re.split(r"[,\s;]+", text or "") if w]


def from_word_list(wv: WordVectors, text: str) -> PointSet:
    """Words typed by the user (commas, spaces or new lines between them). Unknown words are listed."""
    if len(text or "") > config.MAX_CORPUS_CHARS:
        raise ValueError(f"The word list is {len(text):,} characters; the limit is {config.MAX_CORPUS_CHARS:,}.")
    words = split_words(text)
    if not words:
        raise ValueError("Type some words to project, separated by commas or spaces.")
    known, unknown = wv.rows_for(words)
    if not known:
        raise ValueError(f"None of these words is in the vocabulary: {', '.join(unknown[:10])}.")
    return PointSet(known, wv.vectors[[wv.row[w] for w in known]], None,
                    f"{len(known)} typed words", tuple(unknown))


def frequent_words(wv: WordVectors, n: int, skip_punctuation: bool = True) -> PointSet:
    """The n most frequent words (GloVe rows are in frequency order), punctuation left out."""
    n = int(n)
    if n < config.MIN_PROJECT_POINTS or n > config.MAX_PROJECT_POINTS:
        raise ValueError(f"Pick from {config.MIN_PROJECT_POINTS} to {config.MAX_PROJECT_POINTS:,} words.")
    rows, texts = [], []
    for i, w in enumerate(wv.words):
        if skip_punctuation and not any(c.isalpha() for c in w):
            continue
        rows.append(i)
        texts.append(w)
        if len(rows) == n:
            break
    return PointSet(texts, wv.vectors[rows], None, f"the {n:,} most frequent words")


def neighbourhood(wv: WordVectors, word: str, n: int = 40) -> PointSet:
    """A word and its n nearest neighbours."""
    word = wv.normalize_word(word)
    found = wv.neighbours(word, min(int(n), config.MAX_NEIGHBOURS))
    texts = [word] + [x.text for x in found]
    labels = ["query"] + ["neighbour"] * len(found)
    return PointSet(texts, wv.vectors[[wv.row[w] for w in texts]], labels, f"'{word}' and its {len(found)} neighbours")
