"""How often a LiteLLM proxy retries by itself, as its `GET /model/info` lists it (the shape LiteLLM 1.110.2 sends)."""

from __future__ import annotations

from typing import Any

import pytest

from interpreter.model.answer import Answer
from interpreter.model.identity import Identity, Sighting, retry_warning, with_deployments

PROXY = Identity(proxy=Sighting("LiteLLM proxy", "header x-litellm-version: 1.110.2"))


def deployment(model: str, **params: Any) -> dict[str, Any]:
    """One entry of /model/info: the name clients ask for, and the deployment's litellm_params."""
    return {"model_name": model, "litellm_params": {"model": f"openai/{model}", **params}, "model_info": {}}


def model_info(*entries: dict[str, Any]) -> Answer:
    """A 200 `GET /model/info` answer."""
    return Answer(200, {}, {"data": list(entries)})


def test_a_model_whose_deployments_set_num_retries_0_gets_no_warning() -> None:
    listed = model_info(deployment("gpt-4o", num_retries=0), deployment("gpt-4o", num_retries=0))
    assert retry_warning(with_deployments(PROXY, listed, "gpt-4o")) == ""


@pytest.mark.parametrize(
    ("entries", "said"),
    [
        pytest.param([deployment("gpt-4o", num_retries=0), deployment("gpt-4o", num_retries=3)], "up to 3 times"),
        pytest.param([deployment("gpt-4o", num_retries=0), deployment("gpt-4o")], "by default 2 times"),
        pytest.param([deployment("gpt-4o-mini", num_retries=0)], "by default 2 times", id="another model's"),
    ],
)
def test_a_model_any_of_whose_deployments_may_retry_is_warned_about(entries: list[dict[str, Any]], said: str) -> None:
    warning = retry_warning(with_deployments(PROXY, model_info(*entries), "gpt-4o"))
    assert f"retries failed requests by itself ({said})" in warning


def test_a_proxy_that_refuses_to_list_its_deployments_keeps_the_default_warning() -> None:
    no_db = {"error": {"message": "No connected db.", "type": "no_db_connection", "param": None, "code": "400"}}
    warning = retry_warning(with_deployments(PROXY, Answer(400, {}, no_db), "gpt-4o"))
    assert "(by default 2 times)" in warning
