"""The chat template: OpenAI chat messages -> our prompt layout, and the model's reply -> a chat message.

Our models are trained on `<|problem|> {statement} <|code|> {solution} <|eos|>` (data_pipelines/input_pipeline.py),
with tool-use histories written inside the statement as `<|tool_call|>{call JSON}<|tool_result|>{output}` and the
next action as the solution (`<|tool_call|>{call JSON}` or `<|answer|>{answer}`, data_pipelines/tool_use.py).
There are no system/user/assistant tokens, so a conversation is mapped onto those role tokens:

    system / developer   the start of the problem statement (all system messages before the first user one)
    first user message   the rest of the statement, after a blank line
    assistant (text)     <|code|>{content}
    assistant tool call  <|tool_call|>{"tool": NAME, "args": ARGUMENTS}     (one per call, our trajectory schema)
    tool                 <|tool_result|>{content}
    later user/system    <|feedback|>{content}
    then                 <|code|>   (the model writes its reply after it)

With `tools` in the request, the statement ends with a line `Tools: name, name, ...`. The task id given to the
model is `tool_use` when the request has tools or the conversation has tool calls/results, else `codegen`
(a request may set `task` and `language` itself: extension fields). Generation stops at <|eos|> or at a role
token that would start another turn (<|problem|>, <|feedback|>, <|tool_result|>, <|tests|>).

Reply: a leading `<|answer|>` is dropped; a reply `<|tool_call|>{"tool": ..., "args": {...}}` becomes an OpenAI
`tool_calls` entry when the request offered tools (else it is returned as text).
"""

from __future__ import annotations

import json
import uuid

PROBLEM, CODE, FEEDBACK = "<|problem|>", "<|code|>", "<|feedback|>"
TOOL_CALL, TOOL_RESULT, ANSWER = "<|tool_call|>", "<|tool_result|>", "<|answer|>"
STOP_TOKENS = ("<|problem|>", "<|feedback|>", "<|tool_result|>", "<|tests|>")
ROLES = ("system", "developer", "user", "assistant", "tool")


class TemplateError(ValueError):
  """A malformed message list; `param` names the field (e.g. messages[2].content)."""

  def __init__(self, message: str, param: str):
    super().__init__(message)
    self.param = param


def content_text(content, where: str) -> str:
  """A message's content as text: a string, or a list of {"type": "text", "text": ...} parts."""
  if content is None:
    return ""
  if isinstance(content, str):
    return content
  if isinstance(content, list):
    parts = []
    for i, part in enumerate(content):
      if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
        raise TemplateError(
          f'{where}[{i}]: only text parts ({{"type": "text", "text": ...}}) are supported', f"{where}[{i}]"
        )
      parts.append(part["text"])
    return "".join(parts)
  raise TemplateError(f"{where} must be a string or a list of text parts", where)


def _tool_call_text(call, where: str) -> str:
  if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
    raise TemplateError(f'{where} must be {{"type": "function", "function": {{name, arguments}}}}', where)
  name, arguments = call["function"].get("name"), call["function"].get("arguments", "{}")
  if not isinstance(name, str) or not name:
    raise TemplateError(f"{where}.function.name must be a non-empty string", f"{where}.function.name")
  try:
    args = json.loads(arguments) if isinstance(arguments, str) else arguments
  except json.JSONDecodeError as e:
    raise TemplateError(f"{where}.function.arguments is not JSON: {e}", f"{where}.function.arguments") from None
  return TOOL_CALL + json.dumps({"tool": name, "args": args}, ensure_ascii=False)


def tool_names(tools) -> list[str]:
  """Function names of an OpenAI `tools` list (validated)."""
  if tools is None:
    return []
  if not isinstance(tools, list):
    raise TemplateError("tools must be a list", "tools")
  names = []
  for i, tool in enumerate(tools):
    fn = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
      raise TemplateError(f'tools[{i}] must be {{"type": "function", "function": {{"name": ...}}}}', f"tools[{i}]")
    names.append(fn["name"])
  return names


def render_chat(messages, tools=None) -> tuple[str, bool]:
  """(prompt text, uses_tools) for an OpenAI message list (see the module doc for the layout)."""
  if not isinstance(messages, list) or not messages:
    raise TemplateError("messages must be a non-empty list", "messages")
  names = tool_names(tools)
  statement: list[str] = []
  turns: list[str] = []
  uses_tools = bool(names)
  for i, m in enumerate(messages):
    where = f"messages[{i}]"
    if not isinstance(m, dict):
      raise TemplateError(f"{where} must be an object with role and content", where)
    role = m.get("role")
    if role not in ROLES:
      raise TemplateError(f"{where}.role must be one of {', '.join(ROLES)}, got {role!r}", f"{where}.role")
    text = content_text(m.get("content"), f"{where}.content")
    if role in ("system", "developer", "user") and not turns:
      statement.append(text)
    elif role in ("system", "developer", "user"):
      turns.append(FEEDBACK + text)
    elif role == "assistant":
      calls = m.get("tool_calls") or []
      if not isinstance(calls, list):
        raise TemplateError(f"{where}.tool_calls must be a list", f"{where}.tool_calls")
      if text or not calls:
        turns.append(CODE + text)
      for j, call in enumerate(calls):
        turns.append(_tool_call_text(call, f"{where}.tool_calls[{j}]"))
        uses_tools = True
    else:  # tool
      turns.append(TOOL_RESULT + text)
      uses_tools = True
  if not statement:
    raise TemplateError("messages must start with a system or user message", "messages[0].role")
  body = "\n\n".join(s for s in statement if s)
  if names:
    body += "\n\nTools: " + ", ".join(names)
  return PROBLEM + body + "".join(turns) + CODE, uses_tools


def parse_reply(text: str, tools_offered: bool) -> tuple[str | None, list[dict]]:
  """(content, tool_calls) of a generated reply (see the module doc)."""
  if text.startswith(ANSWER):
    return text[len(ANSWER) :], []
  if tools_offered and text.startswith(TOOL_CALL):
    body = text[len(TOOL_CALL) :].strip()
    try:
      call = json.loads(body)
    except json.JSONDecodeError:
      return text, []
    if isinstance(call, dict) and isinstance(call.get("tool"), str) and isinstance(call.get("args"), dict):
      return None, [
        {
          "id": "call_" + uuid.uuid4().hex[:24],
          "type": "function",
          "function": {"name": call["tool"], "arguments": json.dumps(call["args"], ensure_ascii=False)},
        }
      ]
  return text, []


class ReplyStream:
  """Streams reply text while it cannot become a tool call or start with <|answer|> (held until known)."""

  def __init__(self, tools_offered: bool):
    self.tools_offered = tools_offered
    self.buffer = ""
    self.decided: str | None = None  # "text" once the reply is known to be plain text, "call" for a tool call

  def push(self, delta: str) -> str:
    """Text that can be sent now."""
    if self.decided == "text":
      return delta
    self.buffer += delta
    if self.decided == "call":
      return ""
    for marker in (ANSWER,) + ((TOOL_CALL,) if self.tools_offered else ()):
      if marker.startswith(self.buffer):
        return ""  # could still become the marker
      if self.buffer.startswith(marker):
        if marker == ANSWER:
          self.decided = "text"
          out, self.buffer = self.buffer[len(ANSWER) :], ""
          return out
        self.decided = "call"
        return ""
    self.decided = "text"
    out, self.buffer = self.buffer, ""
    return out
