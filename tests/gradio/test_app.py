"""The app as a script would use it: launched once, called through gradio_client."""
from __future__ import annotations

import pytest
from gradio_client.exceptions import AppError


def test_endpoints_are_named(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/neighbors", "/analogy", "/project", "/models"} <= names


def test_neighbors_word_and_sentence(client):
    words = client.predict("frog", "word", 5, api_name="/neighbors")
    assert [r["rank"] for r in words] == [1, 2, 3, 4, 5]
    assert {"toad", "frogs", "snake", "lizard"} & {r["text"] for r in words}
    sents = client.predict("The phone battery drains too quickly.", "sentence", 2, api_name="/neighbors")
    assert sents[1]["text"] == "My mobile runs out of charge very fast."


def test_analogy(client):
    top = client.predict("king", "man", "woman", 3, api_name="/analogy")
    assert "queen" in [r["text"] for r in top]
    assert all(-1 <= r["score"] <= 1 for r in top)


def test_project(client):
    rows = client.predict("cat dog horse car bus train", "pca", 3, api_name="/project")
    assert [r["text"] for r in rows] == ["cat", "dog", "horse", "car", "bus", "train"]
    assert all({"x", "y", "z"} <= set(r) for r in rows)


def test_models_endpoint(client):
    rows = {r["key"]: r for r in client.predict(api_name="/models")}
    assert rows["glove-6b-50d"]["state"] in ("available", "loaded")
    assert rows["clip-vit-b-32"]["state"] == "missing"
    assert "python -m core.download clip-vit-b-32" in rows["clip-vit-b-32"]["source"]


@pytest.mark.parametrize("args,api,message", [
    (("", "word", 5), "/neighbors", "empty"),
    (("   ", "sentence", 5), "/neighbors", "empty"),
    (("qwzxvbnmkpl", "word", 5), "/neighbors", "not among"),
    (("x" * 100_000, "word", 5), "/neighbors", "at most"),
    (("frog", "planet", 5), "/neighbors", "kind must be"),
    (("frog", "word", 0), "/neighbors", "k must"),
    (("king", "", "woman", 3), "/analogy", "empty"),
    (("cat dog", "pca", 2), "/project", "at least 3"),
    (("cat dog horse", "lda", 2), "/project", "choose one of"),
])
def test_bad_input_is_a_clear_error_and_the_app_stays_up(client, args, api, message):
    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name=api)
    assert client.predict("king", "man", "woman", 1, api_name="/analogy")[0]["text"] == "queen"
