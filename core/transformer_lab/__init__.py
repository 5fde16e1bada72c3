"""Transformer Lab: a small transformer written on one page of PyTorch, trained live on CPU with a
causal (next-character) or masked (fill-in) objective; its attention maps drawn by the Attention
tab's own figures. Importing this package loads nothing heavy (torch loads when a run starts)."""
from core.transformer_lab.data import MASK, SOURCES, TextSource, Vocab, check_text, source_text
from core.transformer_lab.train import (BLANK, LAB_MAX_STEPS, MODEL_KEY, OBJECTIVES, FillIn, LabJob, LabSettings,
                                        LabStatus, fill_in, generate, get_job, judge, resolve_text, start, train)

__all__ = ["BLANK", "FillIn", "LAB_MAX_STEPS", "LabJob", "LabSettings", "LabStatus", "MASK", "MODEL_KEY",
           "OBJECTIVES", "SOURCES", "TextSource", "Vocab", "check_text", "fill_in", "generate", "get_job", "judge",
           "resolve_text", "source_text", "start", "train"]
