"""The OpenAI-compatible HTTP API (FastAPI) over the continuous-batching engine.

Routes: GET /v1/models, GET /v1/models/{id}, GET /health, POST /v1/completions, POST /v1/chat/completions
(streaming as server-sent events when `stream` is true, `data: [DONE]` at the end). Parameters honoured:
max_tokens (or max_completion_tokens), temperature, top_p, n, stop, seed, stream, stream_options.include_usage,
tools (chat), and the extensions top_k, language, task. Parameters whose effect we cannot give (logprobs,
echo, suffix, best_of > 1, non-zero penalties, logit_bias, non-text response_format) are refused with 400
rather than silently ignored. Errors have OpenAI's shape: {"error": {"message", "type", "param", "code"}}.

/v1/completions tokenizes the prompt as it is (special tokens such as <|problem|> written in the text become
their ids); /v1/chat/completions applies the chat template of `hrm_jax.serve.chat`.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from typing import Any

from fastapi import FastAPI
from fastapi import Request as HTTPRequest
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hrm_jax.serve import chat
from hrm_jax.serve.engine import Engine, Event, Request
from hrm_jax.tokenizer import LANGUAGES, TASKS

MAX_N = 16
MAX_STOP = 4


class APIError(Exception):
  def __init__(
    self,
    status: int,
    message: str,
    param: str | None = None,
    type_: str = "invalid_request_error",
    code: str | None = None,
  ):
    super().__init__(message)
    self.status, self.message, self.param, self.type, self.code = status, message, param, type_, code

  def response(self) -> JSONResponse:
    return JSONResponse(
      status_code=self.status,
      content={"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}},
    )


def _number(body: dict, name: str, default, low: float, high: float, integer: bool = False, low_open: bool = False):
  value = body.get(name)
  if value is None:
    return default
  if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
    raise APIError(400, f"{name} must be {'an integer' if integer else 'a number'}, got {value!r}", name)
  if value < low or value > high or (low_open and value == low):
    bracket = "(" if low_open else "["
    raise APIError(400, f"{name} must be in {bracket}{low}, {high}], got {value!r}", name)
  return value


class Server:
  """Request validation, the engine bridge and response shapes (`create_app` wires the routes)."""

  def __init__(
    self, engine: Engine, tokenizer, model_name: str, default_max_tokens: int = 1024, log_path: str | None = None
  ):
    self.engine, self.tok, self.model_name = engine, tokenizer, model_name
    self.log_path = log_path
    self.default_max_tokens = default_max_tokens
    self.created = int(time.time())
    self.chat_stop_ids = tuple(tokenizer.token_id(t) for t in chat.STOP_TOKENS)

  # -- validation ------------------------------------------------------------------------------------------------
  def _common(self, body: dict) -> dict:
    if not isinstance(body, dict):
      raise APIError(400, "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
      raise APIError(400, "model is required (a string)", "model")
    if model != self.model_name:
      raise APIError(
        404,
        f"The model '{model}' does not exist: this server serves '{self.model_name}'",
        "model",
        code="model_not_found",
      )
    for name in ("logprobs", "echo"):
      if body.get(name):
        raise APIError(400, f"{name} is not supported by this server", name)
    if body.get("top_logprobs"):
      raise APIError(400, "top_logprobs is not supported by this server", "top_logprobs")
    if body.get("suffix"):
      raise APIError(400, "suffix is not supported by this server", "suffix")
    if body.get("best_of") not in (None, 1):
      raise APIError(400, "best_of is not supported by this server (use n)", "best_of")
    for name in ("presence_penalty", "frequency_penalty"):
      if _number(body, name, 0, -2, 2) != 0:
        raise APIError(400, f"{name} is not supported by this server (only 0)", name)
    if body.get("logit_bias"):
      raise APIError(400, "logit_bias is not supported by this server", "logit_bias")
    fmt = body.get("response_format")
    if fmt is not None and (not isinstance(fmt, dict) or fmt.get("type") != "text"):
      raise APIError(400, 'response_format: only {"type": "text"} is supported', "response_format")
    stop = body.get("stop")
    if stop is None:
      stop = []
    elif isinstance(stop, str):
      stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop) or len(stop) > MAX_STOP:
      raise APIError(400, f"stop must be a non-empty string or a list of at most {MAX_STOP} of them", "stop")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
      raise APIError(400, "stream must be a boolean", "stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
      raise APIError(400, "stream_options must be an object", "stream_options")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
      raise APIError(400, "seed must be an integer", "seed")
    language = body.get("language", "python")
    if language not in LANGUAGES:
      raise APIError(400, f"language must be one of {', '.join(LANGUAGES)}, got {language!r}", "language")
    task = body.get("task")
    if task is not None and task not in TASKS:
      raise APIError(400, f"task must be one of {', '.join(TASKS)}, got {task!r}", "task")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None:
      name = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
      max_tokens = _number({name: max_tokens}, name, None, 1, 10**9, integer=True)
    top_k = _number(body, "top_k", 0, -1, 10**9, integer=True)
    return dict(
      temperature=float(_number(body, "temperature", 1.0, 0, 2)),
      top_p=float(_number(body, "top_p", 1.0, 0, 1, low_open=True)),
      top_k=max(top_k, 0),
      n=_number(body, "n", 1, 1, MAX_N, integer=True),
      stop=tuple(stop),
      stream=stream,
      include_usage=bool(options.get("include_usage")),
      seed=seed,
      language=LANGUAGES.index(language),
      task=task,
      max_tokens=max_tokens,
    )

  def _budget(self, prompt_tokens: int, max_tokens: int | None, what: str) -> int:
    limit = self.engine.max_context
    if prompt_tokens >= limit or (max_tokens is not None and prompt_tokens + max_tokens > limit):
      asked = f"{prompt_tokens} in the {what}" + (f" and {max_tokens} in the completion" if max_tokens else "")
      raise APIError(
        400,
        f"This model's maximum context length is {limit} tokens. However, you requested "
        f"{prompt_tokens + (max_tokens or 0)} tokens ({asked}). Please reduce the length of the "
        f"{what} or of the completion.",
        "messages" if what == "messages" else "prompt",
        code="context_length_exceeded",
      )
    return max_tokens if max_tokens is not None else min(self.default_max_tokens, limit - prompt_tokens)

  def _prompts(self, prompt) -> list[list[int]]:
    """A completions `prompt`: a string, a list of strings, a list of token ids or a list of such lists."""

    def ids(p, where):
      if isinstance(p, str):
        return self.tok.encode(p)
      if isinstance(p, list) and p and all(isinstance(t, int) and not isinstance(t, bool) for t in p):
        bad = [t for t in p if not 0 <= t < self.tok.vocab_size]
        if bad:
          raise APIError(
            400, f"{where}: token id {bad[0]} outside the vocabulary (0..{self.tok.vocab_size - 1})", "prompt"
          )
        return list(p)
      raise APIError(400, f"{where} must be a string, a list of strings or a list of token ids", "prompt")

    if isinstance(prompt, str) or (isinstance(prompt, list) and prompt and isinstance(prompt[0], int)):
      return [ids(prompt, "prompt")]
    if isinstance(prompt, list) and prompt:
      return [ids(p, f"prompt[{i}]") for i, p in enumerate(prompt)]
    raise APIError(400, "prompt is required (a string, a list of strings or a list of token ids)", "prompt")

  # -- the engine bridge -----------------------------------------------------------------------------------------
  def _submit(self, prompts: list[list[int]], p: dict, task_id: int, stop_ids: tuple[int, ...], what: str):
    """Submits n requests per prompt; returns (requests, queue of (choice index, Event))."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue = asyncio.Queue()
    seed = p["seed"] if p["seed"] is not None else random.getrandbits(31)
    requests = []
    for i, prompt in enumerate(prompts):
      budget = self._budget(len(prompt), p["max_tokens"], what)
      for j in range(p["n"]):
        index = i * p["n"] + j
        requests.append(
          Request(
            prompt=prompt,
            max_tokens=budget,
            temperature=p["temperature"],
            top_p=p["top_p"],
            top_k=p["top_k"],
            seed=seed + index,
            stop=p["stop"],
            stop_ids=stop_ids,
            language_id=p["language"],
            task_id=task_id,
            on_event=lambda ev, index=index: loop.call_soon_threadsafe(events.put_nowait, (index, ev)),
          )
        )
    for r in requests:
      self.engine.submit(r)
    return requests, events

  async def _collect(self, requests, events) -> dict[int, Event]:
    done: dict[int, Event] = {}
    try:
      while len(done) < len(requests):
        index, ev = await events.get()
        if ev.kind == "error":
          raise APIError(500, ev.message, type_="server_error")
        if ev.kind == "done":
          done[index] = ev
      return done
    finally:
      for r in requests:
        r.cancelled = True  # a no-op for finished rows; frees the rows of a client that went away

  def _prompt_tokens(self, prompts, n) -> int:
    return sum(len(p) for p in prompts)

  def _log(self, route: str, body: dict, done: dict[int, Event]) -> None:
    """Appends the request and its replies to the request log (JSONL), when the server keeps one."""
    if not self.log_path:
      return
    entry = {
      "time": time.time(),
      "route": route,
      "request": body,
      "choices": [{"text": done[i].text, "finish_reason": done[i].finish_reason} for i in sorted(done)],
      "completion_tokens": sum(ev.completion_tokens for ev in done.values()),
    }
    with open(self.log_path, "a", encoding="utf-8") as f:  # one write per line: lines never interleave
      f.write(json.dumps(entry, ensure_ascii=False) + "\n")

  # -- routes ----------------------------------------------------------------------------------------------------
  def models(self) -> dict:
    return {"object": "list", "data": [self.model_card()]}

  def model_card(self) -> dict:
    return {
      "id": self.model_name,
      "object": "model",
      "created": self.created,
      "owned_by": "hrm-jax",
      "max_model_len": self.engine.max_context,
    }

  async def completions(self, body: dict):
    p = self._common(body)
    prompts = self._prompts(body.get("prompt"))
    task = TASKS.index(p["task"] or "codegen")
    requests, events = self._submit(prompts, p, task, (), "prompt")
    rid, created = "cmpl-" + uuid.uuid4().hex, int(time.time())
    head = {"id": rid, "object": "text_completion", "created": created, "model": self.model_name}
    prompt_tokens = self._prompt_tokens(prompts, p["n"])
    route = "/v1/completions"
    if not p["stream"]:
      done = await self._collect(requests, events)
      self._log("/v1/completions", body, done)
      choices = [
        {"index": i, "text": done[i].text, "logprobs": None, "finish_reason": done[i].finish_reason}
        for i in sorted(done)
      ]
      completion = sum(ev.completion_tokens for ev in done.values())
      return dict(
        head,
        choices=choices,
        usage=_usage(prompt_tokens, completion),
      )

    async def chunks():
      completion, finished, done = 0, 0, {}
      try:
        while finished < len(requests):
          index, ev = await events.get()
          if ev.kind == "error":
            yield _sse({"error": {"message": ev.message, "type": "server_error", "param": None, "code": None}})
            return
          if ev.kind == "delta":
            yield _sse(dict(head, choices=[{"index": index, "text": ev.text, "logprobs": None, "finish_reason": None}]))
          else:
            finished += 1
            completion += ev.completion_tokens
            done[index] = ev
            yield _sse(
              dict(head, choices=[{"index": index, "text": "", "logprobs": None, "finish_reason": ev.finish_reason}])
            )
        if p["include_usage"]:
          yield _sse(
            dict(
              head,
              choices=[],
              usage=_usage(prompt_tokens, completion),
            )
          )
        yield "data: [DONE]\n\n"
        self._log(route, body, done)
      finally:
        for r in requests:
          r.cancelled = True

    return StreamingResponse(chunks(), media_type="text/event-stream")

  async def chat_completions(self, body: dict):
    p = self._common(body)
    try:
      text, uses_tools = chat.render_chat(body.get("messages"), body.get("tools"))
    except chat.TemplateError as e:
      raise APIError(400, str(e), e.param) from None
    tools_offered = bool(body.get("tools")) and body.get("tool_choice") != "none"
    task = TASKS.index(p["task"] or ("tool_use" if uses_tools else "codegen"))
    prompts = [self.tok.encode(text)]
    requests, events = self._submit(prompts, p, task, self.chat_stop_ids, "messages")
    rid, created = "chatcmpl-" + uuid.uuid4().hex, int(time.time())
    head = {"id": rid, "object": "chat.completion", "created": created, "model": self.model_name}
    prompt_tokens = len(prompts[0])
    route = "/v1/chat/completions"
    if not p["stream"]:
      done = await self._collect(requests, events)
      self._log("/v1/chat/completions", body, done)
      choices = []
      for i in sorted(done):
        content, calls = chat.parse_reply(done[i].text, tools_offered)
        message = {"role": "assistant", "content": content}
        if calls:
          message["tool_calls"] = calls
        reason = "tool_calls" if calls else done[i].finish_reason
        choices.append({"index": i, "message": message, "logprobs": None, "finish_reason": reason})
      completion = sum(ev.completion_tokens for ev in done.values())
      return dict(
        head,
        choices=choices,
        usage=_usage(prompt_tokens, completion),
      )

    head["object"] = "chat.completion.chunk"

    def chunk(index, delta, reason=None):
      return _sse(dict(head, choices=[{"index": index, "delta": delta, "logprobs": None, "finish_reason": reason}]))

    async def chunks():
      replies = {i: chat.ReplyStream(tools_offered) for i in range(len(requests))}
      completion, finished, done = 0, 0, {}
      try:
        for i in range(len(requests)):
          yield chunk(i, {"role": "assistant", "content": ""})
        while finished < len(requests):
          index, ev = await events.get()
          if ev.kind == "error":
            yield _sse({"error": {"message": ev.message, "type": "server_error", "param": None, "code": None}})
            return
          if ev.kind == "delta":
            out = replies[index].push(ev.text)
            if out:
              yield chunk(index, {"content": out})
            continue
          finished += 1
          completion += ev.completion_tokens
          done[index] = ev
          reply = replies[index]
          reason = ev.finish_reason
          if reply.decided == "call":
            content, calls = chat.parse_reply(ev.text, tools_offered)
            if calls:
              yield chunk(index, {"tool_calls": [dict(c, index=0) for c in calls]})
              reason = "tool_calls"
            else:
              yield chunk(index, {"content": content})
          elif reply.buffer:
            yield chunk(index, {"content": reply.buffer})
          yield chunk(index, {}, reason)
        if p["include_usage"]:
          yield _sse(
            dict(
              head,
              choices=[],
              usage=_usage(prompt_tokens, completion),
            )
          )
        yield "data: [DONE]\n\n"
        self._log(route, body, done)
      finally:
        for r in requests:
          r.cancelled = True

    return StreamingResponse(chunks(), media_type="text/event-stream")


def _usage(prompt_tokens: int, completion_tokens: int) -> dict:
  """OpenAI's `usage` object."""
  return {
    "prompt_tokens": prompt_tokens,
    "completion_tokens": completion_tokens,
    "total_tokens": prompt_tokens + completion_tokens,
  }


def _sse(obj: Any) -> str:
  return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


def create_app(server: Server) -> FastAPI:
  app = FastAPI(title="hrm-jax", description="OpenAI-compatible API over an hrm-jax model")

  @app.exception_handler(APIError)
  async def api_error(_, exc: APIError):
    return exc.response()

  @app.exception_handler(StarletteHTTPException)
  async def http_error(_, exc: StarletteHTTPException):
    return APIError(exc.status_code, str(exc.detail), type_="invalid_request_error").response()

  @app.exception_handler(Exception)
  async def internal_error(_, exc: Exception):
    return APIError(500, f"internal error: {type(exc).__name__}: {exc}", type_="server_error").response()

  async def json_body(request: HTTPRequest) -> dict:
    raw = await request.body()
    try:
      body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
      raise APIError(400, f"the request body is not valid JSON: {e}") from None
    if not isinstance(body, dict):
      raise APIError(400, "the request body must be a JSON object")
    return body

  @app.get("/health")
  async def health():
    return {"status": "ok", "active": server.engine.active, **server.engine.stats}

  @app.get("/v1/models")
  async def models():
    return server.models()

  @app.get("/v1/models/{model_id:path}")
  async def model(model_id: str):
    if model_id != server.model_name:
      raise APIError(404, f"The model '{model_id}' does not exist", "model", code="model_not_found")
    return server.model_card()

  @app.post("/v1/completions")
  async def completions(request: HTTPRequest):
    return await server.completions(await json_body(request))

  @app.post("/v1/chat/completions")
  async def chat_completions(request: HTTPRequest):
    return await server.chat_completions(await json_body(request))

  return app
