"""The HTTP API: OpenAI's shapes, usage counts, the chat template, errors, and 32 concurrent clients."""

# ruff: noqa: F811  (pytest fixtures imported from serve_fixtures are redefined as arguments)
import asyncio
import json

import httpx
import pytest
from serve_fixtures import served, tiny_workdir  # noqa: F401

from hrm_jax.serve import chat
from hrm_jax.tokenizer import load_tokenizer


def _error(r, status, param=None, contains=""):
  assert r.status_code == status, r.text
  err = r.json()["error"]
  assert set(err) == {"message", "type", "param", "code"}
  assert contains in err["message"], err
  if param is not None:
    assert err["param"] == param, err
  return err


def test_models_lists_the_served_model(served):
  url, _ = served
  models = httpx.get(url + "/v1/models").json()
  assert [m["id"] for m in models["data"]] == ["tiny"] and models["data"][0]["max_model_len"] == 256
  assert httpx.get(url + "/v1/models/tiny").json()["id"] == "tiny"
  _error(httpx.get(url + "/v1/models/other"), 404, "model")


def test_completion_usage_counts_and_length(served):
  url, server = served
  tok = load_tokenizer()
  prompt = "def add(a, b):"
  r = httpx.post(
    url + "/v1/completions", json={"model": "tiny", "prompt": prompt, "max_tokens": 6, "temperature": 0}, timeout=60
  ).json()
  assert r["object"] == "text_completion" and len(r["choices"]) == 1
  assert r["usage"]["prompt_tokens"] == len(tok.encode(prompt))
  choice = r["choices"][0]
  n = r["usage"]["completion_tokens"]
  assert r["usage"]["total_tokens"] == r["usage"]["prompt_tokens"] + n
  assert (n == 6) == (choice["finish_reason"] == "length") and 1 <= n <= 6
  # greedy is deterministic; a token-id prompt gives the same as its text
  again = httpx.post(
    url + "/v1/completions",
    json={"model": "tiny", "prompt": tok.encode(prompt), "max_tokens": 6, "temperature": 0},
    timeout=60,
  ).json()
  assert again["choices"][0]["text"] == choice["text"]


def test_n_choices_and_batched_prompts(served):
  url, _ = served
  r = httpx.post(
    url + "/v1/completions",
    json={"model": "tiny", "prompt": ["a", "bb"], "n": 2, "max_tokens": 3, "temperature": 1.0, "seed": 5},
    timeout=60,
  ).json()
  assert [c["index"] for c in r["choices"]] == [0, 1, 2, 3]
  assert r["usage"]["completion_tokens"] <= 12


def test_streaming_matches_the_whole_reply_for_a_seed(served):
  url, _ = served
  body = {
    "model": "tiny",
    "messages": [{"role": "system", "content": "You write Python."}, {"role": "user", "content": "Add two numbers."}],
    "max_tokens": 10,
    "temperature": 0.9,
    "seed": 42,
  }
  whole = httpx.post(url + "/v1/chat/completions", json=body, timeout=60).json()
  assert whole["object"] == "chat.completion"
  text = whole["choices"][0]["message"]["content"]
  chunks = []
  with httpx.stream(
    "POST",
    url + "/v1/chat/completions",
    timeout=60,
    json=dict(body, stream=True, stream_options={"include_usage": True}),
  ) as r:
    assert r.headers["content-type"].startswith("text/event-stream")
    lines = [l for l in r.iter_lines() if l]
  assert lines[-1] == "data: [DONE]"
  chunks = [json.loads(l[len("data: ") :]) for l in lines[:-1]]
  assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
  assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
  streamed = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
  assert streamed == text
  assert chunks[-1]["usage"] == whole["usage"]
  assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == whole["choices"][0]["finish_reason"]


def test_bad_requests_get_the_error_shape(served):
  url, _ = served
  post = lambda body, route="/v1/chat/completions": httpx.post(
    url + route, timeout=60, **({"content": body} if isinstance(body, (str, bytes)) else {"json": body})
  )
  msgs = [{"role": "user", "content": "hi"}]
  _error(post("{not json"), 400, contains="not valid JSON")
  _error(post([1, 2]), 400, contains="JSON object")
  _error(post({"messages": msgs}), 400, "model")
  _error(post({"model": "gpt-9", "messages": msgs}), 404, "model", "tiny")
  _error(post({"model": "tiny", "messages": msgs, "temperature": 3}), 400, "temperature")
  _error(post({"model": "tiny", "messages": msgs, "top_p": 0}), 400, "top_p")
  _error(post({"model": "tiny", "messages": msgs, "max_tokens": 0}), 400, "max_tokens")
  _error(post({"model": "tiny", "messages": msgs, "max_tokens": "9"}), 400, "max_tokens")
  _error(post({"model": "tiny", "messages": msgs, "n": 100}), 400, "n")
  _error(post({"model": "tiny", "messages": msgs, "stop": ["a", "b", "c", "d", "e"]}), 400, "stop")
  _error(post({"model": "tiny", "messages": msgs, "logprobs": True}), 400, "logprobs")
  _error(post({"model": "tiny", "messages": msgs, "presence_penalty": 0.5}), 400, "presence_penalty")
  _error(post({"model": "tiny", "messages": msgs, "language": "cobol"}), 400, "language")
  _error(post({"model": "tiny", "messages": []}), 400, "messages")
  _error(post({"model": "tiny", "messages": [{"role": "wizard", "content": "x"}]}), 400, "messages[0].role")
  _error(
    post({"model": "tiny", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
    400,
    "messages[0].content[0]",
  )
  _error(post({"model": "tiny", "prompt": None}, "/v1/completions"), 400, "prompt")
  _error(post({"model": "tiny", "prompt": [1, 99999]}, "/v1/completions"), 400, "prompt", "vocabulary")
  _error(httpx.get(url + "/v1/nothing"), 404)
  # context: the limit is named, for the prompt alone and with max_tokens
  err = _error(
    post({"model": "tiny", "messages": [{"role": "user", "content": "word " * 400}]}),
    400,
    "messages",
    "maximum context length is 256 tokens",
  )
  assert err["code"] == "context_length_exceeded"
  _error(
    post({"model": "tiny", "prompt": "hello", "max_tokens": 300}, "/v1/completions"),
    400,
    "prompt",
    "maximum context length is 256 tokens",
  )
  # and the server is still up
  assert httpx.get(url + "/health").json()["status"] == "ok"


def test_32_concurrent_clients_are_batched_and_all_served(served):
  url, server = served
  before = dict(server.engine.stats)

  async def main():
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:

      async def one(i):
        route, body = (
          ("/v1/completions", {"prompt": f"x = {i}"})
          if i % 2
          else ("/v1/chat/completions", {"messages": [{"role": "user", "content": f"n{i}"}], "stream": i % 4 == 0})
        )
        r = await client.post(route, json=dict(body, model="tiny", max_tokens=4, temperature=0.7, seed=i))
        assert r.status_code == 200, r.text
        return r

      return await asyncio.gather(*(one(i) for i in range(32)))

  responses = asyncio.run(main())
  assert len(responses) == 32
  stats = server.engine.stats
  assert stats["requests"] - before["requests"] == 32
  assert stats["max_rows"] >= 2  # rows decoded together (4 at most)
  assert stats["steps"] - before["steps"] < stats["tokens"] - before["tokens"]
  assert httpx.get(url + "/health").json()["status"] == "ok"


def test_request_log_has_the_round_trip(served):
  url, server = served
  httpx.post(url + "/v1/completions", json={"model": "tiny", "prompt": "logged", "max_tokens": 2}, timeout=60)
  entries = [json.loads(l) for l in open(server.log_path)]
  last = entries[-1]
  assert last["route"] == "/v1/completions" and last["request"]["prompt"] == "logged"
  assert last["completion_tokens"] <= 2 and len(last["choices"]) == 1


def test_chat_template_maps_roles_to_our_tokens():
  messages = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": [{"type": "text", "text": "How many files?"}]},
    {
      "role": "assistant",
      "content": None,
      "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "shell", "arguments": '{"command": "ls"}'}}],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "a.py\nb.py\n"},
    {"role": "assistant", "content": "Two."},
    {"role": "user", "content": "And now?"},
  ]
  text, uses_tools = chat.render_chat(messages, [{"type": "function", "function": {"name": "shell"}}])
  assert text == (
    "<|problem|>Be brief.\n\nHow many files?\n\nTools: shell"
    '<|tool_call|>{"tool": "shell", "args": {"command": "ls"}}<|tool_result|>a.py\nb.py\n'
    "<|code|>Two.<|feedback|>And now?<|code|>"
  )
  assert uses_tools
  assert chat.render_chat([{"role": "user", "content": "x"}]) == ("<|problem|>x<|code|>", False)
  with pytest.raises(chat.TemplateError, match="arguments is not JSON"):
    chat.render_chat(
      [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{"}}]},
      ]
    )


def test_replies_become_tool_calls_only_when_tools_were_offered():
  reply = '<|tool_call|>{"tool": "python", "args": {"code": "print(1)"}}'
  content, calls = chat.parse_reply(reply, True)
  assert content is None and calls[0]["function"] == {"name": "python", "arguments": '{"code": "print(1)"}'}
  assert chat.parse_reply(reply, False) == (reply, [])
  assert chat.parse_reply("<|answer|>42", True) == ("42", [])
  assert chat.parse_reply("<|tool_call|>{broken", True) == ("<|tool_call|>{broken", [])
  stream = chat.ReplyStream(tools_offered=True)
  assert stream.push("<|tool") == "" and stream.push("_call|>{") == "" and stream.decided == "call"
  stream = chat.ReplyStream(tools_offered=True)
  assert stream.push("<|ans") == "" and stream.push("wer|>4") == "4" and stream.push("2") == "2"


def test_serve_command_refuses_bad_flags_and_workdirs(tmp_path, capsys):
  from hrm_jax import cli

  assert cli.main(["serve", "--workdir", str(tmp_path), "--max-batch", "0"]) == 2
  assert "--max-batch must be >= 1" in capsys.readouterr().err
  assert cli.main(["serve", "--workdir", str(tmp_path / "none")]) == 2
  err = capsys.readouterr().err
  assert err.startswith("hrm-jax serve: ") and "config.json not found" in err


def test_a_client_that_goes_away_frees_its_row(served):
  url, server = served
  import time

  before = server.engine.stats["tokens"]
  body = {"model": "tiny", "prompt": "x", "max_tokens": 240, "stream": True, "temperature": 1.0, "seed": 1}
  with httpx.stream("POST", url + "/v1/completions", json=body, timeout=60) as r:
    for line in r.iter_lines():
      if line.startswith("data: {"):
        break  # one chunk, then hang up
  deadline = time.time() + 20
  while server.engine.active and time.time() < deadline:
    time.sleep(0.05)
  assert server.engine.active == 0
  assert server.engine.stats["tokens"] - before < 240  # the row stopped early, not at max_tokens
