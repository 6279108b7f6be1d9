"""Reports: JSON with stable keys, a Markdown table and PNG bar charts (matplotlib, Agg backend).

Polyglot: one row and one bar group per language (pass_rate_1, pass_rate_2, percent_cases_well_formed) plus
the overall row. LiveCodeBench: rows per difficulty and per platform (pass@1, pass@5), error categories.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

REPORT_JSON = "report.json"
REPORT_MD = "report.md"


def _fmt(value: Any, digits: int) -> str:
  if value is None:
    return "-"
  if isinstance(value, float):
    return f"{value:.{digits}f}"
  return str(value)


def _table(header: list[str], rows: list[list[Any]], digits: int = 3) -> str:
  lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
  lines += ["| " + " | ".join(_fmt(v, digits) for v in row) + " |" for row in rows]
  return "\n".join(lines) + "\n"


def polyglot_markdown(summary: dict) -> str:
  keys = [
    "completed_tests",
    "pass_rate_1",
    "pass_rate_2",
    "percent_cases_well_formed",
    "error_outputs",
    "test_timeouts",
    "context_overflows",
    "exceptions",
    "seconds_per_case",
  ]
  rows = [[language, *[m.get(k) for k in keys]] for language, m in summary["by_language"].items()]
  rows.append(["**overall**", *[summary["overall"].get(k) for k in keys]])
  return "# Aider Polyglot\n\n" + _table(["language", *keys], rows, digits=1)


def livecodebench_markdown(summary: dict) -> str:
  header = ["group", "problems", "pass@1", "pass@5"]
  rows = [["**overall**", *[summary["overall"][k] for k in header[1:]]]]
  rows += [[f"difficulty: {d}", *[m[k] for k in header[1:]]] for d, m in summary["by_difficulty"].items()]
  rows += [[f"platform: {p}", *[m[k] for k in header[1:]]] for p, m in summary["by_platform"].items()]
  errors = _table(["category", "samples"], [[c, n] for c, n in summary["error_categories"].items()])
  return f"# LiveCodeBench: {summary['scenario']}\n\n" + _table(header, rows) + "\n## Outcomes per sample\n\n" + errors


def _bar_chart(
  path: pathlib.Path, title: str, groups: list[str], series: dict[str, list[float]], ylabel: str, ymax: float
) -> None:
  import matplotlib  # pylint: disable=import-outside-toplevel

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

  figure, axes = plt.subplots(figsize=(max(4.0, 1.2 * len(groups) + 2), 3.5))
  width = 0.8 / max(1, len(series))
  for i, (name, values) in enumerate(series.items()):
    positions = [g + (i - (len(series) - 1) / 2) * width for g in range(len(groups))]
    axes.bar(positions, values, width=width, label=name)
  axes.set_xticks(range(len(groups)), groups)
  axes.set_ylim(0, ymax)
  axes.set_ylabel(ylabel)
  axes.set_title(title)
  axes.legend(fontsize="small")
  figure.tight_layout()
  figure.savefig(path, dpi=100)
  plt.close(figure)


def write_reports(summary: dict, out_dir: pathlib.Path, extra: dict | None = None) -> dict[str, pathlib.Path]:
  """Writes report.json, report.md and the chart PNG(s) for a Polyglot or LiveCodeBench summary."""
  out_dir = pathlib.Path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  paths = {"json": out_dir / REPORT_JSON, "markdown": out_dir / REPORT_MD}
  paths["json"].write_text(json.dumps({**summary, **(extra or {})}, indent=1, sort_keys=True) + "\n")
  if summary["benchmark"] == "polyglot":
    paths["markdown"].write_text(polyglot_markdown(summary))
    groups = [*summary["by_language"], "overall"]
    metrics = [*summary["by_language"].values(), summary["overall"]]
    paths["chart"] = out_dir / "polyglot_by_language.png"
    _bar_chart(
      paths["chart"],
      "Aider Polyglot by language",
      groups,
      {k: [m.get(k, 0.0) for m in metrics] for k in ("pass_rate_1", "pass_rate_2")},
      "percent",
      100,
    )
  elif summary["benchmark"] == "livecodebench":
    paths["markdown"].write_text(livecodebench_markdown(summary))
    groups = [*summary["by_difficulty"], "overall"]
    metrics = [*summary["by_difficulty"].values(), summary["overall"]]
    series = {k: [m[k] or 0.0 for m in metrics] for k in ("pass@1", "pass@5") if any(m[k] is not None for m in metrics)}
    paths["chart"] = out_dir / "livecodebench_by_difficulty.png"
    _bar_chart(paths["chart"], f"LiveCodeBench {summary['scenario']} by difficulty", groups, series, "pass@k", 1.0)
  else:
    raise ValueError(f"unknown benchmark {summary['benchmark']!r} in summary")
  return paths
