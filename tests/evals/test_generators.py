import pytest

from hrm_jax.evals import generators as g


def test_as_batched_wraps_single_prompt_functions():
  def single(prompt: str) -> str:
    return prompt.upper()

  def batched(prompts: list[str]) -> list[str]:
    return [p[::-1] for p in prompts]

  assert g.as_batched(single)(["ab", "c"]) == ["AB", "C"]
  assert g.as_batched(batched) is batched
  assert g.as_batched(lambda p: p + "!")(["x"]) == ["x!"]


def test_command_generator_reads_stdin_and_reports_failures():
  assert g.command_generator("tr a-z A-Z")(["hello", "x"]) == ["HELLO", "X"]
  with pytest.raises(RuntimeError, match="exited 3"):
    g.command_generator("exit 3")(["p"])


def test_table_and_generate_all():
  table = g.table_generator({"a": "1", "b": "2"})
  assert g.generate_all(table, ["a", "b", "a"], batch_size=2) == ["1", "2", "1"]
  with pytest.raises(KeyError):
    table(["zzz"])
  with pytest.raises(ValueError, match="replies"):
    g.generate_all(lambda ps: [], ["a"])
