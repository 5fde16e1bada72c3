"""What the Preference Lab shows, for any front end: its controls (declared once), the pairs
table, the explanation of DPO's rewards, per-pair rows, before/after replies with their rewards,
the reward-gaming table and the show-the-code text."""
from __future__ import annotations

from core.controls import Control
from core.preference.dpo import DPO_MAX_STEPS, DPOSettings, DPOStatus
from core.preference.pairs import PRESETS, PreferencePair
from core.preference.reward import REWARDS, reward

PAIR_COLUMNS = ("prompt", "chosen", "rejected")
DEFAULT_PRESET = next(iter(PRESETS))

INTRO = (
    "**DPO** (Direct Preference Optimization) fine-tunes a chat model from *pairs*: for a prompt, the answer people "
    "preferred (**chosen**) and the one they did not (**rejected**). No reward model and no sampling: the loss "
    "is −log σ(r_chosen − r_rejected), where each answer's **reward** is r = β·(log π(answer) − log π_ref(answer)), "
    "how much more likely the trained model π makes it than the reference π_ref. Here π is SmolLM2-135M with a "
    "LoRA adapter, and π_ref is *the same model with the adapter switched off*, so no second copy is kept."
)
WHY_CHOSEN_FALLS = (
    "**Why can the chosen reward fall and still win?** The loss only looks at the *margin* r_chosen − r_rejected. "
    "Making the rejected answer much less likely lowers the loss as well as making the chosen one more likely, "
    "and pushing probability away from one answer often takes some from a similar answer too. So both rewards "
    "can go negative (both answers end up less likely than under π_ref) while the margin grows and every pair is "
    "won. A chosen reward below 0 is not a failure; a margin that does not grow is."
)
GAMING_HELP = (
    "**Optimising a reward can be gamed.** A *lexicon reward* scores an answer by its cheerful words. The table "
    "shows its real numbers on six answers: the answers it likes best do not answer the question. Pairs ranked by "
    "such a reward (preset *reward-picked*) teach DPO to flatter: train on them and compare the replies' reward "
    "before and after, next to whether they still answer."
)

CONTROLS = (
    Control("preset", "Start from", "choice", DEFAULT_PRESET, choices=tuple(PRESETS),
            help="fills the pairs table; then edit it freely"),
    Control("beta", "β (beta)", "number", 0.1, minimum=0.01, maximum=10.0, step=0.05,
            help="scales the reward; smaller β lets the model drift further from the reference"),
    Control("steps", "Steps", "slider", 20, minimum=1, maximum=min(100, DPO_MAX_STEPS), step=1,
            help="each step scores every pair with the adapter on; π_ref is scored once, before the first"),
    Control("learning_rate", "Learning rate", "choice", 1e-3, choices=(1e-4, 5e-4, 1e-3, 5e-3, 1e-2),
            help="AdamW on the LoRA weights; 1e-3 wins the pirate pairs in 2 steps and keeps replies fluent; "
                 "5e-3 over-optimises (try it: the replies degenerate)"),
    Control("reward", "Reward to inspect", "radio", "lexicon", choices=REWARDS,
            help="lexicon: sum of cheerful-word weights · length: number of words"),
)


def preset_rows(preset: str) -> list[list[str]]:
    if preset not in PRESETS:
        raise ValueError(f"no preset {preset!r}; choose one of {', '.join(PRESETS)}")
    return [[p.prompt, p.chosen, p.rejected] for p in PRESETS[preset]]


def settings_from(beta=0.1, steps=20, learning_rate=1e-3, **_ignored) -> DPOSettings:
    try:
        beta, steps, lr = float(beta), int(steps), float(learning_rate)
    except (TypeError, ValueError):
        raise ValueError("beta, steps and learning rate must be numbers") from None
    return DPOSettings(beta=beta, steps=steps, learning_rate=lr)


def status_markdown(st: DPOStatus) -> str:
    if st.state == "failed":
        return f"**DPO failed:** {st.error}"
    if st.state == "starting":
        return "Preparing: copying SmolLM2, adding LoRA, scoring the pairs with the reference and its replies…"
    last = st.history[-1] if st.history else None
    nums = (f" · loss {last.loss:.3f} · mean margin {last.mean_margin:+.3f} · accuracy {last.accuracy:.0%}"
            if last else "")
    per = f" · {st.seconds / max(st.step, 1):.1f} s/step" if st.step else ""
    head = f"Step {st.step}/{st.total} · {st.seconds:.0f} s{per}{nums}"
    if not st.finished:
        return head
    mark = "**Learned:**" if st.learned else "**Check:**"  # words, not emoji: not every font has them
    return f"{head}\n\n{mark} {st.verdict}" + (" (cancelled early)" if st.state == "cancelled" else "")


def pair_rows(st: DPOStatus) -> list[dict]:
    """Per pair, the rewards with the final weights (or the latest step while running)."""
    last = st.final or (st.history[-1] if st.history else None)
    if last is None:
        return []
    return [{"prompt": p.prompt, "chosen reward": round(c, 3), "rejected reward": round(r, 3),
             "margin": round(c - r, 3), "won": "yes" if c > r else "no"}
            for p, c, r in zip(st.pairs, last.chosen, last.rejected)]


def reply_rows(st: DPOStatus, kind: str = "lexicon") -> list[dict]:
    """Greedy replies before (adapter off) and after DPO, each with its reward under `kind`."""
    rows = []
    for i, p in enumerate(st.pairs):
        before = st.before[i] if i < len(st.before) else ""
        after = st.after[i] if i < len(st.after) else ""
        rows.append({"prompt": p.prompt, "before": before, "after": after,
                     f"{kind} before": reward(before, kind) if before else None,
                     f"{kind} after": reward(after, kind) if after else None,
                     "changed": ("yes" if before != after else "no") if after else ""})
    return rows


def rows_to_pairs(rows) -> list:
    """Table rows (lists, dicts or a DataFrame) as they come from a UI, for core.preference.parse_pairs."""
    if hasattr(rows, "values") and hasattr(rows, "columns"):
        rows = rows.values.tolist()
    return [r if isinstance(r, dict) else list(r)[:3] for r in (rows or [])]


def dpo_code(pairs: tuple[PreferencePair, ...] | list, settings: DPOSettings) -> str:
    shown = [p.as_dict() if isinstance(p, PreferencePair) else p for p in pairs][:2]
    return f"""from core.preference import DPOSettings, run_dpo

pairs = {shown!r}  # ... your pairs
st = run_dpo(pairs, DPOSettings(beta={settings.beta}, steps={settings.steps}, learning_rate={settings.learning_rate}))
print(st.verdict)
for step in st.history:  # per pair: β·(log π − log π_ref) for chosen and rejected
    print(round(step.loss, 3), step.chosen, step.rejected, step.accuracy)
print(st.before, st.after)  # greedy replies, adapter off / on

# the loss itself (core/preference/dpo.py):
# chosen_rewards = beta * (policy_chosen - ref_chosen); rejected_rewards = beta * (policy_rejected - ref_rejected)
# losses = -F.logsigmoid(chosen_rewards - rejected_rewards)
"""


# What a learner reads before the first run (both front ends). Measured here: 20 steps on the four
# pirate pairs took about 6 minutes on 2 busy CPU cores; two pairs about 2 minutes.
IDLE_MESSAGE = ("Press **Run DPO**: 20 steps on four pairs take a few minutes on a 2-core CPU (fewer pairs "
                "or steps are quicker); the charts fill in step by step.")
