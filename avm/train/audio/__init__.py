"""Training data, edits, pairs and held-out evaluation of the audio embedder (see avm.train for the loop).

data (tracks decoded once, cached, with offline ffmpeg codec and pitch variants) → pairs (two edited views of
one place in a track) → augment (torch edits: speed, EQ, band-pass, reverb, mixes, gain) → retrieval (held-out
query segments through the real fingerprint code path). :data:`AUDIO_TRAINER` ties them together.
"""

from avm.train.audio.augment import AugmentOptions
from avm.train.audio.data import Corpus, DataOptions, Track, load_corpus
from avm.train.audio.pairs import PairBatches, PairSampler, ViewGeometry
from avm.train.audio.retrieval import EDITS, HARD_EDITS, EvalOptions, evaluate_retrieval
from avm.train.audio.trainer import AUDIO_TRAINER, AudioTrainer

__all__ = ["AUDIO_TRAINER", "EDITS", "HARD_EDITS", "AudioTrainer", "AugmentOptions", "Corpus", "DataOptions", "EvalOptions",
           "PairBatches", "PairSampler", "Track", "ViewGeometry", "evaluate_retrieval", "load_corpus"]
