"""Live transcription: one `StreamingTranscriber` per browser session.

Life cycle: `insert_audio(chunk)` as the microphone delivers it, `process()` every step (0.5 s),
`finish()` when the speaker stops. Each step decodes the window of audio not yet safely committed
and the policy decides what is final. Its one promise: every word Whisper hears is committed
exactly once, in order; the tentative tail may change, committed text never does.

- **agreement**: a word is committed once two successive hypotheses agree on it (LocalAgreement-2);
  the rest of the newest hypothesis is the tentative tail, shown greyed and free to change;
- **pause**: when Silero VAD hears the speaker stop (PAUSE_SECONDS of silence after speech), the
  finished utterance is decoded once more, up to the end of the speech, and every word of it not
  yet committed is committed; the window keeps it as context for the next utterance;
- **silence**: a window with no speech in it is never decoded (no invented words, no compute);
- **trim**: past STREAM_TRIM_SECONDS the window is cut in the gap after a committed sentence end
  or pause (keeping MIN_WINDOW_SECONDS of context), so each decode costs about the same however
  long the class talks; past STREAM_MAX_BUFFER_SECONDS the oldest tentative words are committed first, so trimming never
  drops a word. Committed words before the window are passed to Whisper as a prompt, for context.

What is already committed is decided by time, not by text: a hypothesis word whose middle lies
before the end of the committed words (the "barrier") was committed already. Only right at the
barrier, where word timestamps jitter by a few tens of milliseconds, is a repeat of the committed
tail also recognised by its words, and only within the current utterance: after a pause, a
phrase said twice is written twice.

Decoding is greedy with no temperature fallback: a fallback re-decodes the window up to five
times and is the slow tail of other streaming systems. `NaiveStream` is the usual demo (re-decode
everything heard so far at every step), kept for comparison in bench/ and the tab.
"""
from __future__ import annotations

import functools
import re
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from core import config
from core.asr.whisper import DEFAULT_MODEL, DecodeOptions, check_request, transcribe
from core.audio import SAMPLE_RATE, rms_db

PAUSE_SECONDS = 0.5  # silence after speech that ends an utterance
VAD_LOOKBACK_SECONDS = 1.0  # earlier audio Silero VAD hears again with each new chunk (its edges are unsure)
PREROLL_SECONDS = 0.5  # audio kept before new speech while nothing is pending (a word's soft start)
PAUSE_TAIL_SECONDS = 0.1  # audio after VAD's (padded) speech end given to the utterance's final decode;
# more trailing silence makes Whisper invent a closing word ("Please.", "Thanks.")
MIN_WINDOW_SECONDS = 4.0  # a trim leaves this much audio: context (Whisper loops and mishears on tiny windows)
LONG_SILENCE_SECONDS = 2.0  # silence after which the old context is dropped from the window
SAME_START_SECONDS = 0.05  # a word starting this close to a committed one, before the barrier, is that word
# heard again, however it is spelt this time (committed "clothes" 6.34-6.58, then "clubs." 6.35-7.23)
DUPLICATE_GAP_SECONDS = 1.0  # a repeat of the committed tail starting this close to the barrier is one
SPEECH_PAD_SECONDS = 0.1  # a word within this of a VAD speech span belongs to it
PROMPT_CHARS = 200  # committed text handed to Whisper as context
TOKENS_PER_SECOND = 8  # decode budget per second of window (speech needs about half)
# Agreement never commits a word ending this close to the newest audio: the chunk edge may have cut
# it ("amiable" heard as "am you" twice in a row when the edge fell inside the word).
EDGE_SECONDS = 0.3
# ... nor a word Whisper itself doubts in either hypothesis: a word cut by the window edge is often
# misheard the same way twice (p 0.2 for "am" of "am you"); it waits for surer audio or the
# utterance's final decode, which hears the whole word.
MIN_AGREED_PROBABILITY = 0.3
# Whisper often ends a decode early when speech runs right up to the end of its input ("seven of
# clubs" decoded as "seven", "five five" as "five"). An utterance's final decode that leaves more
# than this much of VAD's speech unheard is done again with the pause after it.
UNHEARD_SECONDS = 0.3
# ... and so is one that writes under half the words of the last hypothesis, when that held at least
# this many: fewer, and the hypothesis may be one invented word or a cut-off half word.
MIN_TENTATIVE_WORDS_CHECKED = 4
RETRY_TAIL_SECONDS = 1.0  # the pause after the speech that the second decode hears (at most)
# Words at the very end of a hypothesis that Whisper could not place in the audio (timed under
# ARTEFACT_SECONDS) or that it doubts (probability under ARTEFACT_PROBABILITY) are what it invents
# where its input ends: "I'll see you next time." stacked at one instant, "Just.", "I'm", "Thanks."
# (probability 0.01-0.02). Whisper's own hallucination check scores words by the same two signs
# (probability under 0.15, duration under 0.133 s). A real word dropped this way is not lost: the
# barrier stays before it (see _close) and it is heard again, no longer last, with what follows.
ARTEFACT_SECONDS = 0.07
ARTEFACT_PROBABILITY = 0.15
LOOP_WORD_SECONDS = 0.15  # a copy in a greedy loop whose words are shorter than this was not spoken
# Whisper places the words it writes past what it heard at one instant: this many words in a row
# within STACK_WORDS * ARTEFACT_SECONDS (14 words a second; fast speech is 5-6) were not spoken.
STACK_WORDS = 3
STREAM_OPTIONS = DecodeOptions(beam_size=1, fallback=False, vad=False, condition_on_previous_text=False)


@dataclass(frozen=True)
class StreamWord:
    start: float  # seconds since the stream began
    end: float
    text: str  # with Whisper's leading space
    probability: float = 1.0  # Whisper's confidence in the word

    @property
    def middle(self) -> float:
        return (self.start + self.end) / 2


@dataclass(frozen=True)
class PolicyEvent:
    at: float  # stream seconds (audio received) when it happened
    kind: str  # commit, pause, skip, trim, finish
    detail: str


@dataclass(frozen=True)
class StreamState:
    """What the UI shows after a step. Times are seconds of audio since the stream began."""

    committed: str  # all final text so far
    tentative: str  # the newest hypothesis beyond it (may still change)
    new_committed: str  # what this step made final
    window: tuple[float, float]  # the audio the last decode saw
    received: float  # audio received so far
    lag: float  # seconds the final text trails the audio received (0 when caught up)
    hypotheses: tuple[tuple[float, str], ...]  # last few (time, hypothesis) pairs, newest last
    events: tuple[PolicyEvent, ...]  # the policy's recent decisions, newest last
    step_compute: float  # seconds this step's decode took (0 when skipped)
    total_compute: float
    level_db: float  # loudness of the newest audio, dBFS
    speech: bool  # VAD heard speech in the newest audio
    decoded: bool  # this step ran Whisper

    def to_dict(self) -> dict:
        return {"committed": self.committed, "tentative": self.tentative, "new_committed": self.new_committed,
                "window": [round(x, 2) for x in self.window], "received": round(self.received, 2),
                "lag": round(self.lag, 2), "step_compute": round(self.step_compute, 3),
                "total_compute": round(self.total_compute, 3), "level_db": round(self.level_db, 1),
                "speech": self.speech, "decoded": self.decoded,
                "hypotheses": [{"at": round(t, 2), "text": h} for t, h in self.hypotheses],
                "events": [{"at": round(e.at, 2), "kind": e.kind, "detail": e.detail} for e in self.events]}


def _key(word: str) -> str:
    """Words compare without case, punctuation or British spelling: "Dashwood," agrees with
    "dashwood", and "centre" with "center" (tiny.en writes both for the same sound, one decode
    apart; as two spellings they were committed twice)."""
    key = re.sub(r"[^\w']+", "", word.lower())
    return _spellings().get(key, key)


@functools.cache
def _spellings() -> dict[str, str]:
    """British -> American spellings: the table Whisper's English normalizer uses for WER, read from
    openai-whisper's files without importing the package (that imports torch: 2.8 s, which the first
    live step would pay)."""
    import importlib.util
    import json
    from pathlib import Path

    spec = importlib.util.find_spec("whisper")
    table = Path(spec.origin).parent / "normalizers" / "english.json" if spec and spec.origin else None
    if not table or not table.is_file():
        raise RuntimeError("openai-whisper's spelling table (whisper/normalizers/english.json) is missing; "
                           "reinstall the pinned packages: bash scripts/setup.sh")
    return json.loads(table.read_text())


def _text(words: list[StreamWord]) -> str:
    return "".join(w.text for w in words).strip()


def _looks_looped(text: str) -> bool:
    """Whisper's own test for a degenerate decode: text that compresses too well repeats itself."""
    import zlib

    raw = text.strip().encode("utf-8")
    return len(raw) > 24 and len(raw) / len(zlib.compress(raw)) > 2.4


def _cut_loop(words: list[StreamWord]) -> list[StreamWord]:
    """Cut a greedy decoding loop: keep one copy of a phrase of 3 or more words said twice in a row,
    or of 1-2 words said three times in a row ("no, no" and "very, very" are speech), drop the rest.
    (A loop can be long: "eight of spades four of clubs seven of hearts" came out twice.) Copies of
    1-2 words that each take LOOP_WORD_SECONDS or more are speech ("five five five"); the loop
    starts at the first copy squeezed into less."""
    keys = [_key(w.text) for w in words]
    for i in range(len(keys)):
        for n in range(1, (len(keys) - i) // 2 + 1):
            copies = 2 if n >= 3 else 3
            if i + copies * n <= len(keys) and all(keys[i:i + n] == keys[i + k * n:i + (k + 1) * n]
                                                   for k in range(1, copies)):
                # Short words said again and again are speech when each copy takes time ("five five",
                # then "five five five..." stacked at the end of the input): the loop starts at the
                # first copy squeezed into no time. (Longer phrases keep one copy, as before.)
                end = i + n
                while n <= 2 and end + n <= len(keys) and keys[end:end + n] == keys[i:i + n] and all(
                        w.end - w.start >= LOOP_WORD_SECONDS for w in words[end:end + n]):
                    end += n
                if end - i < copies * n:  # else every copy took time: speech, not a loop
                    return words[:end]
    return words


def _cut_stack(words: list[StreamWord]) -> list[StreamWord]:
    """Cut a hypothesis where Whisper stacked words at one instant (STACK_WORDS of them within
    STACK_WORDS * ARTEFACT_SECONDS): it could not place them in the audio, so it wrote them from
    what it had written before, not from what it heard, and its times for anything after them are
    no better. Held-out Piper at 0.3 and 0.5 s steps: the pause's final decode of "... She starts
    her shift at six in the morning." went on with "She starts her shift at six" all at 6.88 s and
    "in" 6.88-7.08 s in the silence after, and the copy was committed (no repeat of the words just
    before it, so neither the loop nor the echo check saw it). A real word cut here is not lost:
    the barrier stays before it and it is heard again with what follows."""
    for i in range(len(words) - STACK_WORDS + 1):
        if words[i + STACK_WORDS - 1].end - words[i].start < STACK_WORDS * ARTEFACT_SECONDS:
            return words[:i]
    return words


def _drop_invented_repeat(words: list[StreamWord]) -> list[StreamWord]:
    """Drop a copy of 1-2 words written again right after themselves that Whisper invented, not the
    speaker. Two signs, each seen on its own:
    - a word of the copy takes no time (under ARTEFACT_SECONDS): "left. Side left." with the second
      "Side" 0 s long, on a real speaker; or every word of it is hurried, under LOOP_WORD_SECONDS and
      under a quarter of its first copy's time: "Gate twenty three" in noise came out "823 823",
      the second "823" 0.12 s long after 1.96 s for the first, and was committed twice;
    - a pause (PAUSE_SECONDS or more) comes before the copy and Whisper doubts every word of it
      (under MIN_AGREED_PROBABILITY): after "612." and 2 s of silence a synthetic voice said "Set a
      timer", and the decoder, primed by the number, wrote "612." again (p 0.08-0.27 over the
      decodes of four step sizes).
    A spoken repeat takes time, and said right after the first it may well be doubted ("five five":
    the second "5" at p 0.12-0.25 in many decodes, with no gap): only after a pause does doubt count."""
    keys = [_key(w.text) for w in words]
    for i in range(len(words)):
        for n in (1, 2):
            copy = words[i + n:i + 2 * n]
            if len(copy) < n or keys[i:i + n] != keys[i + n:i + 2 * n]:
                continue
            squeezed = any(w.end - w.start < ARTEFACT_SECONDS for w in copy) or all(
                c.end - c.start < LOOP_WORD_SECONDS and c.end - c.start < (o.end - o.start) / 4
                for c, o in zip(copy, words[i:i + n]))
            doubted_after_pause = copy[0].start - words[i + n - 1].end >= PAUSE_SECONDS and all(
                w.probability < MIN_AGREED_PROBABILITY for w in copy)
            if squeezed or doubted_after_pause:
                return words[:i + n] + _drop_invented_repeat(words[i + 2 * n:])
    return words


def _drop_artefact_tail(words: list[StreamWord]) -> list[StreamWord]:
    """Drop the words at the end of a hypothesis that Whisper invented where its input ends (see
    ARTEFACT_SECONDS): no duration, or a probability under ARTEFACT_PROBABILITY."""
    n = len(words)
    while n and (words[n - 1].end - words[n - 1].start < ARTEFACT_SECONDS
                 or words[n - 1].probability < ARTEFACT_PROBABILITY):
        n -= 1
    return words[:n]


def _drop_number_echo(words: list[StreamWord]) -> list[StreamWord]:
    """Whisper sometimes writes the last spoken digit twice, once inside the number and once alone
    right after it ("29340. zero.", "105. 5."); the lone copy goes (see _number_tail)."""
    out: list[StreamWord] = []
    for w in words:
        if out and w.start - out[-1].end < 0.3 and _number_tail(_key(out[-1].text), w.text):
            continue
        out.append(w)
    return out


_NUMBER_WORDS = frozenset(
    "zero oh one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million "
    "billion".split())


def _is_number(word: StreamWord) -> bool:
    key = _key(word.text)
    return key in _NUMBER_WORDS or any(c.isdigit() for c in key)


def close_number(words: list[StreamWord], n: int) -> int:
    """How many of the first `n` agreed words may be committed when the rest may still change: agreement
    never ends on a number, or on the "and"/"point" after one. Whisper writes a spoken number as one
    token once it has heard all of it, so a number at the end of what has been said so far can still
    grow: "one hundred" was agreed as "100", then "and five" was spoken and the next decode wrote
    "105", and the stream read "100 105". The number is committed with the word after it, or at the
    pause."""
    while n and (_is_number(words[n - 1]) or (
            n >= 2 and _key(words[n - 1].text) in ("and", "point") and _is_number(words[n - 2]))):
        n -= 1
    return n


def agreed_words(new: list[StreamWord], previous: list[StreamWord], older: list[StreamWord],
                 mid_utterance: bool) -> int:
    """How many leading words of `new` (the words not cut by the chunk edge) may be committed:
    LocalAgreement-2 with `previous`, stopping before a word Whisper doubts (MIN_AGREED_PROBABILITY)
    in either, and not ending on a number that may still grow (close_number). A doubted word is
    committed once a third hypothesis in a row, `older`, agrees with both up to it: three decodes,
    each on more audio, wrote the same. Before that a doubted word waited for the pause, and every
    word after it with it (p90 commit latency over 2 s on 8 of 26 held-out and grid streams at
    0.5 s steps; 6 with this, WER lower in 7 of 78 cells, higher in 2). Not at an utterance's
    first word (`mid_utterance` False): with no audio before it Whisper's first words come and
    go (a clip's opening "And" appeared, vanished and came back from one decode to the next, and
    the doubted "Mr." after it was agreed three times without it); there it waits for the pause."""
    n = agreed_prefix(previous, new)
    thrice = agreed_prefix(older, new) if mid_utterance else 0
    for i in range(n):
        if min(new[i].probability, previous[i].probability) < MIN_AGREED_PROBABILITY and i >= thrice:
            n = i
            break
    return close_number(new, n)


def agreed_prefix(previous: list[StreamWord], new: list[StreamWord]) -> int:
    """LocalAgreement-2: how many leading words two successive hypotheses share."""
    n = 0
    for a, b in zip(previous, new):
        if _key(a.text) != _key(b.text):
            break
        n += 1
    return n


def uncommitted(words: list[StreamWord], barrier: float, tail: list[StreamWord],
                committed: list[StreamWord] = ()) -> list[StreamWord]:
    """The part of a hypothesis not yet committed.

    `barrier`: stream time up to which everything heard is committed; a word whose middle lies
    before it is an old word heard again. Word times jitter (Whisper often stretches the last word
    before a pause into the silence), so a leading word that overlaps or touches in time (within
    SAME_START_SECONDS) a committed word with the same spelling is old too ("98766." committed at
    23.71-24.21 s, heard again at 24.22-24.74 and committed twice), and so is one that starts where
    a committed word starts (spelt another way this time), unless the hypothesis has that word right
    before it (`_heard_before`). `tail`: the committed words of the current utterance; a repeat of
    them that starts just after the barrier is recognised by its words, but only there: the same
    words later in time, or after a pause, are new speech. `committed`: the committed words that
    the decoded window covers.
    """
    rest = [w for w in words if w.middle >= barrier]
    if words[len(words) - len(rest):] == rest:  # the old words are a prefix (word times are ordered)
        rest = _timed_over(words[:len(words) - len(rest)], committed) + rest
    while rest and rest[0].start < barrier and any(
            _same_word(c, rest[0], slack=SAME_START_SECONDS)
            or (abs(c.start - rest[0].start) < SAME_START_SECONDS and not _heard_before(c, rest[0], words))
            for c in committed):
        rest = rest[1:]
    keys = [_key(w.text) for w in rest]
    old = [_key(w.text) for w in tail[-5:]]
    before = [_key(w.text) for w in words[:len(words) - len(rest)]]
    for n in range(min(len(old), len(rest)), 0, -1):
        # ... unless the hypothesis itself has those words right before the barrier too, and each
        # copy after it takes time: then it says them twice ("five five"), and so did the speaker.
        # A copy squeezed into no time is Whisper repeating itself ("Side, left. Side, left." with
        # the second "Side" 0 s long, on a real speaker).
        said_twice = before[-n:] == keys[:n] and all(w.end - w.start >= LOOP_WORD_SECONDS for w in rest[:n])
        if keys[:n] == old[-n:] and rest[0].start < barrier + DUPLICATE_GAP_SECONDS and not said_twice:
            return rest[n:]
    if rest and committed and rest[0].start < barrier + DUPLICATE_GAP_SECONDS \
            and _number_tail(_key(committed[-1].text), rest[0].text):
        return rest[1:]
    return rest


def _timed_over(before: list[StreamWord], committed: list[StreamWord]) -> list[StreamWord]:
    """The words of `before` (a hypothesis's words whose middles lie before the barrier) that come
    after its own copy of the last committed word and start inside that word's committed time: the
    committed word was timed over them, so the barrier, its end, cuts them off although they were
    never committed. Piper at 1.35x speed: "the" committed at 11.09-11.37 s, the next decode heard
    "the" 11.09-11.23 and "first" 11.23-11.46, and "first", its middle before the barrier, was
    dropped as old ("Please read the chapter again"). Only words after the last committed word, by
    spelling and time, are taken back, so nothing committed is heard twice."""
    if not committed or not before:
        return []
    last = committed[-1]
    for j in range(len(before) - 1, -1, -1):
        if _same_word(last, before[j]):
            return [x for x in before[j + 1:] if x.start < last.end]
    return []


def _heard_before(committed: StreamWord, heard: StreamWord, words: list[StreamWord]) -> bool:
    """The hypothesis `words` has `committed` (by spelling) right before `heard`: the committed
    word was heard again there, retimed, so `heard`, starting where it started, is the next word.
    Piper: "the" committed squeezed into 3.04-3.06 s, the next decode wrote "the" 2.50-3.04 and
    "children" 3.04-3.26, and "children" was dropped as "the" spelt another way."""
    i = next((i for i, w in enumerate(words) if w is heard), 0)
    return i > 0 and _key(words[i - 1].text) == _key(committed.text)


def _same_word(committed: StreamWord, heard: StreamWord, slack: float = 0.0) -> bool:
    """`heard` is `committed` heard again: the same spelling, and overlapping it in time (or starting
    within `slack` seconds after its end)."""
    return _key(committed.text) == _key(heard.text) and committed.start < heard.end \
        and heard.start < committed.end + slack


def _number_tail(committed: str, new: str) -> bool:
    """Whisper writes spoken digits as one number ("two nine three four zero" -> "29340") whose
    timestamp can end before the last digit is spoken; the next decode then writes that digit again
    on its own ("29340 zero", "105. 5."). True when `new` (the word as Whisper wrote it) is the end
    of the committed number (its key). A word joined to the number, with no space before it, or
    one that starts with a decimal point, is the rest of the number and not a copy: "15" ".5." is
    15.5, "fifteen point five", whose ".5" had gone as an echo of the 5 of 15."""
    if len(committed) < 2 or not committed.isdigit() or not new[:1].isspace() or new.lstrip()[:1] in ".,":
        return False
    from core.asr.whisper import normalize

    digits = "".join(normalize(new).split())
    return digits.isdigit() and len(digits) < len(committed) and committed.endswith(digits)


def _speech_spans(audio: np.ndarray) -> list[tuple[float, float]]:
    """Silero VAD speech spans in seconds, tuned for short live chunks (not for whole files)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    if audio.size < SAMPLE_RATE // 10:
        return []
    opts = VadOptions(threshold=0.5, min_speech_duration_ms=100, min_silence_duration_ms=200, speech_pad_ms=100)
    return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE)
            for s in get_speech_timestamps(audio, opts, sampling_rate=SAMPLE_RATE)]


class StreamingTranscriber:
    """Streaming ASR over `core.asr.whisper.transcribe`, one per user session (not thread-safe itself;
    many instances share one loaded model). Audio: float32 mono 16 kHz."""

    def __init__(self, model: str = DEFAULT_MODEL, backend: str = "faster-whisper", language: str | None = None,
                 trim_seconds: float | None = None, max_buffer_seconds: float | None = None,
                 pause_seconds: float = PAUSE_SECONDS, use_vad: bool = True, keep_events: int = 12) -> None:
        self.language = check_request(model, backend, language, "transcribe")
        self.model, self.backend = model, backend
        self.trim_seconds = trim_seconds or config.STREAM_TRIM_SECONDS
        self.max_buffer_seconds = max(max_buffer_seconds or config.STREAM_MAX_BUFFER_SECONDS, self.trim_seconds)
        if self.max_buffer_seconds > 28:
            raise ValueError("the streaming window must stay under Whisper's 30-second input; "
                             "set NLP_STUDIO_STREAM_MAX_BUFFER_SECONDS to 28 or less")
        self.pause_seconds, self.use_vad = pause_seconds, use_vad
        self._buffer = np.zeros(0, np.float32)
        self._offset = 0.0  # stream time of _buffer[0]
        self._received = 0.0
        self._decoded_until = 0.0  # audio the VAD (and the step) has looked at
        self._last_decode_end = 0.0  # audio the newest hypothesis saw
        self._committed: list[StreamWord] = []
        self._tentative: list[StreamWord] = []
        # The hypothesis before the tentative one, past what was committed when it was replaced, and
        # how many words were committed then (a commit since, at a pause or a trim, makes it stale).
        self._older: tuple[int, list[StreamWord]] = (-1, [])
        self._barrier = 0.0  # everything heard before this stream time is committed
        self._last_speech_end = -1.0  # stream time VAD last heard speech end
        self._spans: list[tuple[float, float]] = []  # VAD speech spans inside the window, stream times
        self._looped = False  # the newest decode was cut as a greedy loop or stack
        self._pending = False  # speech heard after the barrier (an utterance not yet closed)
        self._utterance_from = 0  # index of the current utterance's first committed word
        self._hypotheses: deque[tuple[float, str]] = deque(maxlen=4)
        self._events: deque[PolicyEvent] = deque(maxlen=keep_events)
        self._total_compute = 0.0
        self._last_level = -100.0
        self._last_speech = False
        self._finished = False

    # --- life cycle ------------------------------------------------------------------------

    def insert_audio(self, chunk: np.ndarray) -> None:
        """Append float32 mono 16 kHz samples [n]."""
        if self._finished:
            raise ValueError("this stream has finished; press Clear (or start a new stream) to record again")
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        if self._received + chunk.size / SAMPLE_RATE > config.STREAM_MAX_SESSION_SECONDS:
            raise ValueError(f"a live stream is limited to {config.STREAM_MAX_SESSION_SECONDS // 60} minutes "
                             "(NLP_STUDIO_STREAM_MAX_SESSION_SECONDS); press Clear to start a new one")
        self._buffer = np.concatenate([self._buffer, chunk])
        self._received += chunk.size / SAMPLE_RATE
        self._last_level = rms_db(chunk[-SAMPLE_RATE // 2:])

    def process(self) -> StreamState:
        """One step: listen for speech in the new audio, decode the window, apply the policy."""
        if self._received - self._decoded_until < 0.05:
            return self._state("", 0.0, decoded=False)
        self._listen()
        if not self._pending:
            return self._skip()
        if self.use_vad and self._received - self._last_speech_end >= self.pause_seconds:
            return self._close("pause")
        t0 = time.perf_counter()
        self._catch_up(self._received)
        words = self._decode(self._received)
        compute = time.perf_counter() - t0
        if words is None:  # a decoding loop: nothing to agree with, wait for more audio
            return self._state("", compute, decoded=True)
        settled = len(words)
        while settled and words[settled - 1].end > self._received - EDGE_SECONDS:
            settled -= 1
        at, older = self._older
        agreed = agreed_words(words[:settled], self._tentative, older if at == len(self._committed) else [],
                              mid_utterance=len(self._committed) > self._utterance_from)
        new = self._commit(words[:agreed], "commit", "agreement: the last hypotheses start with the same words")
        self._older = (len(self._committed), self._tentative[agreed:])
        self._tentative = words[agreed:]
        self._trim()
        return self._state(_text(new), compute, decoded=True)

    def finish(self) -> StreamState:
        """The speaker stopped: decode what is left once and commit the words not yet committed."""
        if self._finished:
            return self._state("", 0.0, decoded=False)
        if self._received - self._decoded_until >= 0.01:
            self._listen()
        if self._pending:
            st = self._close("finish")
        elif self._held():
            st = self._hear_held("finish")
        else:
            st = self._state("", 0.0, decoded=False)
            self._event("finish", "end of stream: nothing left to commit")
        self._finished = True
        return self._state(st.new_committed, st.step_compute, decoded=st.decoded)

    # --- policy pieces -----------------------------------------------------------------------

    def _listen(self) -> None:
        """Run Silero VAD over the new audio (and a little before it: its edges are unsure)."""
        new_from = self._decoded_until
        self._decoded_until = self._received
        if not self.use_vad:
            self._pending = self._last_speech = True
            self._last_speech_end = self._received
            return
        start = max(self._offset, new_from - VAD_LOOKBACK_SECONDS)
        spans = [(start + a, start + b) for a, b in _speech_spans(self._slice(start, self._received))]
        # The newest look at the lookback region replaces the older one (VAD is surer with more audio).
        self._spans = [(a, min(b, start)) for a, b in self._spans if a < start and b > self._offset - 1.0] + spans
        spans = [(a, b) for a, b in spans if b > self._barrier]
        self._last_speech = any(b > new_from for _, b in spans)
        if spans:
            end = spans[-1][1]
            # Speech running into the end of the audio has not ended yet.
            self._last_speech_end = max(self._last_speech_end,
                                        self._received if self._received - end < 0.05 else end)
            self._pending = True

    def _close(self, kind: str) -> StreamState:
        """The utterance is over (a pause, or the end of the stream): decode the window once more, up
        to the end of the speech, and commit every word of it not yet committed."""
        compute, decoded = 0.0, False
        # Decode up to VAD's speech end only: trailing silence makes Whisper add a word ("Okay.").
        speech_end = min(self._received, self._last_speech_end + PAUSE_TAIL_SECONDS)
        # Always one fresh decode that ends with the speech: a hypothesis decoded while the silence
        # began often closes with an invented word ("And.").
        if self.use_vad or self._last_decode_end < self._received - 0.01:
            t0 = time.perf_counter()
            self._catch_up(speech_end)
            words = self._decode(speech_end)
            heard = self._heard_to(words)
            short = self._wrote_less(words)
            if self.use_vad and (self._last_speech_end - heard > UNHEARD_SECONDS or short):
                if self._received > speech_end + 0.05:
                    # Whisper stopped before the speech did: hear it again with the pause after it
                    # (words it puts in the silence are dropped by the VAD filter in _decode).
                    again, how = self._decode(min(self._received, self._last_speech_end + RETRY_TAIL_SECONDS,
                                                  self._offset + self.max_buffer_seconds + 0.5)), "the pause after it"
                else:
                    # The audio ends in speech (the stream stopped mid-word): there is no pause to add.
                    # Hear it as offline Whisper does, with the encoder's whole 30 s window; the short
                    # one stopped at "...notebook on" where the full one heard "the kitchen table".
                    again, how = self._decode(speech_end, short_window=False), "Whisper's full 30 s window"
                if short:
                    # Judged by words, not by time: the short decode may time its last word over the
                    # speech it left out ("The" 3.06-4.46 s over "old Waits, ...").
                    what = (f"the final decode wrote {len(words)} new words where the last hypothesis had "
                            f"{len(self._tentative)}")
                    if again is not None and not self._wrote_less(again):
                        self._event(kind, f"{what}; decoded again with {how}")
                        words = again
                    else:
                        self._event(kind, f"{what}, and so did a second decode with {how}; "
                                          "kept the last hypothesis")
                        words = self._tentative
                elif again is not None and self._heard_to(again) > heard:
                    self._event(kind, f"the final decode stopped {self._last_speech_end - heard:.1f} s "
                                      f"before the speech did; decoded again with {how}")
                    words = again
            heard = self._heard_to(words)
            if self.use_vad and self._looped and self._last_speech_end - heard > UNHEARD_SECONDS:
                # Still short, and the last decode was a greedy loop, cut (tiny.en, at the end of a
                # short window that held the sentence before: "...fishing boats. We walked along the
                # harbor and counted the fishing boats. We walked...", the real last words timed on
                # the loop's copy and cut with it; nothing followed, and "boats" was lost). The
                # encoder's whole 30 s window ends the text where the speech does. Only here: as the
                # first choice it misheard words the short window had right ("clubs" as "cloves").
                again = self._decode(speech_end, short_window=False)
                if again is not None and not self._looped and self._heard_to(again) > heard:
                    self._event(kind, f"the final decode looped and stopped {self._last_speech_end - heard:.1f} s "
                                      "before the speech did; decoded again with Whisper's full 30 s window")
                    words = again
            compute, decoded = time.perf_counter() - t0, True
            if words is None:  # the final decode looped: the newest sane hypothesis is all there is
                words = self._tentative
        else:
            words = self._tentative
        if kind == "pause":
            why = f"pause: {self._received - self._last_speech_end:.1f} s of silence ended the utterance"
        else:
            why = "end of stream: the rest of the utterance"
        new = self._commit(words, kind, why)
        if not new:
            self._event(kind, f"{why}; every word of it was already committed")
        self._tentative = []
        self._pending = False
        held = False
        if self.use_vad:
            # Everything heard up to the silence is committed. The window keeps that audio as context
            # for the next utterance (a short window alone makes Whisper loop and invent words).
            # The barrier never moves back: a word once committed stays behind it. It moves to the end
            # of the speech only when the words reach it: speech Whisper has not written down yet stays
            # in front of the barrier, to be heard with the next utterance rather than dropped.
            heard = self._heard_to(None)
            end = self._last_speech_end if self._last_speech_end - heard <= UNHEARD_SECONDS else heard
            held = end < self._last_speech_end
            if held and kind == "finish":
                # Nothing follows the end of the stream: say so rather than promise another decode.
                self._unwritten_at_end(self._last_speech_end - heard)
            elif held:
                self._event(kind, f"{self._last_speech_end - heard:.1f} s of speech not written down yet; "
                                  "it is decoded again with what follows")
            self._barrier = max(self._barrier, min(end, self._received - PREROLL_SECONDS))
            self._trim()
        if not held:
            # A phrase said again after a pause is new speech. But while the barrier is held back, the
            # next decode hears the end of this utterance again, and Whisper may write its last words
            # once more with times shifted past the barrier ("front, right." committed twice on a real
            # speaker): this utterance stays the tail that such an echo is matched against.
            self._utterance_from = len(self._committed)
        return self._state(_text(new), compute, decoded=decoded)

    def _held(self) -> bool:
        """The last utterance closed with speech in front of the barrier that Whisper had not written
        down (see _close), still in the window."""
        return self.use_vad and self._last_speech_end - self._heard_to(None) > UNHEARD_SECONDS \
            and self._last_speech_end > self._offset

    def _hear_held(self, kind: str) -> StreamState:
        """Speech held in front of the barrier waits to be heard with the next utterance; when none
        comes (the stream ends, or a long silence is about to drop the old audio) it is decoded once
        more, as offline Whisper hears it, with the encoder's whole 30 s window and the pause after
        it (Whisper's word ends run past VAD's; words it puts in the silence are dropped by the VAD
        filter in _decode), and what that writes is committed. Else it was lost without a word: the
        pause's final decode of "Gate twenty three" in noise ended 0.3 s early, nothing followed, and
        finish() had nothing pending."""
        t0 = time.perf_counter()
        unheard = self._last_speech_end - self._heard_to(None)
        words = self._decode(min(self._received, self._last_speech_end + RETRY_TAIL_SECONDS), short_window=False)
        new = self._commit(words or [], kind, f"{unheard:.1f} s of speech held for the next utterance, and none "
                                              "came: decoded again with Whisper's full 30 s window")
        left = self._last_speech_end - self._heard_to(None)
        if left > UNHEARD_SECONDS and kind == "finish":
            self._unwritten_at_end(left)
        elif not new:
            self._event(kind, f"{unheard:.1f} s of speech held for the next utterance, and none came: decoded "
                              "again with Whisper's full 30 s window, which wrote nothing more")
        self._barrier = max(self._barrier, self._last_speech_end)
        self._utterance_from = len(self._committed)
        self._tentative = []
        return self._state(_text(new), time.perf_counter() - t0, decoded=True)

    def _unwritten_at_end(self, seconds: float) -> None:
        self._event("finish", f"the last {seconds:.1f} s of speech were not written down: Whisper gave no sure "
                              "words for them (the audio may stop too close to the speech; leave a moment of "
                              "silence before Stop)")

    def _wrote_less(self, words: list[StreamWord] | None) -> bool:
        """An utterance's final decode that writes under half the words the last hypothesis held
        beyond what was committed (which it also heard, with less audio) lost speech, whatever its
        timestamps say: Whisper stopped at "The old Wai" of a 20-word sentence it had just written."""
        return words is not None and len(self._tentative) >= MIN_TENTATIVE_WORDS_CHECKED \
            and len(words) < len(self._tentative) / 2

    def _heard_to(self, words: list[StreamWord] | None) -> float:
        """Stream time up to which words are written down: the committed ones and `words`."""
        return max([w.end for w in words or ()] + [self._barrier, self._offset])

    def _commit(self, words: list[StreamWord], kind: str, why: str) -> list[StreamWord]:
        if words:
            self._committed.extend(words)
            self._barrier = max(self._barrier, words[-1].end)
            self._event(kind, f"{why} -> \"{_text(words)}\"")
        return words

    def _slice(self, start: float, end: float) -> np.ndarray:
        a = int(round((start - self._offset) * SAMPLE_RATE))
        b = int(round((end - self._offset) * SAMPLE_RATE))
        return self._buffer[max(a, 0):max(b, 0)]

    def _skip(self) -> StreamState:
        # Nothing is pending. After a long silence the old context goes; keep a little audio so a word
        # starting right at the chunk edge isn't cut.
        if self._received - max(self._last_speech_end, self._offset) > LONG_SILENCE_SECONDS:
            if self._held():
                return self._hear_held("pause")
            self._cut(self._received - PREROLL_SECONDS)
            self._barrier = max(self._barrier, self._offset)
        self._event("skip", "silence: no speech in the window, nothing decoded", dedupe=True)
        return self._state("", 0.0, decoded=False)

    def _decode(self, until: float, short_window: bool = True) -> list[StreamWord] | None:
        """Decode the window up to `until` (stream seconds); returns the words not yet committed, or
        None when the decode looped (a degenerate hypothesis is not evidence of anything).
        `short_window`: the encoder sees only the window's audio (3x cheaper), not 30 s of padding."""
        audio = self._slice(self._offset, until)
        prompt = "".join(w.text for w in self._committed if w.end <= self._offset + 0.01)[-PROMPT_CHARS:].strip()
        seconds = audio.size / SAMPLE_RATE
        # Speech runs at about 3-4 tokens a second: a cap stops a greedy repetition loop early.
        budget = int(TOKENS_PER_SECOND * seconds) + 10
        cap = {"max_new_tokens": budget} if self.backend == "faster-whisper" else {"sample_len": budget}
        opts = DecodeOptions(beam_size=STREAM_OPTIONS.beam_size, fallback=False, vad=False,
                             condition_on_previous_text=False, initial_prompt=prompt or None,
                             short_window=short_window, extra=cap)
        t0 = time.perf_counter()
        result = transcribe(audio, self.model, self.backend, self.language, word_timestamps=True, options=opts)
        self._total_compute += time.perf_counter() - t0
        self._hypotheses.append((self._received, result.text.strip()))
        # Bare punctuation "words" and anything timed past the audio are decoding artefacts; a greedy
        # loop keeps its first copy, and a decode that is still degenerate after that is ignored.
        heard = [StreamWord(self._offset + w.start, self._offset + min(w.end, seconds), w.word, w.probability)
                 for w in result.words if w.start < seconds and _key(w.word)]
        cut = _cut_loop(_cut_stack(heard))
        self._looped = len(cut) < len(heard)
        words = _drop_artefact_tail(_drop_number_echo(_drop_invented_repeat(cut)))
        if _looks_looped(_text(words)):
            self._looped = True
            self._event("skip", "hypothesis repeats itself (a decoding loop): ignored, waiting for more audio")
            return None
        self._last_decode_end = until
        if self.use_vad:
            # Words Whisper puts wholly in silence (after the speech, or in a pause before the next
            # utterance) are invented: "Thank you.", "you", "Please.".
            words = [w for w in words if self._in_speech(w)]
        inside = [w for w in self._committed if w.end > self._offset]
        tail = [w for w in self._committed[self._utterance_from:] if w.end > self._offset]
        return uncommitted(words, self._barrier, tail, inside)

    def _catch_up(self, until: float) -> None:
        """After a stall (a slow machine, a long decode) more audio waits than one window holds.
        None of it is dropped: it is decoded a window at a time, each piece ending at a pause VAD
        heard (or, in unbroken speech, after the last whole word), and every word of a piece is
        committed before the next."""
        while until - self._offset > self.max_buffer_seconds + 0.5:
            limit = self._offset + self.max_buffer_seconds
            spans = [(a, b) for a, b in self._spans if b > self._offset]
            pauses = [b for (_, b), (a2, _) in zip(spans, spans[1:] + [(until, until)])
                      if self._offset + MIN_WINDOW_SECONDS <= b <= limit - PAUSE_TAIL_SECONDS and a2 > b]
            at_pause = bool(pauses)
            end = pauses[-1] + PAUSE_TAIL_SECONDS if at_pause else limit
            words = self._decode(end) or []
            if not at_pause:  # a word running into the piece's edge waits for the next piece
                words = [w for w in words if w.end <= end - EDGE_SECONDS]
            before = self._received - self._offset
            new = self._commit(words, "catch-up", f"behind by {until - self._offset:.1f} s: decoded "
                                                  f"{self._offset:.1f}-{end:.1f} s on its own")
            if at_pause:
                cut = end
                self._utterance_from = len(self._committed)
            elif new:
                cut = new[-1].end
            else:
                cut = end - EDGE_SECONDS  # nothing said there that Whisper could make out
            self._tentative = []
            self._cut(max(cut, self._offset + 1.0))  # always moves on
            self._barrier = max(self._barrier, self._offset)
            self._event("trim", f"caught up to {self._offset:.1f} s: window {before:.1f} s -> "
                                f"{self._received - self._offset:.1f} s, nothing dropped")

    def _in_speech(self, w: StreamWord) -> bool:
        """`w` lies in speech: in a VAD span (give or take SPEECH_PAD_SECONDS) or in a gap between two
        spans too short to be a pause. Whisper often times a word at the end of a clause with no
        length, in the breath after it: "coast," at 1.74-1.74 s, between spans ending at 1.6 s and
        starting at 1.95 s, was dropped as invented in silence, and lost."""
        pad = SPEECH_PAD_SECONDS
        if w.start >= self._last_speech_end:
            return False
        merged: list[list[float]] = []
        for a, b in self._spans:
            if merged and a - merged[-1][1] < self.pause_seconds:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        return any(w.start < b + pad and w.end > a - pad for a, b in merged)

    def _trim(self) -> None:
        """Keep each decode's cost bounded: past the trim length, cut the window in the gap after a
        committed sentence end or pause, keeping at least MIN_WINDOW_SECONDS of audio as context."""
        length = self._received - self._offset
        if length > self.max_buffer_seconds:
            self._force_trim(self._received - self.trim_seconds)
            return
        if length <= self.trim_seconds:
            return
        best = None
        for i, w in enumerate(self._committed):
            if w.end <= self._offset:
                continue
            nxt = self._committed[i + 1] if i + 1 < len(self._committed) else (self._tentative or [None])[0]
            gap_to = max(nxt.start, w.end) if nxt is not None else min(self._received, w.end + 0.3)
            boundary = w.text.rstrip().endswith((".", "?", "!")) or gap_to - w.end >= 0.3
            cut = (w.end + gap_to) / 2
            if boundary and self._received - cut >= MIN_WINDOW_SECONDS:
                best = cut
        if best is None:
            return
        self._cut(best)
        self._event("trim", f"window passed {self.trim_seconds:.0f} s; cut after the last committed sentence "
                            f"or pause: window {length:.1f} s -> {self._received - self._offset:.1f} s")

    def _force_trim(self, target: float) -> None:
        """The window is at its maximum: commit the tentative words that end before `target` (they
        have waited a whole window) and cut in the first gap between committed words at or after
        `target`, so nothing is dropped and as much context as possible stays."""
        old = [w for w in self._tentative if w.end <= target]
        self._commit(old, "commit", "window at its maximum: committed the oldest tentative words")
        self._tentative = self._tentative[len(old):]
        before = self._received - self._offset
        inside = [w for w in self._committed if w.end > self._offset]
        if inside:
            # The gaps after committed words; the first at or past `target` keeps the most context
            # (cutting after the newest committed word instead left windows of 1 s after a pause, and
            # the next utterance was decoded with no audio before it: "old-sposed" for "ill-disposed").
            following = inside[1:] + self._tentative[:1]
            gaps = [(w.end + max(nxt.start, w.end)) / 2 for w, nxt in zip(inside, following)]
            if len(following) < len(inside):
                gaps.append(inside[-1].end)
            cut = next((g for g in gaps if g >= target), gaps[-1])
        else:
            cut = target  # nothing committed in the window (mumbling, music, a stalled machine)
        # Whatever happens the window must fit the model's input; every word before this is committed.
        self._cut(max(cut, self._received - self.max_buffer_seconds))
        self._barrier = max(self._barrier, self._offset)
        self._event("trim", f"window at its maximum; cut after a committed word: "
                            f"window {before:.1f} s -> {self._received - self._offset:.1f} s")

    def _cut(self, at: float) -> None:
        at = min(max(at, self._offset), self._received)
        drop = int(round((at - self._offset) * SAMPLE_RATE))
        self._buffer = self._buffer[drop:]
        self._offset += drop / SAMPLE_RATE
        self._tentative = [w for w in self._tentative if w.end > self._offset]

    def _event(self, kind: str, detail: str, dedupe: bool = False) -> None:
        if dedupe and self._events and self._events[-1].kind == kind:
            self._events.pop()  # one "skip" line for a run of silent steps
        self._events.append(PolicyEvent(self._received, kind, detail))

    def _state(self, new: str, compute: float, decoded: bool) -> StreamState:
        committed = _text(self._committed)
        tentative = _text(self._tentative)
        if self._tentative:
            lag = self._received - (self._committed[-1].end if self._committed else self._tentative[0].start)
        else:
            lag = 0.0
        return StreamState(committed, tentative, new.strip(), (self._offset, self._received), self._received,
                           max(0.0, lag) + compute, tuple(self._hypotheses), tuple(self._events), compute,
                           self._total_compute, self._last_level, self._last_speech, decoded)


class NaiveStream:
    """The usual demo: at every step, re-decode everything heard so far and show it all.
    Same decode settings as `StreamingTranscriber`, so only the policy differs. Its cost grows
    with the recording, and past 30 s Whisper would see only the first 30 s."""

    def __init__(self, model: str = DEFAULT_MODEL, backend: str = "faster-whisper", language: str | None = None):
        self.language = check_request(model, backend, language, "transcribe")
        self.model, self.backend = model, backend
        self._audio = np.zeros(0, np.float32)
        self.text = ""
        self.words: list[StreamWord] = []

    def insert_audio(self, chunk: np.ndarray) -> None:
        self._audio = np.concatenate([self._audio, np.asarray(chunk, np.float32).reshape(-1)])

    def process(self) -> list[StreamWord]:
        result = transcribe(self._audio, self.model, self.backend, self.language, word_timestamps=True,
                            options=DecodeOptions(beam_size=1, fallback=False, vad=False,
                                                  condition_on_previous_text=False))
        self.words = [StreamWord(w.start, w.end, w.word) for w in result.words]
        self.text = result.text
        return self.words

    finish = process


def transcribe_chunks(chunks: list[np.ndarray], model: str = DEFAULT_MODEL, backend: str = "faster-whisper",
                      language: str | None = None) -> StreamState:
    """Feed chunks (float32 mono 16 kHz each) through a fresh stream, one step per chunk, then
    finish: the non-streaming twin of the live microphone, for API clients and tests."""
    if len(chunks) > config.STREAM_MAX_CHUNKS:
        raise ValueError(f"at most {config.STREAM_MAX_CHUNKS} chunks per call (NLP_STUDIO_STREAM_MAX_CHUNKS)")
    stream = StreamingTranscriber(model, backend, language)
    for chunk in chunks:
        stream.insert_audio(chunk)
        stream.process()
    return stream.finish()


class BackgroundStream:
    """Runs a `StreamingTranscriber` on its own thread, so whoever delivers audio never waits.

    A browser sends its next microphone chunk only when the previous call returns; if that call
    decodes, audio recorded meanwhile can be lost. Here `feed()` only queues samples (microseconds)
    and a worker thread decodes whatever has arrived, one step at a time, as fast as the CPU allows.
    `latest()` is the newest state; `stop()` decodes the rest and returns the final state. The
    worker exits on its own after `idle_seconds` without audio (a closed browser tab).
    """

    def __init__(self, transcriber: StreamingTranscriber, step_seconds: float | None = None,
                 idle_seconds: float = 30.0) -> None:
        import threading

        self.transcriber = transcriber
        self.step = step_seconds or config.STREAM_STEP_SECONDS
        self.idle_seconds = idle_seconds
        self._inbox: list[np.ndarray] = []
        self._inbox_lock = threading.Lock()
        self._work_lock = threading.Lock()  # the transcriber is used by one thread at a time
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._latest: StreamState | None = None
        self._last_fed = time.monotonic()
        self.error: Exception | None = None
        self.steps = 0
        self.overruns = 0

    def feed(self, samples: np.ndarray) -> None:
        """Queue float32 mono 16 kHz samples; starts the worker on first use."""
        import threading

        if self.error is not None:
            raise self.error
        if self._stop.is_set():
            raise ValueError("this stream has stopped; press Clear (or record again) to start a new one")
        with self._inbox_lock:
            self._inbox.append(np.asarray(samples, np.float32).reshape(-1))
            self._last_fed = time.monotonic()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="whisper-stream", daemon=True)
                self._thread.start()
        self._wake.set()

    def latest(self) -> StreamState | None:
        return self._latest

    def _drain(self) -> bool:
        with self._inbox_lock:
            chunks, self._inbox = self._inbox, []
        for c in chunks:
            self.transcriber.insert_audio(c)
        return bool(chunks)

    def _run(self) -> None:
        next_step = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(timeout=self.step)
            self._wake.clear()
            now = time.monotonic()
            if now - self._last_fed > self.idle_seconds:
                return  # nobody is sending audio any more
            if now < next_step:
                time.sleep(next_step - now)  # at most one decode per step
            try:
                with self._work_lock:
                    if self._stop.is_set():
                        return
                    got = self._drain()
                    if not got and self._latest is not None:
                        continue
                    state = self.transcriber.process()
            except Exception as exc:  # noqa: BLE001 - handed to the caller on its next feed()
                self.error = exc
                return
            if state.decoded:
                self.steps += 1
                self.overruns += state.step_compute > self.step
            self._latest = state
            next_step = time.monotonic() + (0.0 if state.step_compute > self.step else
                                            self.step - state.step_compute)

    def stop(self) -> StreamState:
        """Stop the worker, decode what is left and commit it. Safe to call twice."""
        self._stop.set()
        self._wake.set()
        with self._work_lock:
            if self.transcriber._finished:  # noqa: SLF001
                return self._latest or self.transcriber._state("", 0.0, decoded=False)  # noqa: SLF001
            self._drain()
            self._latest = self.transcriber.finish()
        return self._latest
