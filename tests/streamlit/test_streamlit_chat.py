"""The LoRA Chat Streamlit page, run headless with AppTest on the real SmolLM2-135M weights.

Each check compares the page with the direct core call, or shows core's own message for bad input.
Training runs a few steps only; the page starts it and returns, the job is awaited through core.
"""
from __future__ import annotations

import json
import time
import uuid

import pytest

from core.chat.conversation import DEFAULT_MODEL, DEFAULT_SYSTEM_PROMPT, GenerationSettings, reply
from core.chat.view import UPLOAD, compare_replies, dataset_from_bytes
from core.config import CHAT_MAX_MESSAGE_CHARS
from core.chat.lora import import_adapter, list_adapters
from tests.streamlit_pages import errors, run_page, text_of

QUESTION = "What is the capital of France?"


def _message(exc_info) -> str:
    return str(exc_info.value)


def _core_error(fn, *args) -> str:
    with pytest.raises(ValueError) as exc:
        fn(*args)
    return _message(exc)


def _jsonl(rows) -> bytes:
    return "\n".join(json.dumps(r) for r in rows).encode()


def test_page_renders_with_the_shipped_adapter_ready():
    at = run_page("chat")
    assert not errors(at)
    assert [s.value for s in at.subheader][:1] == ["Conversation"]
    assert "two small matrices" in text_of(at)  # the LoRA explanation
    assert "pirate-demo (shipped)" in at.selectbox(key="adapter").options
    assert "Trainable:" in text_of(at) and "of 135M parameters" in text_of(at)
    assert "examples" in text_of(at)  # the default dataset's summary and preview


def test_chat_reply_is_core_reply_and_history_carries_on():
    at = run_page("chat")
    at.slider(key="chat_max_tokens").set_value(24)
    at.chat_input(key="chat_msg").set_value(QUESTION).run()
    assert not at.exception and not errors(at)
    s = GenerationSettings(max_new_tokens=24, system_prompt=DEFAULT_SYSTEM_PROMPT)
    first = [{"role": "user", "content": QUESTION}]
    expected = reply(first, DEFAULT_MODEL, None, s)
    assert "paris" in expected.lower()
    history = at.session_state["chat_history"]
    assert history == first + [{"role": "assistant", "content": expected}]
    assert [m.name for m in at.chat_message] == ["user", "assistant"]

    # Same conversation, now with the shipped adapter: the page sends the whole history.
    at.selectbox(key="adapter").set_value("pirate-demo")
    at.chat_input(key="chat_msg").set_value("How do I cook rice?").run()
    assert not at.exception and not errors(at)
    asked = history[:2] + [{"role": "user", "content": "How do I cook rice?"}]
    expected2 = reply(asked, DEFAULT_MODEL, "pirate-demo", s)
    assert at.session_state["chat_history"] == asked + [{"role": "assistant", "content": expected2}]
    assert any(m in expected2.lower() for m in ("arr", "matey", "ahoy")), expected2  # the adapter's voice

    at.button(key="chat_clear").click().run()
    assert at.session_state["chat_history"] == [] and not at.chat_message


def test_bad_chat_input_shows_core_message_and_page_keeps_working():
    at = run_page("chat")
    long_system = "x" * (CHAT_MAX_MESSAGE_CHARS + 1)
    at.text_area(key="chat_system").input(long_system).run()
    expected = _core_error(GenerationSettings, 0.0, 0.9, 128, long_system)
    assert expected in errors(at)

    at.text_area(key="chat_system").input(DEFAULT_SYSTEM_PROMPT).run()
    assert not errors(at)
    too_long = "word " * (CHAT_MAX_MESSAGE_CHARS // 5 + 10)
    at.chat_input(key="chat_msg").set_value(too_long).run()
    assert not at.exception
    assert any("the limit is" in e and "characters" in e for e in errors(at)), errors(at)
    assert at.session_state["chat_history"] == []  # the unanswered message is not kept

    at.slider(key="chat_max_tokens").set_value(8)
    at.chat_input(key="chat_msg").set_value(QUESTION).run()
    assert not errors(at)
    assert at.session_state["chat_history"][-1] == {
        "role": "assistant",
        "content": reply([{"role": "user", "content": QUESTION}], settings=GenerationSettings(max_new_tokens=8))}


@pytest.mark.parametrize("name, data, needle", [
    ("broken.jsonl", b'{"prompt": "hi", "response": "ho"}\n{"prompt": oops}\n', "not valid JSON"),
    ("fields.jsonl", _jsonl([{"prompt": f"q{i}", "reply": "a"} for i in range(12)]), "no 'response' field"),
    ("few.jsonl", _jsonl([{"prompt": f"q{i}", "response": "a"} for i in range(3)]), "LoRA needs at least"),
    ("nohead.csv", b"1,2\n3,4\n", "header row"),
])
def test_bad_dataset_upload_shows_core_message(name, data, needle):
    at = run_page("chat")
    at.file_uploader(key="ft_upload").set_value((name, data, "application/octet-stream")).run()
    assert not at.exception
    assert at.radio(key="ft_dataset").value == UPLOAD  # the upload was chosen for training
    expected = _core_error(dataset_from_bytes, name, data)
    assert needle in expected and errors(at) == [expected]

    # Train with the bad file: the same message, nothing starts; then a good file previews.
    at.button(key="ft_train").click().run()
    assert expected in errors(at) and "ft_job" not in at.session_state
    good = _jsonl([{"prompt": f"Question {i}?", "response": f"Answer {i}."} for i in range(10)])
    at.file_uploader(key="ft_upload").set_value(("good.jsonl", good, "application/json")).run()
    assert not errors(at)
    assert "**10 examples**: 8 for training, 2 held out" in text_of(at)
    assert at.dataframe[0].value["prompt"].tolist()[:2] == ["Question 0?", "Question 1?"]


def test_bad_lora_settings_and_empty_upload_choice():
    at = run_page("chat")
    at.multiselect(key="ft_targets").set_value([]).run()
    assert any("target modules must be some of" in e for e in errors(at))
    at.multiselect(key="ft_targets").set_value(["q_proj"]).run()
    assert not errors(at)
    at.radio(key="ft_dataset").set_value(UPLOAD).run()
    at.button(key="ft_train").click().run()
    assert "upload a JSONL or CSV file with prompt and response columns first" in errors(at)


def test_adapter_upload_refuses_pickles_and_bad_names(tmp_path):
    at = run_page("chat")
    cfg = json.dumps({"peft_type": "LORA", "r": 8}).encode()
    at.file_uploader(key="ad_files").set_value([("adapter_model.bin", b"\x80\x04junk", "application/octet-stream"),
                                                ("adapter_config.json", cfg, "application/json")])
    at.text_input(key="ad_name").input("mine")
    at.button(key="ad_add").click().run()
    (tmp_path / "adapter_model.bin").write_bytes(b"\x80\x04junk")
    (tmp_path / "adapter_config.json").write_bytes(cfg)
    expected = _core_error(import_adapter, [tmp_path / "adapter_model.bin", tmp_path / "adapter_config.json"], "mine")
    assert "only .safetensors adapters are accepted" in expected and errors(at) == [expected]

    at.text_input(key="ad_name").input("no spaces allowed").run()
    at.button(key="ad_add").click().run()
    assert any("is not allowed" in e for e in errors(at))
    assert not at.exception


def test_compare_matches_core_and_scores_tokens():
    at = run_page("chat")
    at.slider(key="chat_max_tokens").set_value(24)  # the chat's settings, capped at 60 for the comparison
    at.button(key="cmp_go").click().run()
    assert not at.exception and not errors(at)
    s = GenerationSettings(max_new_tokens=24)
    base, adapted = compare_replies(QUESTION, "pirate-demo", s)
    c = at.session_state["cmp"]
    assert (c["base"], c["adapted"]) == (base, adapted) and base != adapted
    assert len(c["rows"]) >= 3 and c["scored"] == "adapted reply"
    assert any(label for _, label in c["spans"])  # somewhere the two models diverge

    at.button(key="ppl_go").click().run()
    assert "Held-out perplexity on **pirate**" in text_of(at)

    at.text_input(key="cmp_prompt").input("   ")
    at.button(key="cmp_go").click().run()
    assert "type a prompt first" in errors(at)
    assert at.session_state["cmp"]["adapted"] == adapted  # the last good result stays


def test_training_runs_off_the_script_thread_and_a_second_user_hears_busy():
    from core.chat.lora_train import get_job, wait_until_free

    wait_until_free()  # another test run on this machine may be training
    name = f"test-st-{uuid.uuid4().hex[:6]}"
    at = run_page("chat")
    at.slider(key="ft_steps").set_value(3)
    at.text_input(key="ft_name").input(name)
    at.button(key="ft_train").click().run()  # returns while the job runs in core's thread
    assert not at.exception and not errors(at)
    job = get_job(at.session_state["ft_job"])
    try:
        assert at.get("progress"), "the training panel shows a progress bar"
        assert name in at.get("progress")[0].text

        other = run_page("chat")  # a second browser session
        other.slider(key="ft_steps").set_value(2)
        other.button(key="ft_train").click().run()
        assert any("training in progress by another user" in e for e in errors(other)), errors(other)
        assert "ft_job" not in other.session_state
    finally:
        status = job.wait(600)
    assert status.state == "done" and len(status.losses) == 3

    at.run()
    assert not at.exception
    assert any(f"Saved adapter **{name}**" in s.value for s in at.success)
    assert name in at.selectbox(key="adapter").options  # usable in the chat at once
    assert at.get("progress")[0].value == 100

    at.selectbox(key="ad_pick").set_value(name)
    at.button(key="ad_delete").click().run()
    assert not errors(at) and f"Deleted {name}." in text_of(at)
    assert name not in [a.name for a in list_adapters()]


def test_cancel_stops_after_the_current_step_and_keeps_the_adapter():
    from core.chat.lora import delete_adapter
    from core.chat.lora_train import get_job, wait_until_free

    wait_until_free()
    at = run_page("chat")
    at.slider(key="ft_steps").set_value(200)
    at.button(key="ft_train").click().run()
    assert not errors(at)
    job = get_job(at.session_state["ft_job"])
    deadline = time.time() + 600
    while job.status().step < 1 and not job.status().finished and time.time() < deadline:
        time.sleep(0.5)  # cancel once a step is done, so there is something to save
    at.button(key="ft_cancel").click().run()  # a click inside the polled fragment
    assert "Cancelling after the current step" in text_of(at)
    status = job.wait(600)
    try:
        assert status.state == "cancelled" and 1 <= len(status.losses) < 200 and status.adapter
        at.run()
        assert any(f"Saved adapter **{status.adapter}** (cancelled" in s.value for s in at.success)
    finally:
        if status.adapter:
            delete_adapter(status.adapter)


def test_estimate_runs_a_probe_and_says_how_long():
    at = run_page("chat")
    at.slider(key="ft_steps").set_value(40)
    at.button(key="ft_estimate").click().run()
    assert not errors(at)
    assert "for 40 steps on this machine" in text_of(at) and "s a step, measured on a" in text_of(at)


def test_qlora_option_matches_core_availability():
    """The 4-bit (QLoRA) box is offered exactly where core says 4-bit can run, and ticking it puts
    quantization='4bit' into the settings the page trains with (shown in its code box)."""
    from core.device import get_device
    from core.chat.llm import four_bit_problem

    at = run_page("chat")
    box = at.checkbox(key="ft_qlora")
    problem = four_bit_problem(get_device(), probe=False)
    assert box.disabled == (problem is not None)
    if problem is None:
        box.check().run()
        assert not at.exception and not errors(at)
        assert "quantization='4bit'" in "\n".join(c.value for c in at.code)
