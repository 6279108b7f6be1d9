"""Real clients on loopback: the official `openai` package, and aider (`aider-chat`, in its own venv)."""

# ruff: noqa: F811  (pytest fixtures imported from serve_fixtures are redefined as arguments)
import json
import os
import shutil

import openai
import pytest
from serve_fixtures import served, served_2k, tiny_workdir  # noqa: F401

from hrm_jax.serve import aider

EXERCISE = os.path.join(
  os.path.dirname(__file__),
  "..",
  "..",
  "data_pipelines",
  "data",
  "polyglot",
  "python",
  "exercises",
  "practice",
  "bracket-depth",
)


@pytest.fixture(scope="module")
def client(served):
  url, _ = served
  return openai.OpenAI(base_url=url + "/v1", api_key="none", max_retries=0, timeout=120)


def test_openai_client_models_completion_and_chat(client):
  assert [m.id for m in client.models.list().data] == ["tiny"]
  completion = client.completions.create(model="tiny", prompt="def f(x):", max_tokens=5, temperature=0)
  assert completion.object == "text_completion" and completion.choices[0].finish_reason in ("stop", "length")
  assert 0 < completion.usage.completion_tokens <= 5
  reply = client.chat.completions.create(
    model="tiny",
    messages=[{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"}],
    max_tokens=5,
    temperature=0.5,
    top_p=0.9,
    seed=3,
    stop=["\n\n"],
  )
  assert reply.choices[0].message.role == "assistant" and isinstance(reply.choices[0].message.content, str)
  assert (
    reply.usage.prompt_tokens > 0
    and reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
  )


def test_openai_client_streams_chat_and_completion(client):
  body = dict(model="tiny", messages=[{"role": "user", "content": "count"}], max_tokens=6, temperature=0.8, seed=9)
  whole = client.chat.completions.create(**body).choices[0].message.content
  stream = client.chat.completions.create(**body, stream=True, stream_options={"include_usage": True})
  parts, usage = [], None
  for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
      parts.append(chunk.choices[0].delta.content)
    usage = chunk.usage or usage
  assert "".join(parts) == whole and usage.completion_tokens <= 6
  text = "".join(
    c.choices[0].text
    for c in client.completions.create(model="tiny", prompt="x =", max_tokens=4, temperature=0, stream=True)
  )
  assert text == client.completions.create(model="tiny", prompt="x =", max_tokens=4, temperature=0).choices[0].text


def test_openai_client_sees_our_errors(client):
  with pytest.raises(openai.BadRequestError, match="maximum context length is 256 tokens"):
    client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "word " * 400}])
  with pytest.raises(openai.NotFoundError):
    client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])


@pytest.mark.slow
@pytest.mark.skipif(
  aider.executable() is None, reason="aider is not installed: python -m hrm_jax.serve.aider --install"
)
def test_aider_edits_a_bundled_exercise_through_our_server(served_2k, tmp_path):
  url, server = served_2k
  work = tmp_path / "exercise"
  shutil.copytree(EXERCISE, work)
  source = work / "bracket_depth.py"
  before = source.read_text()
  result = aider.run(
    url + "/v1",
    "tiny2k",
    str(work),
    "Implement max_depth so the tests pass.",
    ["bracket_depth.py"],
    edit_format="whole",
    max_output=24,
  )
  out = result.stdout + result.stderr
  assert result.returncode == 0, out
  # The round trip: aider's request reached us (its whole-file prompt, with the file's content) ...
  entries = [json.loads(l) for l in open(server.log_path)]
  assert entries, out
  request = entries[-1]["request"]
  assert request["model"] == "tiny2k" and request.get("stream") is True
  sent = json.dumps(request["messages"])
  assert "bracket_depth.py" in sent and before.strip().splitlines()[0] in sent
  # ... and our reply reached aider, which showed it and reported on it per its protocol: a reply cut by the
  # token limit is reported as such; a finished one is parsed for whole-file edits (applied, or none found).
  reply = entries[-1]["choices"][0]
  shown = reply["text"].strip().split("\n")[0][:20]
  assert shown in out, (reply, out)
  if reply["finish_reason"] == "length":
    assert "hit a token limit" in out, out
    assert source.read_text() == before
  else:
    assert "Applied edit to bracket_depth.py" in out or source.read_text() == before, out
