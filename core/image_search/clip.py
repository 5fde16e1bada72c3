"""CLIP through open_clip: image and text embeddings in one space, and a saliency heatmap.

No package ships CLIP weights, so the registry's CLIP models come from the Hugging Face cache
(`python -m core.download clip-vit-b-32`). `load_named` takes any open_clip model by name for
users with internet. The app never builds a random-weight CLIP; tests do, through `ClipModel`.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass
class ClipModel:
    """A loaded open_clip model. `name` identifies it in an index (e.g. "clip-vit-b-32")."""

    name: str
    model: object  # open_clip.CLIP, eval mode
    preprocess: object  # PIL.Image -> tensor [3, S, S]
    tokenizer: object  # list[str] -> LongTensor [N, 77]
    device: str
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def dim(self) -> int:
        return int(self.model.text_projection.shape[1]) if hasattr(self.model, "text_projection") \
            else int(self.encode_text(["x"]).shape[1])

    def encode_images(self, images: list[Image.Image], batch_size: int = 16) -> np.ndarray:
        """L2-normalised image embeddings, float32 [N, D]."""
        import torch

        from core.image_search.tagger import to_rgb

        chunks = []
        with self.lock, torch.inference_mode():
            for start in range(0, len(images), batch_size):
                x = torch.stack([self.preprocess(to_rgb(im)) for im in images[start:start + batch_size]])
                e = self.model.encode_image(x.to(self.device)).float()
                chunks.append(torch.nn.functional.normalize(e, dim=-1).cpu().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, self.dim), np.float32)

    def encode_text(self, texts: list[str]) -> np.ndarray:
        """L2-normalised text embeddings, float32 [N, D]."""
        import torch

        with self.lock, torch.inference_mode():
            e = self.model.encode_text(self.tokenizer(list(texts)).to(self.device)).float()
            return torch.nn.functional.normalize(e, dim=-1).cpu().numpy()

    def saliency(self, image: Image.Image, text: str) -> np.ndarray:
        """Where the image-text similarity is most sensitive: float32 [S, S] in [0, 1].

        Gradient x input of cos(image, text) w.r.t. the preprocessed pixels, smoothed: a
        simple grounding view, for the square crop that CLIP sees.
        """
        import torch

        from core.image_search.tagger import to_rgb

        with self.lock:
            t = self.model.encode_text(self.tokenizer([text]).to(self.device)).float().detach()
            x = self.preprocess(to_rgb(image))[None].to(self.device).requires_grad_(True)
            with torch.enable_grad():
                e = self.model.encode_image(x).float()
                sim = torch.nn.functional.cosine_similarity(e, t).sum()
                sim.backward()
            sal = (x.grad * x).abs().sum(1, keepdim=True).detach()
            sal = torch.nn.functional.avg_pool2d(sal, 15, stride=1, padding=7)[0, 0]
        sal = sal.cpu().numpy().astype(np.float32)
        top = float(sal.max())
        return sal / top if top > 0 else sal


def load_clip(path: Path, device: str) -> ClipModel:
    """Registry loader: `path` is an open_clip hub snapshot (open_clip_config.json + weights)."""
    import open_clip

    path = Path(path)
    if not (path / "open_clip_config.json").is_file():
        raise ValueError(f"{path} has no open_clip_config.json; point the CLIP model at an open_clip "
                         "hub snapshot (e.g. `python -m core.download clip-vit-b-32`)")
    model, preprocess = open_clip.create_model_from_pretrained(f"local-dir:{path}", device=device)
    tokenizer = open_clip.get_tokenizer(f"local-dir:{path}")
    model.eval()
    return ClipModel(path.name, model, preprocess, tokenizer, device)


def load_named(model_name: str, pretrained: str, device: str) -> ClipModel:
    """Any open_clip model by name and pretrained tag (see `open_clip.list_pretrained()`).

    Downloads into the Hugging Face cache when the machine has internet; offline, only what is
    already cached loads. Raises ValueError saying so otherwise.
    """
    import open_clip

    if model_name not in open_clip.list_models():
        raise ValueError(f"unknown open_clip model {model_name!r}; see open_clip.list_models()")
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(model_name, pretrained=pretrained,
                                                                     device=device)
    except Exception as exc:  # noqa: BLE001 - offline, a missing download fails in many ways
        raise ValueError(f"could not load open_clip {model_name} ({pretrained}): {exc}. On a machine with "
                         "internet, load it once so the weights land in the Hugging Face cache.") from exc
    model.eval()
    return ClipModel(f"{model_name}:{pretrained}", model, preprocess, open_clip.get_tokenizer(model_name), device)
