"""LoRA Chat page: chat with a small LLM, fine-tune it with LoRA, compare base and adapted.

The same core/ as the Gradio tab (core.chat.conversation, core.chat.lora*, core.chat.view). Training runs in core's
background thread (core.chat.lora_train.TrainingJob); this page keeps only the job id in
st.session_state and polls it from a fragment, so reruns neither block nor restart it.
"""
from __future__ import annotations

import html
import tempfile
import threading
from pathlib import Path

import pandas as pd
import streamlit as st

from apps.streamlit.common import code_box, guard, heading, job_running, model, run_page, show_error, state, visitor
from apps.streamlit.controls import render, render_all
from core.chat.conversation import DEFAULT_MODEL, DEFAULT_SYSTEM_PROMPT, stream_reply
from core.chat.view import (BASE_LABEL, CHAT_CONTROLS, FINETUNE_CONTROLS, COMPARE_MAX_TOKENS, DIVERGE_COLOURS, LORA_EXPLAINER, QLORA_INFO, QLORA_LABEL,
                            TOKEN_COLUMNS, UPLOAD, UPLOAD_HELP, chat_code, compare_perplexity, compare_replies, dataset_from_bytes,
                            dataset_source, dataset_summary, estimate_markdown, generation_settings, job_message,
                            lora_settings, loss_points, params_markdown, score_reply, token_rows, token_spans,
                            train_code)
from core.controls import by_name
from core.device import get_device
from core.chat.llm import four_bit_problem
from core.chat.llm_server import chat_note
from core.chat.lora import TARGETS, delete_adapter, import_adapter, list_adapters, lora_param_count
from core.chat.lora_data import preview, shipped_datasets
from core.registry import available_models

POLL_S = 1.0  # how often the training panel redraws while a job runs
REPLY_SETTLE_S = 10.0  # how long a new run waits for an interrupted reply to finish its last token
READY = "Conversation"  # the subheader shown once the page has rendered (browser test)


# --- adapters menu (top of the page) ---------------------------------------------------------

def _adapter_names(model_key: str) -> dict[str, str]:
    """Adapter name -> label for the menus ("" is the base model)."""
    return {a.name: a.name + (" (shipped)" if a.shipped else "") for a in list_adapters(model_key, owner=visitor())}


def _use_adapter(name: str) -> None:
    st.session_state["adapter"] = name or ""


# --- chat ------------------------------------------------------------------------------------

def _deltas(replies, flight: dict):
    """core's stream_reply yields the whole reply so far; st.write_stream wants the new pieces.
    `flight["text"]` keeps what was shown, so a stopped reply keeps its part in the history."""
    try:
        for text in replies:
            if flight["stop"].is_set():
                break
            piece, flight["text"] = text[len(flight["text"]):], text
            yield piece
    finally:
        replies.close()  # core stops generating within one token


def _settle_reply() -> None:
    """Any click during a reply starts a new script run at once (Streamlit's fast reruns) while the
    old run is still streaming. Stop that reply and wait until it has put what it said into the
    history, so this run draws the conversation as it is (that is what Stop does)."""
    flight = st.session_state.get("chat_flight")
    if flight and not flight["done"].is_set():
        flight["stop"].set()
        flight["done"].wait(REPLY_SETTLE_S)


def _clear_chat() -> None:
    _settle_reply()
    st.session_state["chat_history"] = []


def _chat_tab(model_key: str, adapter: str) -> None:
    left, right = st.columns([3, 2], gap="large")
    with right:
        system = st.text_area("System prompt", DEFAULT_SYSTEM_PROMPT, key="chat_system", height=80)
        temperature, top_p, max_tokens = render_all(CHAT_CONTROLS, "chat").values()
    with left:
        st.subheader(READY)
        note = chat_note(model_key, adapter)
        if note:  # a department's model server (NLP_STUDIO_LLM_URL): say where this reply comes from
            st.caption(note)
        _settle_reply()
        history = state("chat_history", list)
        box = st.container(height=420, border=True)
        prompt = st.chat_input("Ask something, e.g. What is the capital of France?", key="chat_msg")
        with box:
            if not history and not prompt:
                st.caption("Ask something, e.g. *What is the capital of France?* "
                           + (f"The **{adapter}** adapter answers." if adapter else ""))
            for m in history:
                with st.chat_message(m["role"]):
                    st.markdown(m["content"])
        b1, b2, _ = st.columns([1, 1, 2])
        # Any click starts a new run, and _settle_reply stops the reply being streamed: that is Stop.
        b1.button("Stop", key="chat_stop", icon=":material/stop:", width="stretch")
        b2.button("Clear", key="chat_clear", width="stretch", on_click=_clear_chat)
    with guard():
        settings = generation_settings(system, temperature, top_p, max_tokens)
        with right:
            code_box(chat_code(model_key, adapter, settings))
        if prompt and prompt.strip():
            _answer(box, history, prompt.strip(), model_key, adapter, settings)


def _answer(box, history: list[dict], prompt: str, model_key: str, adapter: str, settings) -> None:
    history.append({"role": "user", "content": prompt})
    flight = st.session_state["chat_flight"] = {"stop": threading.Event(), "done": threading.Event(), "text": ""}
    try:
        with box:
            with st.chat_message("user"):
                st.markdown(prompt)
            with st.chat_message("assistant"):
                try:
                    text = st.write_stream(_deltas(stream_reply(history, model_key, adapter or None, settings),
                                                   flight))
                except Exception:
                    history.pop()  # not answered (core said why): leave the history as it was
                    raise
                except BaseException:  # the page was rerun mid-reply: keep what was said
                    if flight["text"].strip():
                        history.append({"role": "assistant", "content": flight["text"].strip() + " …"})
                    else:
                        history.pop()
                    raise
        said = str(text).strip()
        if not flight["stop"].is_set():
            history.append({"role": "assistant", "content": said})
        elif said:  # stopped: keep what was said, marked as cut short
            history.append({"role": "assistant", "content": said + " …"})
        else:
            history.pop()
    finally:
        flight["done"].set()


# --- fine-tune -------------------------------------------------------------------------------

def _upload_chosen() -> None:
    if st.session_state.get("ft_upload") is not None:
        st.session_state["ft_dataset"] = UPLOAD


def _dataset(choice: str, upload):
    """The chosen dataset, parsed once per (choice, file) and kept for this session's reruns.
    Returns the Dataset, or None when nothing is uploaded yet; raises core's ValueError."""
    key = (choice, upload.file_id if (choice == UPLOAD and upload is not None) else None)
    cached = st.session_state.get("ft_ds")
    if not cached or cached[0] != key:
        try:
            if choice != UPLOAD:
                value = dataset_source(choice, None)
            elif upload is None:
                value = None
            else:
                value = dataset_from_bytes(upload.name, upload.getvalue())
        except ValueError as exc:
            value = exc
        cached = st.session_state["ft_ds"] = (key, value)
    if isinstance(cached[1], Exception):
        raise cached[1]
    return cached[1]


def _params(model_key: str, s) -> str:
    key = (model_key, s.rank, s.alpha, s.target_modules)
    cached = st.session_state.get("ft_params")
    if not cached or cached[0] != key:
        cached = st.session_state["ft_params"] = (key, params_markdown(lora_param_count(model_key, s)))
    return cached[1]


def _finetune_tab(model_key: str) -> None:
    left, right = st.columns(2, gap="large")
    with left:
        choice = st.radio("Dataset", shipped_datasets() + [UPLOAD], key="ft_dataset", horizontal=True,
                          help="pirate: answers like a pirate · studio_guide: answers about this studio")
        upload = st.file_uploader("Your prompt/response pairs (.jsonl or .csv)", type=["jsonl", "csv", "json"],
                                  key="ft_upload", on_change=_upload_chosen)
        ds = None
        with guard():
            ds = _dataset(choice, upload)
            if ds is None:
                st.info(UPLOAD_HELP)
            else:
                st.markdown(dataset_summary(ds))
                st.dataframe(pd.DataFrame(preview(ds, 12), columns=["prompt", "response"]), hide_index=True,
                             width="stretch", height=260)
    with right:
        c1, c2 = st.columns(2)
        tune = by_name(FINETUNE_CONTROLS)
        rank, alpha = render(tune["rank"], "ft_rank", c1), render(tune["alpha"], "ft_alpha", c2)
        targets = st.multiselect("Target modules", list(TARGETS), ["q_proj", "v_proj"], key="ft_targets")
        # Offered where bitsandbytes is installed and runs on this device; ticking it runs core's
        # real probe (seconds, once per process: a 4-bit LoRA step whose gradients must match full
        # precision), which unticks it with the reason where 4-bit would not train correctly.
        no_qlora = four_bit_problem(get_device(), probe=False) or st.session_state.get("ft_qlora_problem")
        four_bit = st.checkbox(QLORA_LABEL, key="ft_qlora", disabled=no_qlora is not None, on_change=_check_qlora,
                               help=QLORA_INFO if no_qlora is None else f"Not available here: {no_qlora}")
        if st.session_state.get("ft_qlora_problem"):
            st.warning(st.session_state["ft_qlora_problem"])
        with st.form("ft_form", border=False):
            c1, c2 = st.columns(2)
            lr, steps = render(tune["lr"], "ft_lr", c1), render(tune["steps"], "ft_steps", c2)
            name = st.text_input("Adapter name (optional)", placeholder="e.g. my-pirate", key="ft_name")
            b1, b2 = st.columns(2)
            est = b1.form_submit_button("Estimate time", width="stretch", key="ft_estimate")
            train = b2.form_submit_button("Train", type="primary", width="stretch", key="ft_train")
        s = None
        with guard():
            s = lora_settings(rank, alpha, targets, lr, steps, four_bit)
            model(model_key)
            st.markdown(_params(model_key, s))
        st.caption("Cancel stops after the current step and still saves the adapter. *Estimate time* runs a "
                   "3-step probe on this machine.")
        if est and s is not None:
            with guard(), st.spinner("Timing a 3-step probe…"):
                from core.chat.lora_train import estimate

                if ds is None:
                    dataset_source(choice, None)  # core's "upload a file first"
                st.session_state["ft_estimate_md"] = estimate_markdown(estimate(ds, s, model_key), s)
        if st.session_state.get("ft_estimate_md"):
            st.markdown(st.session_state["ft_estimate_md"])
        if train and s is not None:
            with guard():
                _start(ds, choice, s, name, model_key)
        running = _job_running()
        st.fragment(_training_panel, run_every=POLL_S if running else None)()
    if s is not None:
        code_box(train_code(ds.name if ds is not None and ds.name != "upload" else "my_data.jsonl", s))


def _check_qlora() -> None:
    """On ticking 4-bit: core's real probe; where 4-bit would not train correctly, untick it and
    keep the reason (the Gradio tab does the same)."""
    if st.session_state.get("ft_qlora"):
        problem = four_bit_problem(get_device())
        if problem:
            st.session_state["ft_qlora"] = False
            st.session_state["ft_qlora_problem"] = problem


def _start(ds, choice: str, s, name: str, model_key: str) -> None:
    from core.chat.lora_train import start_training

    if ds is None:
        dataset_source(choice, None)  # raises core's "upload a file first"
    job = start_training(ds, s, (name or "").strip() or None, model_key, owner=visitor())
    st.session_state["ft_job"] = job.job_id
    st.session_state.pop("ft_cancelling", None)


def _job_running() -> bool:
    from core.chat.lora_train import get_job

    return job_running("ft_job", get_job)


def _cancel(job_id: str) -> None:
    from core.chat.lora_train import get_job

    get_job(job_id).cancel()
    st.session_state["ft_cancelling"] = job_id


def _training_panel() -> None:
    """Progress bar, loss curve and Cancel of this session's job; polled while it runs."""
    from core.chat.lora_train import get_job

    job_id = st.session_state.get("ft_job")
    if not job_id:
        st.caption("Training runs in the background: you can chat or switch pages meanwhile.")
        return
    try:
        status = get_job(job_id).status()
    except ValueError as exc:  # the app restarted since: the id is gone
        show_error(exc)
        del st.session_state["ft_job"]
        return
    st.progress(status.step / max(status.total, 1),
                text=f"{status.step}/{status.total} steps" if status.finished else job_message(status))
    if status.state == "failed":
        st.error(job_message(status))
    elif status.finished and status.warning:  # the run's own check: it may have learned nothing
        st.warning(job_message(status))
    elif status.finished:
        st.success(job_message(status))
    elif st.session_state.get("ft_cancelling") == job_id:
        st.info("Cancelling after the current step; the adapter is saved as it is.")
    else:
        st.button("Cancel", key="ft_cancel", on_click=_cancel, args=(job_id,), icon=":material/cancel:")
    if status.losses:
        st.line_chart(pd.DataFrame(loss_points(status.losses)), x="step", y="loss", height=240,
                      x_label="step", y_label="loss (response tokens)")
    if status.finished and st.session_state.get("ft_seen") != job_id:
        st.session_state["ft_seen"] = job_id
        st.rerun()  # the whole page: the menus list the new adapter and the polling stops


# --- compare ---------------------------------------------------------------------------------

def _token_html(spans) -> str:
    legend = " ".join(f"<span style='background:{c};padding:1px 6px;border-radius:4px'>{html.escape(k)}</span>"
                      for k, c in DIVERGE_COLOURS.items())
    body = "".join(
        f"<span style='background:{DIVERGE_COLOURS[label]};border-radius:3px'>{html.escape(tok)}</span>"
        if label else html.escape(tok) for tok, label in spans)
    return (f"<div style='font-size:0.8em;margin-bottom:6px'>{legend}</div>"
            f"<div style='white-space:pre-wrap;line-height:1.9;font-family:monospace'>{body}</div>")


def _score(which: str) -> None:
    c = st.session_state["cmp"]
    text = c["adapted"] if which == "adapted reply" else c["base"]
    tc = score_reply(c["prompt"], c["adapter"], text, c["system"])
    c["scored"], c["spans"], c["rows"] = which, token_spans(tc), token_rows(tc)


def _compare_tab(model_key: str, names: dict[str, str]) -> None:
    adapters = [n for n in names]
    with st.form("cmp_form", border=False):
        c1, c2, c3 = st.columns([3, 2, 1.2], vertical_alignment="bottom")
        prompt = c1.text_input("Prompt", "What is the capital of France?", key="cmp_prompt")
        default = adapters.index("pirate-demo") if "pirate-demo" in adapters else 0
        if st.session_state.get("cmp_adapter") not in adapters:  # first run, or it was deleted
            st.session_state["cmp_adapter"] = adapters[default] if adapters else None
        adapter = c2.selectbox("Adapter", adapters, key="cmp_adapter",
                               format_func=lambda n: names.get(n, n))
        go = c3.form_submit_button("Answer with both", type="primary", key="cmp_go", width="stretch")
    if go:
        with guard(), st.spinner("Both models answer…"):
            settings = generation_settings(st.session_state.get("chat_system", DEFAULT_SYSTEM_PROMPT),
                                           st.session_state.get("chat_temperature", 0.0),
                                           st.session_state.get("chat_top_p", 0.9),
                                           min(int(st.session_state.get("chat_max_tokens", 128)), COMPARE_MAX_TOKENS))
            base, adapted = compare_replies(prompt, adapter or "", settings, model_key)
            st.session_state["cmp"] = {"prompt": prompt.strip(), "adapter": adapter, "base": base,
                                       "adapted": adapted, "system": settings.system_prompt}
            _score("adapted reply")
    c = st.session_state.get("cmp")
    if c:
        c1, c2 = st.columns(2)
        with c1.container(border=True):
            st.markdown("**Base model**")
            st.text(c["base"])
        with c2.container(border=True):
            st.markdown(f"**Base + {c['adapter']}**")
            st.text(c["adapted"])
    left, right = st.columns([3, 2], gap="large")
    with right:
        which = st.radio("Score this reply under both models", ["adapted reply", "base reply"], key="cmp_which",
                         horizontal=True)
        if st.button("Per-token probabilities", key="cmp_score"):
            with guard():
                if not c:
                    score_reply("", "", "")  # core's "press 'Answer with both' first"
                with st.spinner("Scoring under both models…"):
                    _score(which)
        c1, c2 = st.columns([1, 1], vertical_alignment="bottom")
        ppl_ds = c1.selectbox("Held-out split of", shipped_datasets(), key="ppl_ds")
        if c2.button("Perplexity of both", key="ppl_go", width="stretch"):
            with guard(), st.spinner("Perplexity under both models…"):
                st.session_state["ppl_md"] = compare_perplexity(ppl_ds, adapter or "", model_key)
        if st.session_state.get("ppl_md"):
            st.markdown(st.session_state["ppl_md"])
    with left:
        if c and c.get("spans"):
            st.markdown(f"**Per-token probability of the {c['scored']}**: where the models diverge "
                        "(colour = which model finds the token likelier)")
            st.html(_token_html(c["spans"]))
            with st.expander("Token table"):
                st.dataframe(pd.DataFrame(c["rows"], columns=TOKEN_COLUMNS), hide_index=True, width="stretch",
                             height=240)
        else:
            st.caption("Press *Answer with both*: each model answers the same prompt, then every token of one "
                       "reply is scored under both models.")


# --- adapters --------------------------------------------------------------------------------

def _adapters_tab(model_key: str) -> None:
    rows = [a.row() for a in list_adapters(owner=visitor())]
    st.dataframe(pd.DataFrame(rows) if rows else pd.DataFrame(columns=["name"]), hide_index=True, width="stretch")
    me = visitor()
    mine = [a.name for a in list_adapters(owner=me) if not a.shipped and a.meta.get("owner") == me]
    if st.session_state.get("ad_pick") not in mine:  # first run, a new adapter, or it was deleted
        st.session_state["ad_pick"] = mine[0] if mine else None
    c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
    pick = c1.selectbox("Adapter", mine, key="ad_pick", placeholder="none trained or uploaded yet")
    c2.button("Use in chat", key="ad_use", on_click=_use_adapter, args=(pick,), width="stretch",
              disabled=not mine)
    if c3.button("Delete", key="ad_delete", type="primary", width="stretch", disabled=not mine):
        with guard():
            if not pick:
                raise ValueError("pick one of your adapters to delete")
            delete_adapter(pick, owner=visitor())
            st.session_state["ad_msg"] = f"Deleted {pick}."
            st.rerun()
    c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
    files = c1.file_uploader("Upload adapter_config.json + adapter_model.safetensors", accept_multiple_files=True,
                             key="ad_files")
    name = c2.text_input("Name for it", key="ad_name")
    if c3.button("Add adapter", key="ad_add", width="stretch"):
        with guard(), tempfile.TemporaryDirectory(prefix="nlp-studio-adapter-") as tmp:
            paths = []
            for f in files or []:
                path = Path(tmp) / Path(f.name).name
                path.write_bytes(f.getvalue())
                paths.append(path)
            info = import_adapter(paths, name, model_key, owner=visitor())
            st.session_state["ad_msg"] = f"Added {info.name}."
            st.rerun()
    if st.session_state.get("ad_msg"):
        st.success(st.session_state.pop("ad_msg"))


# --- page ------------------------------------------------------------------------------------

def main() -> None:
    heading("chat", LORA_EXPLAINER)
    c1, c2 = st.columns(2)
    models = available_models("causal-lm")
    model_key = c1.selectbox("Base model", models, index=models.index(DEFAULT_MODEL), key="model",
                             help="others need `python -m core.download KEY` first")
    names = _adapter_names(model_key)
    if st.session_state.get("adapter") not in ("", None, *names):
        st.session_state["adapter"] = ""  # deleted, or made for another base model
    adapter = c2.selectbox("LoRA adapter", ["", *names], key="adapter",
                           format_func=lambda n: names.get(n, BASE_LABEL))
    chat, finetune, compare, adapters = st.tabs(["Chat", "Fine-tune", "Compare", "Adapters"])
    with chat:
        _chat_tab(model_key, adapter or "")
    with finetune:
        _finetune_tab(model_key)
    with compare:
        _compare_tab(model_key, names)
    with adapters:
        _adapters_tab(model_key)


run_page(main)
