"""SWE-smith task instances: a validating reader, training records, and a small git-repository fixture.

Instance fields (reference/benchmarks.md C1): instance_id (`<owner>__<repo>.<commit8>.<bug_type>__<hash8>`),
repo, patch (a unified diff that INTRODUCES the bug), FAIL_TO_PASS and PASS_TO_PASS (test ids; lists, or
JSON strings of lists as the Hugging Face copies store them), problem_statement, image_name, base_commit
(the bug branch, named like the instance), created_at (optional). Files are JSONL or one JSON list.

Training record: the problem statement and the buggy code of the files the patch touches -> the fix, i.e.
the reverse of `patch`, as a unified diff (task `edit`, language python for the fixture).

`build_fixture(directory, repo)` makes one fixture repository: a git repository of a small Python package
(`FIXTURES[repo]`, written for hrm-jax) with its bugs committed each on its own branch, and returns their
instances, with FAIL_TO_PASS / PASS_TO_PASS found by actually running pytest on every branch. Three
repositories (minicalc, shopcart, graphlite) hold 31 bugs of SWE-smith's kinds (procedural mutations, LM
rewrites, PR mirrors); `bundled()` builds them all once into a cache for `hrm-jax eval swe`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator

REQUIRED = (
  "instance_id",
  "repo",
  "patch",
  "FAIL_TO_PASS",
  "PASS_TO_PASS",
  "problem_statement",
  "image_name",
  "base_commit",
)
INSTANCE_ID = re.compile(r"^[\w.-]+__[\w.-]+\.[0-9a-f]{8}\.[\w-]+__[\w]+$")


class InstanceError(ValueError):
  """A malformed SWE-smith instance; the message names the file, line and field."""


@dataclasses.dataclass(frozen=True)
class SweSmithInstance:
  instance_id: str
  repo: str
  patch: str
  fail_to_pass: tuple[str, ...]
  pass_to_pass: tuple[str, ...]
  problem_statement: str
  image_name: str
  base_commit: str
  created_at: str = ""

  @property
  def files(self) -> list[str]:
    """Paths the patch touches (from its `diff --git a/X b/X` headers)."""
    return re.findall(r"^diff --git a/(\S+) b/", self.patch, flags=re.MULTILINE)


def _test_list(value, field: str) -> tuple[str, ...]:
  if isinstance(value, str):
    try:
      value = json.loads(value)
    except json.JSONDecodeError as e:
      raise InstanceError(f"field {field}: a string that is not a JSON list: {e}") from e
  if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
    raise InstanceError(f"field {field} must be a list of test ids")
  return tuple(value)


def parse_instance(obj) -> SweSmithInstance:
  if not isinstance(obj, dict):
    raise InstanceError(f"expected a JSON object, got {type(obj).__name__}")
  missing = [f for f in REQUIRED if f not in obj]
  if missing:
    raise InstanceError(f"missing field(s) {', '.join(missing)}")
  for f in ("instance_id", "repo", "patch", "problem_statement", "image_name", "base_commit"):
    if not isinstance(obj[f], str):
      raise InstanceError(f"field {f} must be a string")
  if not INSTANCE_ID.match(obj["instance_id"]):
    raise InstanceError(f"field instance_id {obj['instance_id']!r} is not <owner>__<repo>.<commit8>.<type>__<id>")
  if "diff --git a/" not in obj["patch"] or "\n@@ " not in obj["patch"]:
    raise InstanceError("field patch is not a unified git diff")
  f2p = _test_list(obj["FAIL_TO_PASS"], "FAIL_TO_PASS")
  p2p = _test_list(obj["PASS_TO_PASS"], "PASS_TO_PASS")
  if not f2p:
    raise InstanceError("field FAIL_TO_PASS is empty (a valid instance breaks at least one test)")
  return SweSmithInstance(
    obj["instance_id"],
    obj["repo"],
    obj["patch"],
    f2p,
    p2p,
    obj["problem_statement"],
    obj["image_name"],
    obj["base_commit"],
    str(obj.get("created_at", "")),
  )


def iter_file(path: str) -> Iterator[tuple[int, SweSmithInstance | InstanceError]]:
  """(line or list index, instance or error) for a JSONL file or a JSON list."""
  with open(path, encoding="utf-8") as f:
    text = f.read()
  if text.lstrip().startswith("["):
    try:
      items = list(enumerate(json.loads(text), start=1))
    except json.JSONDecodeError as e:
      yield 0, InstanceError(f"{path}: not JSON: {e}")
      return
  else:
    items = []
    for lineno, line in enumerate(text.splitlines(), start=1):
      if line.strip():
        try:
          items.append((lineno, json.loads(line)))
        except json.JSONDecodeError as e:
          items.append((lineno, InstanceError(f"not JSON: {e}")))
  for where, obj in items:
    if isinstance(obj, InstanceError):
      yield where, InstanceError(f"{path}:{where}: {obj}")
      continue
    try:
      yield where, parse_instance(obj)
    except InstanceError as e:
      yield where, InstanceError(f"{path}:{where}: {e}")


def read_instances(path: str, max_bad: int = 0) -> list[SweSmithInstance]:
  good, bad = [], []
  for _, item in iter_file(path):
    (bad if isinstance(item, InstanceError) else good).append(item)
  if len(bad) > max_bad:
    raise InstanceError(
      f"{path}: {len(bad)} malformed instance(s) (threshold {max_bad}):\n  " + "\n  ".join(str(e) for e in bad[:10])
    )
  for error in bad:
    logging.getLogger(__name__).warning("skipped (within max_bad=%d): %s", max_bad, error)
  return good


def reverse_patch(patch: str) -> str:
  """The unified diff that undoes `patch` (headers, hunk ranges and +/- lines swapped)."""
  out = []
  for line in patch.splitlines(keepends=True):
    if line.startswith("--- "):
      out.append("+++ " + line[4:])
    elif line.startswith("+++ "):
      out.append("--- " + line[4:])
    elif line.startswith("@@ "):
      m = re.match(r"@@ -(\S+) \+(\S+) @@(.*)", line, flags=re.S)
      out.append(f"@@ -{m.group(2)} +{m.group(1)} @@{m.group(3)}" if m else line)
    elif line.startswith("+") and not line.startswith("+++"):
      out.append("-" + line[1:])
    elif line.startswith("-") and not line.startswith("---"):
      out.append("+" + line[1:])
    else:
      out.append(line)
  # `---`/`+++` pairs are now in the wrong order within each file header: swap them back.
  fixed = []
  i = 0
  while i < len(out):
    if out[i].startswith("+++ ") and i + 1 < len(out) and out[i + 1].startswith("--- "):
      fixed += [out[i + 1], out[i]]
      i += 2
    else:
      fixed.append(out[i])
      i += 1
  return "".join(fixed)


def to_training_record(instance: SweSmithInstance, buggy_files: dict[str, str]) -> dict:
  """Statement + the buggy files -> the fix as a unified diff (the reverse of the bug patch)."""
  shown = "".join(f"\n{path}\n```\n{content}```\n" for path, content in sorted(buggy_files.items()))
  return {
    "question_title": instance.instance_id,
    "question_content": f"{instance.problem_statement}\n{shown}",
    "platform": "swe-smith",
    "question_id": instance.instance_id,
    "contest_id": instance.repo,
    "contest_date": (instance.created_at or "2026-01-01T00:00:00")[:19],
    "starter_code": "",
    "difficulty": "medium",
    "public_test_cases": "[]",
    "private_test_cases": "[]",
    "metadata": json.dumps(
      {
        "FAIL_TO_PASS": list(instance.fail_to_pass),
        "PASS_TO_PASS": list(instance.pass_to_pass),
        "base_commit": instance.base_commit,
      }
    ),
    "language": "python",
    "solution": reverse_patch(instance.patch),
    "task": "edit",
  }


# ----------------------------------------------------------------------------------------------------------
# The fixture repository.

FIXTURE_OWNER, FIXTURE_REPO = "hrmjax", "minicalc"
FIXTURE_FILES = {
  "minicalc/__init__.py": "",
  "minicalc/arith.py": (
    "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n\n\n"
    "def mul(a, b):\n    return a * b\n\n\ndef clamp(x, lo, hi):\n    if x < lo:\n        return lo\n"
    "    if x > hi:\n        return hi\n    return x\n"
  ),
  "minicalc/text.py": (
    "def words(s):\n    return s.split()\n\n\ndef title(s):\n    return ' '.join(w[:1].upper() + w[1:] for w in words(s))\n"
    "\n\ndef count_char(s, c):\n    return sum(1 for ch in s if ch == c)\n\n\n"
    "def is_palindrome(s):\n    t = [ch.lower() for ch in s if ch.isalnum()]\n    return t == t[::-1]\n"
  ),
  "minicalc/stats.py": (
    "def mean(xs):\n    return sum(xs) / len(xs)\n\n\ndef median(xs):\n    s = sorted(xs)\n    n = len(s)\n"
    "    mid = n // 2\n    return s[mid] if n % 2 else (s[mid - 1] + s[mid]) / 2\n\n\n"
    "def running_max(xs):\n    out, best = [], None\n    for x in xs:\n"
    "        best = x if best is None or x > best else best\n        out.append(best)\n    return out\n"
  ),
  "tests/test_arith.py": (
    "from minicalc import arith\n\n\ndef test_add():\n    assert arith.add(2, 3) == 5\n\n\n"
    "def test_sub():\n    assert arith.sub(2, 3) == -1\n\n\ndef test_mul():\n    assert arith.mul(4, 3) == 12\n\n\n"
    "def test_clamp_low():\n    assert arith.clamp(-5, 0, 10) == 0\n\n\n"
    "def test_clamp_high():\n    assert arith.clamp(50, 0, 10) == 10\n\n\n"
    "def test_clamp_inside():\n    assert arith.clamp(5, 0, 10) == 5\n"
  ),
  "tests/test_text.py": (
    "from minicalc import text\n\n\ndef test_words():\n    assert text.words(' a  b ') == ['a', 'b']\n\n\n"
    "def test_title():\n    assert text.title('hello big world') == 'Hello Big World'\n\n\n"
    "def test_count_char():\n    assert text.count_char('banana', 'n') == 2\n\n\n"
    "def test_palindrome():\n    assert text.is_palindrome('A man, a plan, a canal: Panama')\n\n\n"
    "def test_not_palindrome():\n    assert not text.is_palindrome('abc')\n"
  ),
  "tests/test_stats.py": (
    "from minicalc import stats\n\n\ndef test_mean():\n    assert stats.mean([1, 2, 3, 5]) == 2.75\n\n\n"
    "def test_median_odd():\n    assert stats.median([5, 1, 3]) == 3\n\n\n"
    "def test_median_even():\n    assert stats.median([4, 1, 3, 2]) == 2.5\n\n\n"
    "def test_running_max():\n    assert stats.running_max([1, 3, 2, 5]) == [1, 3, 3, 5]\n"
  ),
}
# (bug type, file, old text, new text, problem statement)
FIXTURE_BUGS = (
  ("func_pm_op_swap", "minicalc/arith.py", "return a + b", "return a - b", "add() returns the difference."),
  ("func_pm_op_swap", "minicalc/arith.py", "return a * b", "return a + b", "mul(4, 3) gives 7 instead of 12."),
  (
    "func_pm_ctrl_invert_if",
    "minicalc/arith.py",
    "if x < lo:",
    "if x > lo:",
    "clamp() returns the lower bound for values inside the range.",
  ),
  (
    "func_pm_remove_cond",
    "minicalc/arith.py",
    "    if x > hi:\n        return hi\n",
    "",
    "clamp() does not limit values above the upper bound.",
  ),
  ("func_pm_op_change", "minicalc/text.py", "if ch == c)", "if ch != c)", "count_char counts the wrong characters."),
  (
    "func_pm_remove_call",
    "minicalc/text.py",
    "w[:1].upper() + w[1:]",
    "w[:1] + w[1:]",
    "title() leaves words in lower case.",
  ),
  (
    "func_pm_remove_call",
    "minicalc/text.py",
    "[ch.lower() for",
    "[ch for",
    "is_palindrome is case sensitive: 'A man, a plan, a canal: Panama' is rejected.",
  ),
  (
    "func_pm_op_change_const",
    "minicalc/stats.py",
    "    mid = n // 2\n",
    "    mid = n // 2 + 1\n",
    "median() picks the wrong element.",
  ),
  (
    "func_pm_op_swap",
    "minicalc/stats.py",
    "(s[mid - 1] + s[mid]) / 2",
    "(s[mid - 1] - s[mid]) / 2",
    "median() of an even-length list is wrong.",
  ),
  (
    "func_pm_ctrl_shuffle",
    "minicalc/stats.py",
    "x > best else best",
    "x < best else best",
    "running_max tracks the minimum.",
  ),
  (
    "func_pm_remove_assign",
    "minicalc/stats.py",
    "        out.append(best)\n",
    "",
    "running_max returns an empty list.",
  ),
  (
    "func_pm_op_change",
    "minicalc/stats.py",
    "return sum(xs) / len(xs)",
    "return sum(xs) // len(xs)",
    "mean() rounds down.",
  ),
)

# Two more repositories (written for hrm-jax), with bugs of SWE-smith's kinds: procedural AST mutations
# (func_pm_*), LM rewrites of a function (lm_rewrite) and PR mirrors (a feature change undone: pr_mirror).
SHOPCART_FILES = {
  "shopcart/__init__.py": "",
  "shopcart/money.py": '''def to_cents(amount):
    """'12.34' or 12.34 -> 1234 (cents, rounded)."""
    return int(round(float(amount) * 100 + 1e-9))


def format_cents(cents):
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"
''',
  "shopcart/cart.py": """from shopcart.money import to_cents


class Cart:
    def __init__(self):
        self.lines = {}

    def add(self, sku, price, qty=1):
        if qty <= 0:
            raise ValueError("qty must be positive")
        cents = to_cents(price)
        if sku in self.lines:
            old_cents, old_qty = self.lines[sku]
            self.lines[sku] = (old_cents, old_qty + qty)
        else:
            self.lines[sku] = (cents, qty)

    def remove(self, sku, qty=1):
        cents, have = self.lines[sku]
        if qty >= have:
            del self.lines[sku]
        else:
            self.lines[sku] = (cents, have - qty)

    def count(self):
        return sum(qty for _, qty in self.lines.values())

    def subtotal(self):
        return sum(cents * qty for cents, qty in self.lines.values())

    def total(self, discount_percent=0, shipping_cents=500, free_shipping_over=5000):
        sub = self.subtotal()
        discounted = sub - sub * discount_percent // 100
        shipping = 0 if discounted >= free_shipping_over or not self.lines else shipping_cents
        return discounted + shipping
""",
  "shopcart/parse.py": '''def parse_line(line):
    """'sku,price,qty' -> (sku, price, qty); blank lines and '#' comments -> None."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    sku, price, qty = [part.strip() for part in line.split(",")]
    return sku, price, int(qty)


def load(text, cart):
    for line in text.splitlines():
        item = parse_line(line)
        if item is not None:
            cart.add(*item)
    return cart
''',
  "tests/test_money.py": """from shopcart.money import format_cents, to_cents


def test_to_cents():
    assert to_cents("12.34") == 1234
    assert to_cents(0.1) == 10


def test_format_cents():
    assert format_cents(1234) == "12.34"


def test_format_small():
    assert format_cents(5) == "0.05"


def test_format_negative():
    assert format_cents(-150) == "-1.50"
""",
  "tests/test_cart.py": """import pytest

from shopcart.cart import Cart


def test_add_and_count():
    cart = Cart()
    cart.add("a", "1.00", 2)
    cart.add("b", "2.50")
    assert cart.count() == 3


def test_add_same_sku_merges():
    cart = Cart()
    cart.add("a", "1.00", 2)
    cart.add("a", "1.00")
    assert cart.count() == 3 and cart.subtotal() == 300


def test_add_rejects_zero():
    with pytest.raises(ValueError):
        Cart().add("a", "1.00", 0)


def test_remove_some():
    cart = Cart()
    cart.add("a", "1.00", 3)
    cart.remove("a", 2)
    assert cart.count() == 1


def test_remove_all():
    cart = Cart()
    cart.add("a", "1.00", 2)
    cart.remove("a", 2)
    assert "a" not in cart.lines


def test_total_with_shipping():
    cart = Cart()
    cart.add("a", "10.00")
    assert cart.total() == 1500


def test_total_discount():
    cart = Cart()
    cart.add("a", "100.00")
    assert cart.total(discount_percent=10) == 9000


def test_free_shipping_threshold():
    cart = Cart()
    cart.add("a", "50.00")
    assert cart.total() == 5000


def test_empty_cart_total():
    assert Cart().total() == 0
""",
  "tests/test_parse.py": """from shopcart.cart import Cart
from shopcart.parse import load, parse_line


def test_parse_line():
    assert parse_line("a, 1.50, 2") == ("a", "1.50", 2)


def test_parse_blank():
    assert parse_line("   ") is None


def test_load_with_comments():
    cart = load("# inventory\\na,1.00,2\\n\\nb,0.50,1\\n", Cart())
    assert cart.count() == 3 and cart.subtotal() == 250
""",
}
SHOPCART_BUGS = (
  (
    "func_pm_op_change_const",
    "shopcart/money.py",
    "float(amount) * 100 +",
    "float(amount) * 10 +",
    "to_cents('12.34') returns 123 instead of 1234.",
  ),
  (
    "func_pm_op_change",
    "shopcart/money.py",
    "{cents % 100:02d}",
    "{cents % 100:2d}",
    "format_cents(5) gives '0. 5' instead of '0.05'.",
  ),
  (
    "func_pm_remove_cond",
    "shopcart/money.py",
    'sign = "-" if cents < 0 else ""',
    'sign = ""',
    "Negative amounts are formatted without their minus sign.",
  ),
  (
    "lm_rewrite",
    "shopcart/cart.py",
    "self.lines[sku] = (old_cents, old_qty + qty)",
    "self.lines[sku] = (cents, qty)",
    "Adding a product that is already in the cart replaces its quantity instead of adding to it.",
  ),
  (
    "func_pm_ctrl_invert_if",
    "shopcart/cart.py",
    "if qty >= have:",
    "if qty > have:",
    "Removing every unit of a product leaves an empty line for it in the cart.",
  ),
  (
    "func_pm_op_change_const",
    "shopcart/cart.py",
    "sub * discount_percent // 100",
    "sub * discount_percent // 10",
    "A 10% discount takes off 100% of the price.",
  ),
  (
    "pr_mirror",
    "shopcart/cart.py",
    " or not self.lines else",
    " else",
    "An empty cart is charged for shipping (the change that made empty carts free is missing).",
  ),
  (
    "func_pm_op_change",
    "shopcart/cart.py",
    "discounted >= free_shipping_over",
    "discounted > free_shipping_over",
    "A cart of exactly the free-shipping amount is still charged for shipping.",
  ),
  (
    "pr_mirror",
    "shopcart/parse.py",
    'if not line or line.startswith("#"):',
    "if not line:",
    "Loading an inventory with '#' comment lines fails (comment support is missing).",
  ),
  (
    "lm_rewrite",
    "shopcart/parse.py",
    'sku, price, qty = [part.strip() for part in line.split(",")]',
    'sku, price, qty = line.split(",")',
    "parse_line keeps the spaces around fields ('a, 1.50, 2').",
  ),
)

GRAPHLITE_FILES = {
  "graphlite/__init__.py": "",
  "graphlite/graph.py": '''import heapq
from collections import deque


def neighbors(edges, node):
    return sorted(b for a, b in edges if a == node)


def bfs_order(edges, start):
    seen, order, queue = {start}, [], deque([start])
    while queue:
        node = queue.popleft()
        order.append(node)
        for nxt in neighbors(edges, node):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return order


def shortest_path_len(edges, start, goal):
    dist = {start: 0}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            return dist[node]
        for nxt in neighbors(edges, node):
            if nxt not in dist:
                dist[nxt] = dist[node] + 1
                queue.append(nxt)
    return -1


def topo_sort(nodes, edges):
    indegree = {n: 0 for n in nodes}
    for _, b in edges:
        indegree[b] += 1
    ready = sorted(n for n in nodes if indegree[n] == 0)
    order = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for nxt in neighbors(edges, node):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
        ready.sort()
    if len(order) != len(nodes):
        raise ValueError("the graph has a cycle")
    return order


def dijkstra(weighted, start):
    """weighted: {(a, b): w}; returns {node: distance} for the nodes reachable from start."""
    dist = {start: 0}
    heap = [(0, start)]
    while heap:
        d, node = heapq.heappop(heap)
        if d > dist.get(node, float("inf")):
            continue
        for (a, b), w in weighted.items():
            if a == node and d + w < dist.get(b, float("inf")):
                dist[b] = d + w
                heapq.heappush(heap, (d + w, b))
    return dist


def components(nodes, edges):
    parent = {n: n for n in nodes}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
    groups = {}
    for n in nodes:
        groups.setdefault(find(n), []).append(n)
    return sorted(sorted(g) for g in groups.values())
''',
  "tests/test_graph.py": """import pytest

from graphlite import graph

EDGES = [(1, 3), (1, 2), (2, 4), (3, 4), (4, 5)]


def test_neighbors_sorted():
    assert graph.neighbors(EDGES, 1) == [2, 3]


def test_bfs_order():
    assert graph.bfs_order(EDGES, 1) == [1, 2, 3, 4, 5]


def test_shortest_path():
    assert graph.shortest_path_len(EDGES, 1, 5) == 3


def test_shortest_path_unreachable():
    assert graph.shortest_path_len(EDGES, 5, 1) == -1


def test_topo_sort():
    assert graph.topo_sort([5, 4, 3, 2, 1], EDGES) == [1, 2, 3, 4, 5]


def test_topo_sort_ties_smallest_first():
    assert graph.topo_sort(["b", "a", "c"], [("a", "c")]) == ["a", "b", "c"]


def test_topo_sort_cycle():
    with pytest.raises(ValueError):
        graph.topo_sort([1, 2], [(1, 2), (2, 1)])


def test_dijkstra():
    weighted = {("a", "b"): 4, ("a", "c"): 1, ("c", "b"): 2, ("b", "d"): 1}
    assert graph.dijkstra(weighted, "a") == {"a": 0, "b": 3, "c": 1, "d": 4}


def test_components():
    assert graph.components([1, 2, 3, 4, 5, 6], [(1, 2), (3, 2), (1, 4), (5, 6)]) == [[1, 2, 3, 4], [5, 6]]


def test_components_singletons():
    assert graph.components([1, 2, 3], []) == [[1], [2], [3]]
""",
}
GRAPHLITE_BUGS = (
  (
    "func_pm_remove_call",
    "graphlite/graph.py",
    "return sorted(b for a, b in edges if a == node)",
    "return [b for a, b in edges if a == node]",
    "neighbors() returns nodes in edge order instead of sorted.",
  ),
  (
    "func_pm_op_change",
    "graphlite/graph.py",
    "            if nxt not in seen:\n",
    "            if nxt in seen:\n",
    "bfs_order only ever returns the start node.",
  ),
  (
    "lm_rewrite",
    "graphlite/graph.py",
    "dist[nxt] = dist[node] + 1",
    "dist[nxt] = dist.get(node, 1)",
    "shortest_path_len gives wrong lengths for paths longer than one edge.",
  ),
  (
    "func_pm_op_change_const",
    "graphlite/graph.py",
    "    return -1\n",
    "    return 0\n",
    "shortest_path_len reports 0 for unreachable goals instead of -1.",
  ),
  (
    "func_pm_ctrl_shuffle",
    "graphlite/graph.py",
    "node = ready.pop(0)",
    "node = ready.pop()",
    "topo_sort breaks ties by the largest node instead of the smallest.",
  ),
  (
    "pr_mirror",
    "graphlite/graph.py",
    '    if len(order) != len(nodes):\n        raise ValueError("the graph has a cycle")\n',
    "",
    "topo_sort silently returns a partial order for cyclic graphs instead of raising ValueError.",
  ),
  (
    "func_pm_op_swap",
    "graphlite/graph.py",
    'd + w < dist.get(b, float("inf"))',
    'd + w > dist.get(b, float("inf"))',
    "dijkstra finds no distances beyond the start node.",
  ),
  (
    "lm_rewrite",
    "graphlite/graph.py",
    "            parent[ra] = rb\n",
    "            parent[a] = b\n",
    "components() splits connected nodes into separate groups.",
  ),
  (
    "func_pm_remove_call",
    "graphlite/graph.py",
    "groups.setdefault(find(n), []).append(n)",
    "groups.setdefault(n, []).append(n)",
    "components() puts every node in its own group.",
  ),
)

FIXTURES = {
  "minicalc": (FIXTURE_FILES, FIXTURE_BUGS),
  "shopcart": (SHOPCART_FILES, SHOPCART_BUGS),
  "graphlite": (GRAPHLITE_FILES, GRAPHLITE_BUGS),
}

_GIT_ENV = {
  "GIT_AUTHOR_NAME": "hrm-jax",
  "GIT_AUTHOR_EMAIL": "fixture@hrm-jax",
  "GIT_COMMITTER_NAME": "hrm-jax",
  "GIT_COMMITTER_EMAIL": "fixture@hrm-jax",
  "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+00:00",
  "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00",
}


def _git(directory: str, *args: str) -> str:
  env = dict(os.environ, **_GIT_ENV, GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_SYSTEM=os.devnull)
  proc = subprocess.run(["git", *args], cwd=directory, capture_output=True, text=True, env=env, timeout=60)
  if proc.returncode != 0:
    raise RuntimeError(f"git {' '.join(args)} failed in {directory}: {proc.stderr}")
  return proc.stdout


def run_pytest(directory: str) -> dict[str, str]:
  """{test id: "PASSED" | "FAILED" | ...} from `pytest -rA` (SWE-smith's pytest log parsing, in substance)."""
  proc = subprocess.run(
    [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "tests"],
    cwd=directory,
    capture_output=True,
    text=True,
    timeout=300,
    env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
  )
  status = {}
  for line in proc.stdout.splitlines():
    m = re.match(r"^(PASSED|FAILED|ERROR) (\S+)", line)
    if m:
      status[m.group(2)] = m.group(1)
  return status


def build_fixture(directory: str, repo: str = FIXTURE_REPO) -> list[dict]:
  """Creates fixture repository `repo` (a key of FIXTURES) in `directory` (which must not exist) and returns its
  instances."""
  files, bugs = FIXTURES[repo]
  os.makedirs(directory)
  for path, content in files.items():
    os.makedirs(os.path.join(directory, os.path.dirname(path)), exist_ok=True)
    with open(os.path.join(directory, path), "w") as f:
      f.write(content)
  _git(directory, "init", "-q", "-b", "main")
  _git(directory, "add", "-A")
  _git(directory, "commit", "-q", "-m", repo)
  clean_commit = _git(directory, "rev-parse", "HEAD").strip()
  clean = run_pytest(directory)
  repo_name = f"{FIXTURE_OWNER}__{repo}.{clean_commit[:8]}"
  instances = []
  for bug_type, path, old, new, statement in bugs:
    full = os.path.join(directory, path)
    with open(full) as f:
      content = f.read()
    if content.count(old) != 1:
      raise ValueError(f"fixture bug {bug_type} in {path}: {old!r} must occur exactly once")
    digest = hashlib.sha256(f"{path}\n{old}\n{new}".encode()).hexdigest()[:8]
    instance_id = f"{repo_name}.{bug_type}__{digest}"
    _git(directory, "checkout", "-q", "-b", instance_id, clean_commit)
    with open(full, "w") as f:
      f.write(content.replace(old, new))
    patch = _git(directory, "diff")
    _git(directory, "commit", "-q", "-am", "Bug Patch")
    buggy = run_pytest(directory)
    f2p = sorted(t for t, s in clean.items() if s == "PASSED" and buggy.get(t) != "PASSED")
    p2p = sorted(t for t, s in clean.items() if s == "PASSED" and buggy.get(t) == "PASSED")
    if not f2p:
      raise ValueError(f"fixture bug {bug_type} in {path} ({old!r} -> {new!r}) breaks no test")
    instances.append(
      {
        "instance_id": instance_id,
        "repo": f"swesmith/{repo_name}",
        "patch": patch,
        "FAIL_TO_PASS": f2p,
        "PASS_TO_PASS": p2p,
        "problem_statement": statement,
        "image_name": f"swesmith.x86_64.{FIXTURE_OWNER}_1776_{repo}.{clean_commit[:8]}",
        "base_commit": _git(directory, "rev-parse", "HEAD").strip(),
        "created_at": "2026-01-01T00:00:00",
      }
    )
    _git(directory, "checkout", "-q", "main")
  return instances


def buggy_files(directory: str, instance: SweSmithInstance) -> dict[str, str]:
  """The files the patch touches, as they are on the instance's bug branch."""
  return {path: _git(directory, "show", f"{instance.base_commit}:{path}") for path in instance.files}


def repo_path(repos_root: str, instance: SweSmithInstance) -> str:
  """Where an instance's repository lies under `repos_root`: `<root>/<owner>__<repo>.<commit8>`, the last part of
  its `repo` field (SWE-smith's mirror name, e.g. swesmith/hrmjax__minicalc.1a2b3c4d)."""
  return os.path.join(repos_root, instance.repo.rsplit("/", 1)[-1])


def build_fixtures(root: str, progress=None) -> list[dict]:
  """Every FIXTURES repository under `root` (named as `repo_path` expects); returns all their instances."""
  instances = []
  for repo in FIXTURES:
    scratch = os.path.join(root, f".build-{repo}")
    found = build_fixture(scratch, repo)
    os.rename(scratch, repo_path(root, parse_instance(found[0])))
    instances += found
    if progress:
      progress(f"fixture {repo}: {len(found)} instances")
  return instances


def bundled(cache_root: str | None = None, progress=None) -> tuple[str, str]:
  """(instances JSONL path, repositories root) of the bundled fixture, built once per fixture content into
  `cache_root` (default ~/.cache/hrm-jax/swe-fixture) and reused afterwards."""
  digest = hashlib.sha256(json.dumps(FIXTURES, sort_keys=True).encode()).hexdigest()[:12]
  cache_root = cache_root or os.path.join(os.path.expanduser("~"), ".cache", "hrm-jax", "swe-fixture")
  root = os.path.join(cache_root, digest)
  path = os.path.join(root, "instances.jsonl")
  if os.path.exists(path):
    return path, root
  building = f"{root}.building-{os.getpid()}"
  if os.path.exists(building):
    import shutil  # pylint: disable=import-outside-toplevel

    shutil.rmtree(building)
  os.makedirs(building)
  instances = build_fixtures(building, progress)
  with open(os.path.join(building, "instances.jsonl"), "w") as f:
    for inst in instances:
      f.write(json.dumps(inst) + "\n")
  try:
    os.rename(building, root)  # atomic: a reader sees a whole fixture or none
  except OSError:  # another process finished first: use theirs
    import shutil  # pylint: disable=import-outside-toplevel

    shutil.rmtree(building, ignore_errors=True)
  return path, root
