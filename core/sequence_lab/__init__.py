"""Sequence Lab (roadmap weeks 2–3): character-level RNN, LSTM and GRU trained live on real text,
with their gates and hidden states stepped through and their gradients measured back in time;
and a word n-gram language model with add-k and interpolated Kneser–Ney smoothing."""
from core.sequence_lab.cells import GATES, KINDS, StepThrough, build_model, step_through, unroll
from core.sequence_lab.corpus import SOURCE, CharData, char_data, default_text, held_out_text
from core.sequence_lab.gradients import GradientProfile, gradient_profile
from core.sequence_lab.ngram import BOS, EOS, SMOOTHINGS, UNK, NGramModel, TokenScore, fit, tokenize
from core.sequence_lab.train import JobStatus, ModelReport, TrainSettings, TrainingJob, get_job, sample, start_training

__all__ = ["GATES", "KINDS", "StepThrough", "build_model", "step_through", "unroll", "SOURCE", "CharData",
           "char_data", "default_text", "held_out_text", "GradientProfile", "gradient_profile", "BOS", "EOS",
           "SMOOTHINGS", "UNK", "NGramModel", "TokenScore", "fit", "tokenize", "JobStatus", "ModelReport",
           "TrainSettings", "TrainingJob", "get_job", "sample", "start_training"]
