"""LoRA Chat: chat with a small LLM, fine-tune it with LoRA in the browser, compare base and adapted.

Roadmap week 6 (transfer learning, fine-tuning, LoRA/QLoRA, evaluation). Four sub-tabs:
Chat (streaming, with or without an adapter), Fine-tune (dataset, LoRA settings, a time estimate
from a short probe, live loss curve, cancel), Compare (same prompt to both models, per-token
probabilities, held-out perplexity) and Adapters (list, use, delete, upload safetensors).
"""
from __future__ import annotations

import time

import gradio as gr
import pandas as pd

from apps.gradio.common import code_box, friendly
from apps.gradio.controls import render, render_all
from apps.tabs import TABS
from core.chat.conversation import DEFAULT_MODEL, DEFAULT_SYSTEM_PROMPT, GenerationSettings, reply, stream_reply
from core.chat.view import (CHAT_CONTROLS, COMPARE_MAX_TOKENS, FINETUNE_CONTROLS, DIVERGE_COLOURS, LORA_EXPLAINER, QLORA_INFO, QLORA_LABEL, UPLOAD,
                            UPLOAD_HELP, chat_code, compare_perplexity, compare_replies, dataset_source,
                            dataset_summary, estimate_markdown, generation_settings, job_message, lora_settings, loss_points, params_markdown,
                            score_reply, token_rows, token_spans, train_code)
from core.controls import by_name
from core.device import get_device
from core.chat.llm import four_bit_problem
from core.chat.llm_server import chat_note
from core.chat.lora import TARGETS, LoraSettings, delete_adapter, import_adapter, list_adapters, lora_param_count
from core.chat.lora_data import preview, shipped_datasets
from core.registry import available_models
from core.zerogpu import gpu

TITLE, WEEKS, SUMMARY = TABS["chat"].heading

INTRO = "### LoRA Chat · roadmap week 6 (fine-tuning, LoRA, evaluation)\n" + LORA_EXPLAINER
BASE_CHOICE = ("base model (no adapter)", "")


def _owner(request: gr.Request | None) -> str:
    """This browser session's token: the adapters it makes are its own (core.chat.lora, per session)."""
    return str(getattr(request, "session_hash", None) or "")


def _adapter_choices(model: str = DEFAULT_MODEL, owner: str = "") -> list[tuple[str, str]]:
    return [BASE_CHOICE] + [(a.name + (" (shipped)" if a.shipped else ""), a.name)
                            for a in list_adapters(model, owner=owner)]


_settings, _chat_code, _train_code = generation_settings, chat_code, train_code


# --- API (plain JSON in and out) ---------------------------------------------------------------

def chat_api(messages: list[dict], adapter: str = "", settings: dict | None = None,
             model: str = DEFAULT_MODEL) -> str:
    """Reply to `messages` ([{"role", "content"}]) with `model`, optionally with a LoRA `adapter`.
    settings: temperature, top_p, max_new_tokens, system_prompt, seed."""
    return reply(messages, model, adapter or None, GenerationSettings.from_dict(settings))


def finetune_api(dataset: str = "pirate", settings: dict | None = None, name: str = "",
                 request: gr.Request = None) -> dict:
    """Train a LoRA adapter and wait. dataset: a shipped set name or JSONL text; settings: rank,
    alpha, target_modules, learning_rate, steps, batch_size, seed, quantization ("none" or "4bit" for
    QLoRA, where bitsandbytes trains correctly). Returns the adapter's name,
    the loss after each step, the state (done/cancelled/failed), the seconds taken, and `warning`:
    null, or why the run may have learned nothing (the LoRA weights or the loss did not move)."""
    from core.chat.lora_train import finetune

    st = finetune(dataset, LoraSettings.from_dict(settings), name or None, owner=_owner(request))
    if st.state == "failed":
        raise ValueError(st.error or "training failed")
    return {"adapter": st.adapter, "losses": [round(x, 4) for x in st.losses], "state": st.state,
            "steps": st.step, "seconds": round(st.seconds, 1), "warning": st.warning}


def compare_api(prompt: str, adapter: str = "pirate-demo", settings: dict | None = None,
                reply_text: str = "") -> dict:
    """The same prompt answered by the base model and by base + `adapter`, and per-token
    probabilities under both models of one reply (`reply_text`, default: the adapted answer)."""
    from core.chat.lora_compare import token_probabilities

    s = GenerationSettings.from_dict(settings)
    messages = [{"role": "user", "content": prompt}]
    base = reply(messages, DEFAULT_MODEL, None, s)
    adapted = reply(messages, DEFAULT_MODEL, adapter, s)
    scored = token_probabilities(messages, reply_text or adapted, adapter, system_prompt=s.system_prompt)
    return {"base_reply": base, "adapted_reply": adapted, "scored_reply": reply_text or adapted,
            **scored.as_dict()}


def adapters_api(request: gr.Request = None) -> list[dict]:
    """The adapters this session may use (shipped, the server's, its own; every one when the host
    shares them), with their base model and final loss."""
    return [a.row() for a in list_adapters(owner=_owner(request))]


def estimate_api(dataset: str = "pirate", settings: dict | None = None) -> dict:
    """Predict how long training takes here, from a 3-step probe."""
    from core.chat.lora_train import estimate

    return estimate(dataset, LoraSettings.from_dict(settings))


# --- UI handlers ------------------------------------------------------------------------------

_dataset_source, _params_md = dataset_source, params_markdown


def _lora(rank, alpha, targets, lr, steps, four_bit=False) -> LoraSettings:
    return lora_settings(rank, alpha, targets, lr, steps, bool(four_bit))


def _loss_frame(losses) -> pd.DataFrame:
    return pd.DataFrame(loss_points(losses))


def _progress_html(step: int, total: int, text: str) -> str:
    pct = 100 * step / max(total, 1)
    return (f"<div style='margin:4px 0'><div style='background:#e5e7eb;border-radius:6px;height:14px'>"
            f"<div style='width:{pct:.0f}%;background:#2a9d8f;height:14px;border-radius:6px'></div></div>"
            f"<div style='margin-top:4px'>{text}</div></div>")


# --- handlers (module level; each tab's wiring below names its components) ---------------------

def add_user(text, history):
    text = (text or "").strip()
    if not text:
        raise gr.Error("Type a message first.")
    return "", (history or []) + [{"role": "user", "content": text}]


@friendly
@gpu()
def bot(history, model_key, adapter_name, system_prompt, temp, tp, mx):
    s = _settings(system_prompt, temp, tp, mx)
    history = list(history or [])
    for text in stream_reply(history, model_key, adapter_name or None, s):
        yield history + [{"role": "assistant", "content": text}], _chat_code(model_key, adapter_name, s)


def refresh_adapters(model_key, current, cmp_current=None, request: gr.Request = None):
    owner = _owner(request)
    choices = _adapter_choices(model_key, owner)
    values = [v for _, v in choices]
    rows = [a.row() for a in list_adapters(owner=owner)]
    user = [a.name for a in list_adapters(owner=owner) if not a.shipped and owner and a.meta.get("owner") == owner]
    cmp_value = cmp_current if cmp_current in values[1:] else (values[1] if len(values) > 1 else None)
    return (gr.Dropdown(choices=choices, value=current if current in values else ""),
            gr.Dropdown(choices=choices[1:], value=cmp_value),
            pd.DataFrame(rows) if rows else pd.DataFrame(columns=["name"]),
            gr.Dropdown(choices=user, value=user[0] if user else None))


@friendly
def show_dataset(choice, path):
    if choice == UPLOAD and not path:
        return UPLOAD_HELP, []
    ds = _dataset_source(choice, path)
    return dataset_summary(ds), preview(ds, 12)


def check_qlora(on):
    problem = four_bit_problem(get_device()) if on else None
    if problem:
        gr.Warning(problem)
        return gr.Checkbox(value=False, interactive=False, info=f"Not available here: {problem}")
    return gr.skip()


@friendly
def show_params(model_key, *lora_args):
    return _params_md(lora_param_count(model_key, _lora(*lora_args)))


@friendly
def do_estimate(choice, path, model_key, *lora_args):
    from core.chat.lora_train import estimate

    s = _lora(*lora_args)
    e = estimate(_dataset_source(choice, path), s, model_key)
    return estimate_markdown(e, s) + "\n\n" + _params_md(lora_param_count(model_key, s))


@friendly
def do_train(choice, path, model_key, nm, request: gr.Request, *lora_args):  # request: filled in by gradio
    from core.chat.lora_train import start_training

    s = _lora(*lora_args)
    ds = _dataset_source(choice, path)
    params = _params_md(lora_param_count(model_key, s))
    job = start_training(ds, s, nm.strip() or None, model_key, owner=_owner(request))
    code = _train_code(ds.name if ds.name != "upload" else "my_data.jsonl", s)
    yield (job.job_id, _progress_html(0, s.steps, f"Preparing <b>{job.name}</b> (copying the model)…"),
           _loss_frame([]), code, params)
    while True:
        st = job.status()
        if st.state == "failed":
            raise ValueError(job_message(st))
        text = job_message(st, strong=lambda t: f"<b>{t}</b>")
        yield job.job_id, _progress_html(st.step, st.total, text), _loss_frame(st.losses), code, gr.skip()
        if st.finished:
            return
        time.sleep(1.0)


@friendly
def do_cancel(jid):
    from core.chat.lora_train import get_job

    if not jid:
        raise ValueError("no training job of yours is running")
    get_job(jid).cancel()
    gr.Info("Cancelling after the current step; the adapter is saved as it is.")


@friendly
def do_compare(prompt, adapter_name, system_prompt, temp, tp, mx):
    return compare_replies(prompt, adapter_name, _settings(system_prompt, temp, tp, min(int(mx), COMPARE_MAX_TOKENS)))


@friendly
def do_score(prompt, adapter_name, which_reply, base, adapted, system_prompt):
    text = adapted if which_reply == "adapted reply" else base
    tc = score_reply(prompt, adapter_name, text, system_prompt)
    return token_spans(tc), token_rows(tc)


@friendly
def do_ppl(ds_name, adapter_name):
    return compare_perplexity(ds_name, adapter_name)


@friendly
def do_delete(nm, model_key, current, cmp_current, request: gr.Request = None):
    if not nm:
        raise ValueError("pick one of your adapters to delete")
    delete_adapter(nm, owner=_owner(request))
    return (f"Deleted {nm}.", *refresh_adapters(model_key, "" if current == nm else current, cmp_current,
                                                request))


@friendly
def do_import(files, nm, model_key, current, cmp_current, request: gr.Request = None):
    info = import_adapter(files or [], nm, model_key, owner=_owner(request))
    return (f"Added {info.name}.", *refresh_adapters(model_key, current, cmp_current, request))


# --- layout: one function per sub-tab, each returning its components by name -------------------

def model_bar() -> dict:
    served = chat_note(DEFAULT_MODEL)
    if served:  # a department's model server (NLP_STUDIO_LLM_URL): say which parts use it
        gr.Markdown("**Model server.** " + served)
    with gr.Row():
        model = gr.Dropdown(available_models("causal-lm"), value=DEFAULT_MODEL, label="Base model", scale=1,
                            info="others need `python -m core.download KEY` first")
        adapter = gr.Dropdown(_adapter_choices(), value="", label="LoRA adapter", scale=1)
        refresh = gr.Button("↻ adapters", size="sm", scale=0, min_width=110)
    return {"model": model, "adapter": adapter, "refresh": refresh}


def chat_tab() -> dict:
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(label="Conversation", height=420)
            with gr.Row():
                msg = gr.Textbox(placeholder="Ask something, e.g. What is the capital of France?",
                                 show_label=False, scale=5, lines=1, max_lines=4)
                send = gr.Button("Send", variant="primary", scale=1, min_width=80)
            with gr.Row():
                stop = gr.Button("■ Stop", size="sm")
                clear = gr.Button("Clear", size="sm")
        with gr.Column(scale=2):
            system = gr.Textbox(DEFAULT_SYSTEM_PROMPT, label="System prompt", lines=2)
            temperature, top_p, max_tokens = render_all(CHAT_CONTROLS).values()
            chat_code = code_box(_chat_code(DEFAULT_MODEL, "", GenerationSettings()))
    return {"chatbot": chatbot, "msg": msg, "send": send, "stop": stop, "clear": clear, "system": system,
            "temperature": temperature, "top_p": top_p, "max_tokens": max_tokens, "chat_code": chat_code}


def finetune_tab() -> dict:
    with gr.Row():
        with gr.Column(scale=2):
            ds_choice = gr.Radio(shipped_datasets() + [UPLOAD], value="pirate", label="Dataset",
                                 info="pirate: answers like a pirate · studio_guide: answers about this studio")
            upload = gr.File(label="Your prompt/response pairs (.jsonl or .csv)",
                             file_types=[".jsonl", ".csv", ".json"], type="filepath", height=130)
            ds_info = gr.Markdown()
            ds_preview = gr.Dataframe(headers=["prompt", "response"], interactive=False, wrap=True,
                                      max_height=260, label="Preview (training split)")
            params_md = gr.Markdown("Cancel stops after the current step and still saves the "
                                    "adapter. *Estimate time* runs a 3-step probe on this machine.")
        with gr.Column(scale=2):
            with gr.Row():
                tune = by_name(FINETUNE_CONTROLS)
                rank, alpha = render(tune["rank"]), render(tune["alpha"])
            targets = gr.CheckboxGroup(list(TARGETS), value=["q_proj", "v_proj"], label="Target modules")
            with gr.Row():
                lr, steps = render(tune["lr"]), render(tune["steps"])
            # Offered only where bitsandbytes is installed and runs on this device; the
            # real 4-bit probe (seconds: it imports bitsandbytes) runs when it is ticked.
            no_qlora = four_bit_problem(get_device(), probe=False)
            qlora = gr.Checkbox(False, label=QLORA_LABEL, interactive=no_qlora is None,
                                info=QLORA_INFO if no_qlora is None else f"Not available here: {no_qlora}",
                                key="qlora")
            name = gr.Textbox(label="Adapter name (optional)", placeholder="e.g. my-pirate")
            with gr.Row():
                est_btn = gr.Button("Estimate time")
                train_btn = gr.Button("Train", variant="primary")
                cancel_btn = gr.Button("Cancel")
            progress = gr.HTML()
            loss_plot = gr.LinePlot(_loss_frame([]), x="step", y="loss", title="Training loss",
                                    height=240, x_title="step", y_title="loss (response tokens)")
    train_code = code_box(_train_code("pirate", LoraSettings()))
    return {"ds_choice": ds_choice, "upload": upload, "ds_info": ds_info, "ds_preview": ds_preview,
            "params_md": params_md, "rank": rank, "alpha": alpha, "targets": targets, "lr": lr, "steps": steps,
            "qlora": qlora, "name": name, "est_btn": est_btn, "train_btn": train_btn, "cancel_btn": cancel_btn,
            "progress": progress, "loss_plot": loss_plot, "train_code": train_code, "job_id": gr.State("")}


def compare_tab() -> dict:
    with gr.Row():
        cmp_prompt = gr.Textbox("What is the capital of France?", label="Prompt", scale=4)
        cmp_adapter = gr.Dropdown(_adapter_choices()[1:], value="pirate-demo"
                                  if any(a.name == "pirate-demo" for a in list_adapters()) else None,
                                  label="Adapter", scale=2)
        cmp_btn = gr.Button("Answer with both", variant="primary", scale=1)
    with gr.Row():
        base_out = gr.Textbox(label="Base model", lines=3, max_lines=6, interactive=False)
        adapted_out = gr.Textbox(label="Base + adapter", lines=3, max_lines=6, interactive=False)
    with gr.Row():
        with gr.Column(scale=3):
            tokens_hl = gr.HighlightedText(label="Per-token probability: where the models diverge "
                                                 "(colour = which model finds the token likelier)",
                                           color_map=DIVERGE_COLOURS, show_legend=True, combine_adjacent=False)
        with gr.Column(scale=2):
            which = gr.Radio(["adapted reply", "base reply"], value="adapted reply",
                             label="Score this reply under both models")
            score_btn = gr.Button("Per-token probabilities", size="sm")
            with gr.Row():
                ppl_ds = gr.Dropdown(shipped_datasets(), value="pirate", label="Held-out split of", scale=2)
                ppl_btn = gr.Button("Perplexity of both", scale=1, size="sm")
            ppl_md = gr.Markdown()
    with gr.Accordion("Token table", open=False):
        tokens_df = gr.Dataframe(headers=["token", "p base", "p adapted", "log2 ratio"], interactive=False,
                                 max_height=240)
    return {"cmp_prompt": cmp_prompt, "cmp_adapter": cmp_adapter, "cmp_btn": cmp_btn, "base_out": base_out,
            "adapted_out": adapted_out, "tokens_hl": tokens_hl, "which": which, "score_btn": score_btn,
            "ppl_ds": ppl_ds, "ppl_btn": ppl_btn, "ppl_md": ppl_md, "tokens_df": tokens_df}


def adapters_tab() -> dict:
    ad_table = gr.Dataframe(interactive=False, wrap=True, label="Adapters on this machine")
    with gr.Row():
        ad_pick = gr.Dropdown([], label="Adapter", scale=2)
        use_btn = gr.Button("Use in chat", scale=1)
        del_btn = gr.Button("Delete", variant="stop", scale=1)
    with gr.Row():
        ad_files = gr.File(label="Upload adapter_config.json + adapter_model.safetensors",
                           file_count="multiple", type="filepath", scale=3, height=130)
        ad_name = gr.Textbox(label="Name for it", scale=1)
        ad_upload = gr.Button("Add adapter", scale=1)
    ad_msg = gr.Markdown()
    return {"ad_table": ad_table, "ad_pick": ad_pick, "use_btn": use_btn, "del_btn": del_btn, "ad_files": ad_files,
            "ad_name": ad_name, "ad_upload": ad_upload, "ad_msg": ad_msg}


# --- wiring: one function per area, by component name ----------------------------------------

def _pick(c: dict, *names: str) -> list:
    return [c[n] for n in names]


ADAPTER_INPUTS = ("model", "adapter", "cmp_adapter")
ADAPTER_OUTPUTS = ("adapter", "cmp_adapter", "ad_table", "ad_pick")


def wire_chat(c: dict) -> None:
    chat_inputs = _pick(c, "chatbot", "model", "adapter", "system", "temperature", "top_p", "max_tokens")
    events = []
    for trigger in (c["msg"].submit, c["send"].click):
        events.append(trigger(add_user, _pick(c, "msg", "chatbot"), _pick(c, "msg", "chatbot"),
                              api_visibility="private", queue=False).then(
            bot, chat_inputs, _pick(c, "chatbot", "chat_code"), api_visibility="private", concurrency_limit=2,
            concurrency_id="llm"))
    c["stop"].click(None, None, None, cancels=events, api_visibility="private")
    c["clear"].click(lambda: [], None, c["chatbot"], api_visibility="private", queue=False, cancels=events)


def wire_adapters(c: dict) -> None:
    inputs, outputs = _pick(c, *ADAPTER_INPUTS), _pick(c, *ADAPTER_OUTPUTS)
    c["refresh"].click(refresh_adapters, inputs, outputs, api_visibility="private")
    c["model"].change(refresh_adapters, inputs, outputs, api_visibility="private")
    gr.on(None, refresh_adapters, inputs, outputs, api_visibility="private")
    c["del_btn"].click(do_delete, [c["ad_pick"]] + inputs, [c["ad_msg"]] + outputs, api_visibility="private")
    c["ad_upload"].click(do_import, _pick(c, "ad_files", "ad_name") + inputs, [c["ad_msg"]] + outputs,
                         api_visibility="private", concurrency_limit=1, concurrency_id="llm-train")
    c["use_btn"].click(lambda nm: gr.Dropdown(value=nm or ""), c["ad_pick"], c["adapter"], api_visibility="private")


def wire_finetune(c: dict) -> None:
    dataset = _pick(c, "ds_choice", "upload")
    c["ds_choice"].change(show_dataset, dataset, _pick(c, "ds_info", "ds_preview"), api_visibility="private")
    c["upload"].change(lambda p: UPLOAD if p else "pirate", c["upload"], c["ds_choice"], api_visibility="private")
    gr.on(None, show_dataset, dataset, _pick(c, "ds_info", "ds_preview"), api_visibility="private")
    lora_inputs = _pick(c, "rank", "alpha", "targets", "lr", "steps", "qlora")
    c["qlora"].input(check_qlora, c["qlora"], c["qlora"], api_visibility="private")
    c["est_btn"].click(do_estimate, dataset + [c["model"]] + lora_inputs, c["params_md"], api_visibility="private",
                       concurrency_limit=1, concurrency_id="llm-train")
    # Not limited to 1: a second user's click must reach start_training and hear "busy", not queue.
    train_ev = c["train_btn"].click(do_train, dataset + _pick(c, "model", "name") + lora_inputs,
                                    _pick(c, "job_id", "progress", "loss_plot", "train_code", "params_md"),
                                    api_visibility="private", concurrency_limit=8)
    train_ev.then(refresh_adapters, _pick(c, *ADAPTER_INPUTS), _pick(c, *ADAPTER_OUTPUTS), api_visibility="private")
    c["cancel_btn"].click(do_cancel, c["job_id"], None, api_visibility="private", concurrency_limit=8)
    for name in ("rank", "alpha", "targets"):
        c[name].change(show_params, [c["model"]] + lora_inputs, c["params_md"], api_visibility="private",
                       concurrency_limit=4)


def wire_compare(c: dict) -> None:
    cmp_ev = c["cmp_btn"].click(do_compare, _pick(c, "cmp_prompt", "cmp_adapter", "system", "temperature", "top_p",
                                                  "max_tokens"),
                                _pick(c, "base_out", "adapted_out"), api_visibility="private", concurrency_limit=2,
                                concurrency_id="llm")
    score_inputs = _pick(c, "cmp_prompt", "cmp_adapter", "which", "base_out", "adapted_out", "system")
    scores = _pick(c, "tokens_hl", "tokens_df")
    cmp_ev.then(do_score, score_inputs, scores, api_visibility="private", concurrency_limit=2, concurrency_id="llm")
    c["score_btn"].click(do_score, score_inputs, scores, api_visibility="private", concurrency_limit=2,
                         concurrency_id="llm")
    c["ppl_btn"].click(do_ppl, _pick(c, "ppl_ds", "cmp_adapter"), c["ppl_md"], api_visibility="private",
                       concurrency_limit=1, concurrency_id="llm")


def build() -> None:
    gr.Markdown(INTRO)
    c = model_bar()
    with gr.Tabs():
        with gr.Tab("Chat"):
            c.update(chat_tab())
        with gr.Tab("Fine-tune"):
            c.update(finetune_tab())
        with gr.Tab("Compare"):
            c.update(compare_tab())
        with gr.Tab("Adapters"):
            c.update(adapters_tab())
    wire_chat(c)
    wire_adapters(c)
    wire_finetune(c)
    wire_compare(c)
    # --- API ---
    gr.api(chat_api, api_name="chat", concurrency_limit=2, concurrency_id="llm")
    gr.api(finetune_api, api_name="finetune", concurrency_limit=1, concurrency_id="llm-train")
    gr.api(compare_api, api_name="compare", concurrency_limit=2, concurrency_id="llm")
    gr.api(estimate_api, api_name="estimate_training", concurrency_limit=1, concurrency_id="llm-train")
    gr.api(adapters_api, api_name="adapters", concurrency_limit=8)
