"""The agent's tools: each a JSON call `{"tool": NAME, "args": {...}}` of our trajectory schema
(`data_pipelines/tool_use.py`, whose `TOOLS` lists every tool's argument names: all strings), run in a session.

    python       code                 python3 -c CODE
    shell        command              bash, in the session's directory and shell state
    read_file    path                 a workspace file's text
    write_file   path, content        writes a workspace file
    edit         blocks               aider SEARCH/REPLACE blocks (path on the line before each block), applied by
                                      the Polyglot harness's applier (hrm_jax/evals/edit_formats.py)
    git          command              git status | diff | log | show | checkout | apply | add | commit | reset ...
    package      manager, command     pip | npm | cargo | go, offline: PIP_NO_INDEX, npm --offline,
                                      CARGO_NET_OFFLINE, GOPROXY=off (the toolchain caches are readable)
    test         target               the session's test command (per language, or the environment's own)
    debug        program, commands    pdb for .py programs, `gdb -batch` otherwise; one debugger command a line

A call that is malformed (unknown tool, wrong arguments) or fails on the host side (a path outside the
workspace) becomes an observation that says so, with exit code 2: the policy sees its mistake, as with any
other failing command.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections.abc import Callable

from hrm_jax.agent.sessions import Observation, Session
from hrm_jax.data_pipelines import tool_use
from hrm_jax.evals import edit_formats

GIT_COMMANDS = (
  "status",
  "diff",
  "log",
  "show",
  "checkout",
  "apply",
  "add",
  "commit",
  "reset",
  "restore",
  "branch",
  "stash",
  "blame",
  "grep",
  "ls-files",
  "rev-parse",
)
PACKAGE_MANAGERS = {
  "pip": "PIP_NO_INDEX=1 python3 -m pip",
  "npm": "npm --offline",
  "cargo": "CARGO_NET_OFFLINE=true cargo",
  "go": "GOPROXY=off GOFLAGS=-mod=mod go",
}
TEST_COMMANDS = {  # the language's test command, run from the workspace root (`{target}`: the test to run)
  "python": "python3 -m pytest -q -p no:cacheprovider {target}",
  "go": "go test ./... {target}",
  "rust": "cargo test --offline {target}",
  "javascript": "npm test --offline -- {target}",
  "java": "gradle test --offline -q {target}",
  "cpp": "cmake -S . -B build -DEXERCISM_RUN_ALL_TESTS=1 >/dev/null && make -C build {target}",
}


class ToolError(ValueError):
  """A call the tools refuse (the message is the observation)."""


@dataclasses.dataclass
class Toolbox:
  """The tools over one session. test_command: the `test` tool's command, `{target}` replaced by the target
  (default: the language's); timeout_s: wall limit of one call."""

  session: Session
  language: str = "python"
  test_command: str | None = None
  timeout_s: float = 60.0

  def call(self, tool: str, args: dict) -> Observation:
    """Runs one call; refused calls become an explanatory observation with exit code 2."""
    try:
      check_call(tool, args)
      return TOOLS[tool](self, **args)
    except (ToolError, ValueError, FileNotFoundError, IsADirectoryError, UnicodeError) as error:
      return Observation(f"error: {error}", 2)

  def shell(self, command: str) -> Observation:
    return self.session.run(command, self.timeout_s)

  def python(self, code: str) -> Observation:
    return self.shell(f"python3 -c {shlex.quote(code)}")

  def read_file(self, path: str) -> Observation:
    return Observation(self.session.read_file(path), 0)

  def write_file(self, path: str, content: str) -> Observation:
    self.session.write_file(path, content)
    return Observation(f"wrote {len(content.encode())} bytes to {path}\n", 0)

  def edit(self, blocks: str) -> Observation:
    try:
      parsed = edit_formats.parse_search_replace(blocks, [])
    except edit_formats.MalformedEdit as error:
      raise ToolError(f"the edit does not parse: {error}") from None
    if not parsed:
      raise ToolError("no SEARCH/REPLACE block found (path line, then <<<<<<< SEARCH / ======= / >>>>>>> REPLACE)")
    files = {}
    for block in parsed:
      try:
        files[block.path] = self.session.read_file(block.path)
      except FileNotFoundError:
        pass  # an empty SEARCH creates it
    result = edit_formats.apply_search_replace(blocks, files)
    for path, content in result.files.items():
      self.session.write_file(path, content)
    lines = [f"edited {p}" for p in sorted(result.files)] + result.failed
    return Observation("\n".join(lines), 1 if result.failed else 0)

  def git(self, command: str) -> Observation:
    words = shlex.split(command)
    if not words or words[0] not in GIT_COMMANDS:
      raise ToolError(f"git: the first word must be one of {', '.join(GIT_COMMANDS)}")
    return self.shell("git -c core.pager=cat -c color.ui=never " + command)

  def package(self, manager: str, command: str) -> Observation:
    if manager not in PACKAGE_MANAGERS:
      raise ToolError(f"package: manager must be one of {', '.join(PACKAGE_MANAGERS)}, got {manager!r}")
    return self.shell(f"{PACKAGE_MANAGERS[manager]} {command}")

  def test(self, target: str) -> Observation:
    template = self.test_command or TEST_COMMANDS.get(self.language)
    if template is None:
      raise ToolError(f"test: no test command for language {self.language!r}")
    return self.shell(template.format(target=shlex.quote(target) if target else ""))

  def debug(self, program: str, commands: str) -> Observation:
    steps = [line.strip() for line in commands.splitlines() if line.strip()]
    words = shlex.split(program)
    if not words:
      raise ToolError("debug: program is empty")
    if words[0].endswith(".py"):
      flags = " ".join(f"-c {shlex.quote(s)}" for s in steps + ["q"])
      return self.shell(f"python3 -m pdb {flags} {program}")
    flags = " ".join(f"-ex {shlex.quote(s)}" for s in steps)
    return self.shell(f"gdb -q -batch {flags} --args {program}")


TOOLS: dict[str, Callable[..., Observation]] = {
  "python": Toolbox.python,
  "shell": Toolbox.shell,
  "read_file": Toolbox.read_file,
  "write_file": Toolbox.write_file,
  "edit": Toolbox.edit,
  "git": Toolbox.git,
  "package": Toolbox.package,
  "test": Toolbox.test,
  "debug": Toolbox.debug,
}
assert set(TOOLS) == set(tool_use.TOOLS), "the trajectory schema and the toolbox must list the same tools"


def check_call(tool, args) -> None:
  """Raises ToolError unless `tool` is known and `args` has exactly its argument names, all strings."""
  if tool not in tool_use.TOOLS:
    raise ToolError(f"unknown tool {tool!r}; tools: {', '.join(sorted(tool_use.TOOLS))}")
  want = tool_use.TOOLS[tool]
  if not isinstance(args, dict) or sorted(args) != sorted(want) or not all(isinstance(v, str) for v in args.values()):
    raise ToolError(f"{tool} takes the string arguments {', '.join(want)}; got {json.dumps(args)[:200]}")


def openai_tools() -> list[dict]:
  """The tools as OpenAI function specifications (for endpoint policies)."""
  docs = {line.split()[0]: line for line in __doc__.splitlines()[3:12] if line.strip()}
  return [
    {
      "type": "function",
      "function": {
        "name": name,
        "description": " ".join(docs.get(name, name).split()[len(args) + 1 :]) or name,
        "parameters": {
          "type": "object",
          "properties": {a: {"type": "string"} for a in args},
          "required": list(args),
          "additionalProperties": False,
        },
      },
    }
    for name, args in tool_use.TOOLS.items()
  ]
