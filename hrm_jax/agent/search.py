"""Search at inference: strategies over attempts, chosen by name, with a budget counted in model calls.

    sample   k = budget independent samples of the problem's prompt (pass@k); the answer is the attempt that
             passes the most public tests (the first such).
    repair   generate -> run the public tests in the sandbox -> feed the first failure back -> regenerate, up to
             budget - 1 rounds, each round repairing the latest attempt (LiveCodeBench's self-repair shape,
             aider's second try with the test output, generalised to k rounds). Stops at the first attempt
             that passes every public test.
    mcts     a tree over attempts (SWE-Search, Antoniades et al. 2024, arXiv 2410.20285: MCTS over an agent's
             actions with a value from execution feedback and the model). The root is the problem, a node an
             attempt; expanding a node is one model call: the root's prompt for the root, the repair prompt
             (attempt + its test feedback) below it. A node's value is the fraction of public tests it passes,
             mixed with the model's own estimate where the generator exposes one (`generator.value`: our
             HRM's Q head, sigmoid(q_halt) at the last prompt token of the prompt that would expand the node,
             the probability the ACT head assigns to "the answer from here is right"):
                 value = (1 - q_weight) * tests + q_weight * q.
             Selection walks from the root by UCT (Kocsis & Szepesvari 2006): argmax over children of
             mean value + c * sqrt(ln N(parent) / N(child)); a node may also be expanded again while it has
             fewer than 1 + floor(sqrt(N(node))) children (progressive widening), so the root keeps drawing
             fresh first attempts. Backpropagation adds the new node's value along the path. Stops when an
             attempt passes every public test or the budget is spent; the answer is the best attempt.
Public tests choose the answer; the answer alone is then graded on every test (public and private): pass@1 of
a strategy is the share of problems whose answer passes. All three spend the same number of model calls at
most, so they are compared at equal budget (`python -m hrm_jax.bench.search`).

A problem is anything with `prompt`, `extract(reply, parent)` (the attempt a reply makes, given the attempt it
repairs), `check(codes)` (public tests, in the sandbox) and `repair_prompt(attempt)`; `CodeProblem` covers
LiveCodeBench problems and the procedural tasks (whose records are LiveCodeBench records) with the harness's own
grader (`hrm_jax.evals.livecodebench.grade_programs`); `PolyglotProblem` an Aider Polyglot exercise under aider's
protocol (edits applied to the files of the attempt repaired, the exercise's tests in the sandbox, the test output
fed back as aider's second try does). `--strategy` on `hrm-jax eval livecodebench|polyglot` runs them.
A generator is the evaluators' shape, `list[str] -> list[str]`; a prompt it reports as too long for its context
(`context_overflow`) is not sent: a repair then falls back to the root prompt.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib
from collections.abc import Callable, Sequence

from hrm_jax.evals import generators as gen_lib
from hrm_jax.evals import livecodebench as lcb

STRATEGIES = ("sample", "repair", "mcts")


@dataclasses.dataclass(frozen=True)
class SearchConfig:
  strategy: str = "sample"
  budget: int = 4  # model calls per problem
  exploration: float = 1.0  # UCT's c
  q_weight: float = 0.3  # share of the model's value estimate in a node's value (when the generator has one)

  def __post_init__(self):
    if self.strategy not in STRATEGIES:
      raise ValueError(f"--strategy must be one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
    if self.budget < 1:
      raise ValueError(f"--budget must be >= 1 model call, got {self.budget}")


@dataclasses.dataclass
class Check:
  """Public-test result of one program: score = share of public tests passed; feedback: the first failure."""

  score: float
  passed: bool
  feedback: str
  category: str = ""


@dataclasses.dataclass
class Attempt:
  reply: str
  code: str
  check: Check
  prompt: str
  parent: int | None = None  # index of the parent attempt (None: from the root prompt)
  value: float = 0.0
  q: float | None = None
  visits: int = 0
  total: float = 0.0
  children: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class SearchResult:
  answer: Attempt | None
  attempts: list[Attempt]
  calls: int
  overflowed: int = 0  # prompts not sent (too long for the model's context)


# ----------------------------------------------------------------------------------------------- problems


class CodeProblem:
  """A LiveCodeBench problem (or a procedural task record, which is one) under LiveCodeBench's grading.

  style "lcb": LCB's prompts (`codegen_prompt`, `selfrepair_prompt`) and code from the last fenced block;
  style "statement": the statement as our models are trained on it (`input_pipeline.record_statement`), the
  reply's code is its last fenced block or the whole reply, and a repair prompt restates the statement, the
  attempt and the feedback (the procedural `repair` family's words plus the failure)."""

  def __init__(self, problem: lcb.Problem, style: str = "lcb", workers: int = 1, backend="local"):
    if style not in ("lcb", "statement"):
      raise ValueError(f"style must be lcb or statement, got {style!r}")
    self.problem, self.style, self.workers, self.backend = problem, style, workers, backend
    if style == "lcb":
      self.prompt = lcb.codegen_prompt(problem)
    else:
      starter = f"\n\n{problem.starter_code}" if problem.starter_code else ""
      self.prompt = problem.question_content + starter
    self.public = problem.public_tests or problem.tests[:1]
    self._checked: dict[str, Check] = {}
    self._graded: dict[str, lcb.Grade] = {}

  def extract(self, reply: str, parent: Attempt | None = None) -> str:
    code = lcb.extract_code(reply)
    return code if code or self.style == "lcb" else reply.strip("\n")

  def check(self, codes: Sequence[str]) -> list[Check]:
    """Each program on each public test (one sandboxed run per pair, `workers` at once). Grading is a function
    of the program, so a program seen before is not run again."""
    singles = [dataclasses.replace(self.problem, public_tests=(t,), private_tests=()) for t in self.public]
    todo = sorted({c for c in codes if c not in self._checked})
    grades = lcb.grade_programs([(p, c) for c in todo for p in singles], self.workers, backend=self.backend)
    n = len(singles)
    for i, code in enumerate(todo):
      mine = grades[i * n : (i + 1) * n]
      failed = [g for g in mine if not g.passed]
      feedback = lcb.feedback_text(failed[0]) if failed else ""
      self._checked[code] = Check(
        sum(g.passed for g in mine) / n, not failed, feedback, failed[0].category if failed else "passed"
      )
    return [dataclasses.replace(self._checked[c]) for c in codes]

  def repair_prompt(self, attempt: Attempt) -> str:
    if self.style == "lcb":
      grade = lcb.Grade(False, attempt.check.category or "wrong_answer", {"error": attempt.check.feedback})
      return lcb.selfrepair_prompt(self.problem, attempt.code, grade).replace(
        f"### Feedback: {lcb.feedback_text(grade)}", f"### Feedback: {attempt.check.feedback}"
      )
    return f"{self.prompt}\nThis attempt has a bug. Fix it.\n{attempt.code}\n{attempt.check.feedback}"

  def grade(self, code: str) -> lcb.Grade:
    """The answer on every test (public, then private); a program graded before is not run again."""
    if code not in self._graded:
      self._graded[code] = lcb.grade_programs([(self.problem, code)], 1, backend=self.backend)[0]
    return self._graded[code]


class PolyglotProblem:
  """An Aider Polyglot exercise under aider's protocol (hrm_jax/evals/polyglot.py). An attempt's code is the
  editable files after the reply's edits (JSON), applied to the files of the attempt it repairs; the check runs
  the exercise's tests in the sandbox (score 1 or 0: pass = exit status 0, as aider scores); a repair prompt is
  aider's second try: the files as they are, the earlier reply, the cleaned test output."""

  def __init__(self, exercise, edit_format: str = "diff"):
    import json  # pylint: disable=import-outside-toplevel

    from hrm_jax.evals import polyglot  # pylint: disable=import-outside-toplevel

    self.polyglot, self.json, self.exercise, self.edit_format = polyglot, json, exercise, edit_format
    self.files = {f: (exercise.pristine / f).read_text() for f in exercise.editable()}
    self.message = polyglot.instructions(exercise)
    self.prompt = polyglot.build_prompt(edit_format, self.files, [], self.message)
    self._checked: dict[str, Check] = {}
    self.outputs: dict[str, str] = {}

  def _files(self, attempt: Attempt | None) -> dict[str, str]:
    return dict(self.files) if attempt is None else self.json.loads(attempt.code)

  def extract(self, reply: str, parent: Attempt | None = None) -> str:
    files = self._files(parent)
    applied = self.polyglot.edit_formats.apply_edits(self.edit_format, reply, files)
    files.update({p: t for p, t in applied.files.items() if p in files})
    return self.json.dumps(files, sort_keys=True)

  def check(self, codes: Sequence[str]) -> list[Check]:
    import shutil  # pylint: disable=import-outside-toplevel
    import tempfile  # pylint: disable=import-outside-toplevel

    for code in codes:
      if code in self._checked:
        continue
      scratch = tempfile.mkdtemp(prefix="hrm_jax_search_poly_")
      try:
        workdir = pathlib.Path(
          shutil.copytree(self.exercise.pristine, f"{scratch}/{self.exercise.name}", symlinks=True)
        )
        self.polyglot._write_files(workdir, self.json.loads(code), self.exercise)  # pylint: disable=protected-access
        test = self.polyglot.run_tests(self.exercise, workdir)
      finally:
        shutil.rmtree(scratch, ignore_errors=True)
      self.outputs[code] = test.output
      feedback = "" if test.passed else self.polyglot.test_failure_text(test.output, self.exercise)
      self._checked[code] = Check(float(test.passed), test.passed, feedback, test.outcome)
    return [dataclasses.replace(self._checked[c]) for c in codes]

  def repair_prompt(self, attempt: Attempt) -> str:
    return self.polyglot.build_prompt(
      self.edit_format, self._files(attempt), [(self.message, attempt.reply)], attempt.check.feedback
    )

  def grade(self, code: str) -> Check:
    return self.check([code])[0]


# ----------------------------------------------------------------------------------------------- strategies


class _Calls:
  """Sends prompts to the generator, counting calls; prompts too long for its context fall back to `fallback`
  (or are not sent when there is none)."""

  def __init__(self, generator, budget: int):
    self.generator, self.budget, self.used, self.overflowed = generator, budget, 0, 0

  @property
  def left(self) -> int:
    return self.budget - self.used

  def ask(self, prompts: Sequence[str], fallback: str | None = None) -> list[tuple[str, str]]:
    """(prompt actually sent, reply) per prompt, at most `left` of them."""
    sent = []
    for p in list(prompts)[: self.left]:
      if gen_lib.context_overflow(self.generator, p) is not None:
        self.overflowed += 1
        if fallback is None or gen_lib.context_overflow(self.generator, fallback) is not None:
          continue
        p = fallback
      sent.append(p)
    if not sent:
      return []
    replies = gen_lib.generate_all(self.generator, sent, batch_size=len(sent))
    self.used += len(sent)
    return list(zip(sent, replies))


def _attempts(problem, pairs, parent=None, parent_attempt=None) -> list[Attempt]:
  codes = [problem.extract(r, parent_attempt) for _, r in pairs]
  checks = problem.check(codes)
  return [Attempt(r, c, k, p, parent) for (p, r), c, k in zip(pairs, codes, checks)]


def _best(attempts: Sequence[Attempt]) -> Attempt | None:
  return max(attempts, key=lambda a: (a.check.score, a.value), default=None)


def search_sample(problem, generator, config: SearchConfig) -> SearchResult:
  calls = _Calls(generator, config.budget)
  attempts = _attempts(problem, calls.ask([problem.prompt] * config.budget))
  return SearchResult(_best(attempts), attempts, calls.used, calls.overflowed)


def search_repair(problem, generator, config: SearchConfig) -> SearchResult:
  calls = _Calls(generator, config.budget)
  attempts = _attempts(problem, calls.ask([problem.prompt]))
  while attempts and not attempts[-1].check.passed and calls.left > 0:
    latest = len(attempts) - 1
    pairs = calls.ask([problem.repair_prompt(attempts[latest])], fallback=problem.prompt)
    if not pairs:
      break
    fell_back = pairs[0][0] == problem.prompt
    attempts += _attempts(problem, pairs, None if fell_back else latest, None if fell_back else attempts[latest])
  return SearchResult(_best(attempts), attempts, calls.used, calls.overflowed)


def _model_value(generator, prompts: Sequence[str]) -> list[float | None]:
  value = getattr(generator, "value", None)
  if value is None:
    return [None] * len(prompts)
  return list(value(list(prompts)))


def search_mcts(problem, generator, config: SearchConfig) -> SearchResult:
  calls = _Calls(generator, config.budget)
  attempts: list[Attempt] = []
  root = Attempt("", "", Check(0.0, False, ""), problem.prompt)  # visits/total/children of the root only

  def node(i):
    return root if i is None else attempts[i]

  def uct(parent: Attempt, child: Attempt) -> float:
    mean = child.total / max(1, child.visits)
    return mean + config.exploration * math.sqrt(math.log(max(1, parent.visits)) / max(1, child.visits))

  while calls.left > 0:
    path: list[int | None] = [None]
    while True:  # selection: widen here, or descend to the best child by UCT
      current = node(path[-1])
      if not current.children or len(current.children) < 1 + math.isqrt(current.visits):
        break
      path.append(max(current.children, key=lambda c: uct(current, attempts[c])))
    leaf = path[-1]
    prompt = problem.prompt if leaf is None else problem.repair_prompt(attempts[leaf])
    pairs = calls.ask([prompt], fallback=problem.prompt)
    if not pairs:
      break
    if pairs[0][0] == problem.prompt:  # from the root prompt (the root itself, or a repair prompt too long)
      leaf, path = None, [None]
    (new,) = _attempts(problem, pairs, leaf, None if leaf is None else attempts[leaf])
    new.q = _model_value(generator, [problem.repair_prompt(new)])[0] if not new.check.passed else 1.0
    new.value = new.check.score if new.q is None else (1 - config.q_weight) * new.check.score + config.q_weight * new.q
    attempts.append(new)
    index = len(attempts) - 1
    node(leaf).children.append(index)
    for i in path + [index]:  # backpropagation
      n = node(i)
      n.visits += 1
      n.total += new.value
    if new.check.passed:
      break
  return SearchResult(_best(attempts), attempts, calls.used, calls.overflowed)


SEARCHES: dict[str, Callable[..., SearchResult]] = {
  "sample": search_sample,
  "repair": search_repair,
  "mcts": search_mcts,
}


def search(problem, generator, config: SearchConfig) -> SearchResult:
  """Runs the strategy `config.strategy` on one problem."""
  return SEARCHES[config.strategy](problem, generator, config)


# ----------------------------------------------------------------------------------------------- our model


class ModelSearchGenerator:
  """Our model from a training workdir as a search generator: replies (a fresh seed per call, so repeated
  prompts give new samples), `context_overflow`, and `value(prompts)`: sigmoid of the Q head's halt logit at
  the last prompt token after the ACT loop (`hrm.act_evaluate`), the model's estimate that it answers right.

  max_segments: the ACT segment budget at inference (default: the config's halt_max_steps); dynamic_halting
  False runs every segment. language / task: the conditioning ids (default python, codegen)."""

  def __init__(
    self,
    workdir: str,
    *,
    max_new_tokens: int = 64,
    temperature: float = 0.8,
    top_p: float = 1.0,
    max_segments: int | None = None,
    dynamic_halting: bool = True,
    language: str = "python",
    task: str = "codegen",
    seed: int = 0,
  ):
    import jax  # pylint: disable=import-outside-toplevel

    from hrm_jax.inference import sampler  # pylint: disable=import-outside-toplevel
    from hrm_jax.models import hrm  # pylint: disable=import-outside-toplevel
    from hrm_jax.tokenizer import LANGUAGES, TASKS, load_tokenizer  # pylint: disable=import-outside-toplevel
    from hrm_jax.train import checkpoint  # pylint: disable=import-outside-toplevel

    model, params, _ = checkpoint.load_for_inference(workdir)
    self.tok = load_tokenizer()
    self.seq_len = model.cfg.seq_len
    self.new_tokens = min(max_new_tokens, self.seq_len - 1)
    self.segments = max_segments or model.cfg.halt_max_steps
    sampling = sampler.SamplingConfig(
      max_new_tokens=self.new_tokens,
      temperature=temperature,
      top_p=top_p,
      stop_ids=(self.tok.eos_id,),
      max_segments=self.segments,
      dynamic_halting=dynamic_halting,
    )
    self.gen = sampler.Generator(model, params, sampling)
    self.ids = (LANGUAGES.index(language), TASKS.index(task))
    self.seed = seed
    segments, halting = self.segments, dynamic_halting
    self._q = jax.jit(
      lambda p, b: jax.nn.sigmoid(
        hrm.act_evaluate(self.gen.model, p, b, segments, dynamic_halting=halting)["q_halt_logits"]
      )
    )
    self.name = f"model:{os.path.basename(os.path.normpath(workdir))}"

  def _encode(self, prompt: str) -> list[int]:
    return [self.tok.token_id("<|problem|>")] + self.tok.encode(prompt) + [self.tok.token_id("<|code|>")]

  def context_overflow(self, prompt: str) -> str | None:
    tokens = len(self._encode(prompt))
    if tokens + self.new_tokens <= self.seq_len:
      return None
    return f"prompt of {tokens} tokens + max_new_tokens={self.new_tokens} exceeds the model's seq_len={self.seq_len}"

  def __call__(self, prompts: list[str]) -> list[str]:
    out = []
    for prompt in prompts:  # batch 1: one compiled shape per prompt bucket
      ids = self.gen.generate([self._encode(prompt)], [self.ids[0]], [self.ids[1]], seed=self.seed)[0]
      self.seed += 1
      out.append(self.tok.decode(ids))
    return out

  def value(self, prompts: list[str]) -> list[float | None]:
    out = []
    for prompt in prompts:
      if self.context_overflow(prompt) is not None:
        out.append(None)
        continue
      batch = self.gen.make_batch([self._encode(prompt)], [self.ids[0]], [self.ids[1]])
      out.append(float(self._q(self.gen.params, batch)[0]))
    return out


# ----------------------------------------------------------------------------------------------- evaluators


def lcb_codegeneration(problems, generator, config: SearchConfig, n: int = 1, workers: int = 1, backend="local"):
  """LiveCodeBench code generation with a strategy: n independent searches per problem, each answer graded on
  every test; records in the harness's shape (outputs: every reply of the search; extracted: the answers)."""
  records = []
  for problem in problems:
    task = CodeProblem(problem, "lcb", workers=workers, backend=backend)
    outputs, answers, grades = [], [], []
    for _ in range(n):
      result = search(task, generator, config)
      outputs += [a.reply for a in result.attempts]
      if result.answer is None:
        reason = "context_overflow" if result.overflowed else "no_code"
        answers.append("")
        grades.append(
          lcb.Grade(
            False, reason, {"error": "no attempt: the prompt was not sent" if result.overflowed else "no reply"}
          )
        )
      else:
        answers.append(result.answer.code)
        grades.append(task.grade(result.answer.code))
    records.append(lcb._sample_record(problem, outputs, answers, grades))  # pylint: disable=protected-access
  return records


def polyglot_exercise(
  exercise, generator, out_dir, config: SearchConfig, edit_format: str = "diff", model: str = ""
) -> dict:
  """One exercise with a strategy; writes the answer's files and `.results.json` (aider's fields: tests_outcomes
  holds the answer's outcome, num_replies the model calls) as `polyglot.run_exercise` does."""
  import json  # pylint: disable=import-outside-toplevel
  import shutil  # pylint: disable=import-outside-toplevel
  import time  # pylint: disable=import-outside-toplevel

  from hrm_jax.evals import polyglot  # pylint: disable=import-outside-toplevel

  workdir = out_dir / exercise.language / exercise.name
  if workdir.exists():
    shutil.rmtree(workdir)
  shutil.copytree(exercise.pristine, workdir, symlinks=True)
  start = time.monotonic()
  task = PolyglotProblem(exercise, edit_format)
  result = search(task, generator, config)
  results = {
    "testdir": f"{exercise.language}/{exercise.name}",
    "testcase": exercise.name,
    "language": exercise.language,
    "model": model,
    "edit_format": edit_format,
    "strategy": config.strategy,
    "budget": config.budget,
    "tests_outcomes": [],
    "outcomes": [],
    "num_replies": result.calls,
    "num_malformed_responses": 0,
  }
  log = [f"# {exercise.language}/{exercise.name}: strategy {config.strategy}, budget {config.budget}\n"]
  for i, a in enumerate(result.attempts):
    log += [
      f"\n## attempt {i} (from {a.parent if a.parent is not None else 'the task'}): score {a.check.score}\n",
      a.prompt,
      "\n## reply\n",
      a.reply,
    ]
  if result.answer is None:
    results["context_overflow"] = "the prompt does not fit the model's context"
    results["outcomes"].append("context_overflow")
  else:
    polyglot._write_files(workdir, json.loads(result.answer.code), exercise)  # pylint: disable=protected-access
    results["tests_outcomes"].append(result.answer.check.passed)
    results["outcomes"].append(result.answer.check.category)
    log += ["\n## answer's test output\n", f"```\n{task.outputs.get(result.answer.code, '')}\n```\n"]
  results["duration"] = time.monotonic() - start
  (workdir / polyglot.HISTORY_FILE).write_text("".join(log))
  (workdir / polyglot.RESULTS_FILE).write_text(json.dumps(results, indent=1))
  return results
