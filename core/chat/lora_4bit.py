"""QLoRA that trains or says why not: 4-bit layers kept on a path with a backward, and a probe
that checks this with gradients rather than with a forward pass.

Why it is needed (read from bitsandbytes 0.50.2, `nn/modules.py` and `autograd/_functions.py`):
on a CPU with AVX-512 bf16 (`bitsandbytes.functional.has_avx512bf16()`, stored on each layer as
`Linear4bit.support_avx512bf16_for_cpu` when it is built), the first forward of a `Linear4bit` in
`eval()` mode on an input that needs no gradient repacks its weight for that CPU
(`_convert_weight_packed_for_cpu`, which sets `quant_state.packing_format_for_cpu = True`). From
then on `matmul_4bit` sends every call, `train()` mode included, to the fused bf16 op `gemv_4bit`,
which has no autograd formula: the frozen weight passes no gradient to the layers below it, and a
LoRA run follows wrong gradients, saves an adapter that does nothing, and reports no error. One
chat turn, a generation or an eval-mode probe on the 4-bit model is enough to trigger it.

    keep_backward(model)         # every 4-bit layer stays on dequantize-then-matmul (has a backward)
    gradient_problem("cpu")      # None, or why 4-bit training would be wrong here and what to do

`keep_backward` turns the repack off on every layer and unpacks one already repacked. It relies on
bitsandbytes' attribute names, so `gradient_problem` checks the result instead of trusting it: it
builds small real 4-bit layers, guards them the same way, runs one eval-mode forward (the trigger),
then compares one step's LoRA gradients against the same step on the dequantized weights in fp32.
"""
from __future__ import annotations

from typing import Any

# The bar from issue 15. A layer with a working backward gives cosines of 0.9999+ (fp32 compute
# on CPU; a GPU's bf16/fp16 compute should stay well above 0.9, not measured here); one whose base
# weight passes no gradient back gave 0.49 and 0.74 for the lower layer's LoRA pair (simulated, see
# tests/core/test_qlora.py), because the frozen weight carries most of the signal.
MIN_GRAD_COSINE = 0.9
# Both sides dequantize the same nf4 numbers; they differ only by compute dtype (bf16 on a GPU
# rounds to ~3 significant digits) and summation order, far below 5 % of the loss.
LOSS_RTOL = 0.05
_SIZES = (128, 128, 128)  # in -> hidden -> out: rows a multiple of 32, columns of 64 (the repack's blocks)
_RANK, _SCALE, _BATCH = 4, 2.0, 8


def keep_backward(model: Any) -> int:
    """Keep every bitsandbytes 4-bit layer in `model` (a module; its submodules are searched) on
    bitsandbytes' dequantize-then-matmul path, which has a backward: the CPU repack is turned off
    and a weight already repacked is converted back. Returns how many layers were unpacked.
    Costs inference speed on AVX-512-bf16 CPUs only, where the fused kernel would have run."""
    unpacked = 0
    for module in model.modules():
        if not hasattr(module, "support_avx512bf16_for_cpu"):
            continue
        module.support_avx512bf16_for_cpu = False
        weight = module.weight
        state = getattr(weight, "quant_state", None)
        if getattr(state, "packing_format_for_cpu", False):
            from bitsandbytes.functional import _convert_weight_packed_for_cpu_inverse

            # bitsandbytes itself uses this inverse before saving a state dict or moving to a GPU.
            weight.data, weight.quant_state = _convert_weight_packed_for_cpu_inverse(weight.data, state)
            module.quant_state = weight.quant_state
            unpacked += 1
    return unpacked


def _lora_step(bases: list, loras: list, x, target):
    """One LoRA step's loss and gradients through `bases` (callables h -> h @ W.T), each with a
    LoRA pair (A [rank, in], B [out, rank]) added: h = base(h) + scale * (h A^T) B^T."""
    import torch
    import torch.nn.functional as F

    params = [(a.clone().requires_grad_(), b.clone().requires_grad_()) for a, b in loras]
    h = x
    for i, (base, (a, b)) in enumerate(zip(bases, params)):
        h = base(h) + _SCALE * (h @ a.t()) @ b.t()
        if i < len(bases) - 1:
            h = F.gelu(h)
    loss = F.cross_entropy(h.float(), target)
    flat = [p for pair in params for p in pair]
    grads = torch.autograd.grad(loss, flat, allow_unused=True)
    return float(loss.detach()), [torch.zeros_like(p) if g is None else g for p, g in zip(flat, grads)]


def gradient_check(device: str) -> dict:
    """Run the check and return its numbers: `loss_4bit`, `loss_full`, `cosines` (one per LoRA
    tensor) and `min_cosine`. Raises whatever bitsandbytes raises when it cannot run here."""
    import warnings

    import bitsandbytes as bnb
    import torch
    import torch.nn.functional as F
    from bitsandbytes.functional import dequantize_4bit

    from core.chat.llm import compute_dtype

    compute = compute_dtype(device)
    with torch.random.fork_rng(devices=[]):  # seeded, without moving the caller's random stream
        torch.manual_seed(0)
        layers = torch.nn.ModuleList(
            bnb.nn.Linear4bit(i, o, bias=False, compute_dtype=compute, quant_type="nf4", compress_statistics=True)
            for i, o in zip(_SIZES, _SIZES[1:]))
        x = torch.randn(_BATCH, _SIZES[0])
        target = torch.randint(0, _SIZES[-1], (_BATCH,))
        # Both LoRA matrices non-zero (peft starts B at zero): every tensor then has a gradient.
        loras = [(torch.randn(_RANK, i) * 0.1, torch.randn(o, _RANK) * 0.1) for i, o in zip(_SIZES, _SIZES[1:])]
    layers = layers.to(device)  # quantizes to nf4 on the device
    x, target = x.to(device), target.to(device)
    loras = [(a.to(device), b.to(device)) for a, b in loras]
    # What the 4-bit weights stand for, taken before anything can repack them.
    dense = [dequantize_4bit(m.weight.data, m.weight.quant_state).float() for m in layers]
    keep_backward(layers)  # the same guard the studio's 4-bit model gets
    layers.eval()
    with torch.no_grad():  # the trigger: an eval-mode forward, as a chat turn or a generation does
        h = x
        for m in layers:
            h = m(h)
    layers.train()
    with warnings.catch_warnings():  # a cut graph makes torch warn; the numbers below say it plainly
        warnings.simplefilter("ignore")
        loss_q, grads_q = _lora_step(list(layers), loras, x, target)
    loss_f, grads_f = _lora_step([lambda h, w=w: h @ w.t() for w in dense], loras, x, target)
    cosines = [float(F.cosine_similarity(gq.flatten().float(), gf.flatten().float(), dim=0))
               for gq, gf in zip(grads_q, grads_f)]
    return {"loss_4bit": loss_q, "loss_full": loss_f, "cosines": cosines, "min_cosine": min(cosines)}


def cpu_fast_kernel() -> bool:
    """Whether bitsandbytes would use its fused AVX-512-bf16 kernel (no backward) on this CPU."""
    try:
        from bitsandbytes.functional import has_avx512bf16

        return bool(has_avx512bf16())
    except Exception:  # noqa: BLE001 - an old or broken bitsandbytes: no fused kernel either
        return False


def gradient_problem(device: str) -> str | None:
    """None when one 4-bit LoRA step gives the same gradients (cosine >= MIN_GRAD_COSINE) and loss
    (within LOSS_RTOL) as the same step on the dequantized weights in fp32, after an eval-mode
    forward; else a sentence with the reason and the alternative. Exceptions propagate."""
    r = gradient_check(device)
    loss_off = abs(r["loss_4bit"] - r["loss_full"]) / max(abs(r["loss_full"]), 1e-6)
    if r["min_cosine"] >= MIN_GRAD_COSINE and loss_off <= LOSS_RTOL:
        return None
    why = ("bitsandbytes' fast 4-bit kernel for this CPU (AVX-512 bf16), used after any eval-mode forward, "
           "has no backward" if device.startswith("cpu") and cpu_fast_kernel()
           else "bitsandbytes' 4-bit layers do not pass gradients back correctly here")
    return (f"4-bit QLoRA would not train correctly on {device}: one LoRA step in 4-bit gave gradients that "
            f"disagree with the same step in full precision (gradient cosine {r['min_cosine']:.2f}, needs "
            f"{MIN_GRAD_COSINE}; loss {r['loss_4bit']:.4f} vs {r['loss_full']:.4f}), because {why}. "
            "Train without quantization instead (untick 4-bit, or quantization='none'): full-precision LoRA "
            "gives the same kind of adapter and needs more memory.")
