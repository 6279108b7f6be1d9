"""Syntax-preserving program augmentation with real parsers: Python's `ast`, tree-sitter for the other five.

Two transforms, both seeded and deterministic:
  rename_locals     renames parameters and local variables of each function to fresh names, everywhere they
                    occur inside that function. A name is left alone when renaming it could change meaning:
                    Python: names used as keyword arguments, `global`/`nonlocal` names, self/cls;
                    tree-sitter: names that also appear as another kind of token (a field, a type, a
                    property), in a shorthand (`Point { x }`, `{ x }`), or inside a string literal.
  reorder_definitions  permutes runs of adjacent, independent function definitions (Python top level and
                    class bodies without decorators; Go and Rust top level; Java class bodies; JavaScript
                    function declarations, which are hoisted). C++ is not reordered: it needs declaration
                    before use.
`augment(language, code, seed)` applies both and checks that the result still parses (no tree-sitter ERROR
or MISSING node / `ast.parse` succeeds); on any doubt it returns the input unchanged. Python output comes
from `ast.unparse`, which drops comments.
"""

from __future__ import annotations

import ast
import builtins
import functools
import keyword
import random
import re

NAME_POOL = ("acc", "arg", "cur", "item", "val", "tmp", "res", "elem", "part", "cnt", "num", "key", "buf", "idx")


def _fresh_names(rng: random.Random, taken: set[str], count: int) -> list[str]:
  out = []
  while len(out) < count:
    name = f"{rng.choice(NAME_POOL)}{rng.randint(0, 99)}"
    if name not in taken and not keyword.iskeyword(name):
      taken.add(name)
      out.append(name)
  return out


# ----------------------------------------------------------------------------------------------------------
# Python (ast).


class _PyRenamer(ast.NodeTransformer):
  def __init__(self, mapping: dict[str, str]):
    self.mapping = mapping

  def visit_Name(self, node):
    node.id = self.mapping.get(node.id, node.id)
    return node

  def visit_arg(self, node):
    node.arg = self.mapping.get(node.arg, node.arg)
    self.generic_visit(node)
    return node


def _py_locals(fn: ast.AST) -> set[str]:
  names = set()
  declared_outer = set()
  for node in ast.walk(fn):
    if isinstance(node, (ast.Global, ast.Nonlocal)):
      declared_outer.update(node.names)
    elif isinstance(node, ast.arg):
      names.add(node.arg)
    elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
      names.add(node.id)
  return names - declared_outer - {"self", "cls"}


def python_rename_locals(code: str, rng: random.Random) -> str:
  tree = ast.parse(code)
  keyword_args = {k.arg for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg}
  taken = (
    {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    | {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
    | set(dir(builtins))
    | {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
  )
  defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
  for fn in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]:
    names = sorted(_py_locals(fn) - keyword_args - defined)
    if not names:
      continue
    mapping = dict(zip(names, _fresh_names(rng, taken, len(names))))
    renamer = _PyRenamer(mapping)
    for child in (fn.args, *(fn.body if isinstance(fn.body, list) else [fn.body])):
      renamer.visit(child)
  return ast.unparse(tree) + "\n"


def _py_reorder_body(body: list, rng: random.Random) -> list:
  out, run = [], []

  def flush():
    if len(run) > 1:
      rng.shuffle(run)
    out.extend(run)
    run.clear()

  for stmt in body:
    if (
      isinstance(stmt, ast.FunctionDef)
      and not stmt.decorator_list
      and not stmt.args.defaults
      and not stmt.args.kw_defaults
    ):
      run.append(stmt)
    else:
      flush()
      out.append(stmt)
  flush()
  return out


def python_reorder_definitions(code: str, rng: random.Random) -> str:
  tree = ast.parse(code)
  tree.body = _py_reorder_body(tree.body, rng)
  for node in tree.body:
    if isinstance(node, ast.ClassDef):
      node.body = _py_reorder_body(node.body, rng)
  return ast.unparse(tree) + "\n"


# ----------------------------------------------------------------------------------------------------------
# tree-sitter languages.

TS_MODULES = {
  "cpp": "tree_sitter_cpp",
  "go": "tree_sitter_go",
  "java": "tree_sitter_java",
  "javascript": "tree_sitter_javascript",
  "rust": "tree_sitter_rust",
}

FUNCTION_TYPES = {
  "cpp": ("function_definition", "lambda_expression"),
  "go": ("function_declaration", "method_declaration", "func_literal"),
  "java": ("method_declaration", "constructor_declaration", "lambda_expression"),
  "javascript": ("function_declaration", "function_expression", "arrow_function", "method_definition"),
  "rust": ("function_item", "closure_expression"),
}
# declaration node type -> field holding the declared name(s) (None: the node's direct identifier children)
DECLARATIONS = {
  "cpp": {
    "parameter_declaration": "declarator",
    "init_declarator": "declarator",
    "declaration": "declarator",
    "for_range_loop": "declarator",
  },
  "go": {"parameter_declaration": "name", "short_var_declaration": "left", "var_spec": "name", "range_clause": "left"},
  "java": {"formal_parameter": "name", "variable_declarator": "name", "enhanced_for_statement": "name"},
  "javascript": {"variable_declarator": "name", "formal_parameters": None, "for_in_statement": "left"},
  "rust": {
    "parameter": "pattern",
    "let_declaration": "pattern",
    "for_expression": "pattern",
    "closure_parameters": None,
  },
}
# Wrappers a declared identifier may sit in (`int& x`, `*p`, `mut x`, `a, b :=`).
_DECLARATOR_WRAPPERS = ("reference_declarator", "pointer_declarator", "mut_pattern", "expression_list", "identifier")
_UNSAFE_PARENTS = (
  "shorthand",
  "keyed_element",
  "literal_element",
  "field_initializer",
  "pair",
  "labeled_statement",
  "label",
  "goto",
  "macro_definition",
)
REORDERABLE = {
  "go": ("source_file", ("function_declaration", "method_declaration")),
  "rust": ("source_file", ("function_item",)),
  "java": ("class_body", ("method_declaration",)),
  "javascript": ("program", ("function_declaration",)),
}


@functools.cache
def ts_parser(language: str):
  """A tree-sitter parser for one of the five non-Python languages (the `tree-sitter-<lang>` wheels)."""
  import importlib

  import tree_sitter

  if language not in TS_MODULES:
    raise ValueError(f"no tree-sitter grammar for {language!r}; expected one of {sorted(TS_MODULES)}")
  module = importlib.import_module(TS_MODULES[language])
  return tree_sitter.Parser(tree_sitter.Language(module.language()))


def _walk(node):
  stack = [node]
  while stack:
    n = stack.pop()
    yield n
    stack.extend(reversed(n.children))


def parses(language: str, code: str) -> bool:
  """True when `code` parses with no syntax error (Python: ast; others: no ERROR or MISSING node)."""
  if language == "python":
    try:
      ast.parse(code)
      return True
    except SyntaxError:
      return False
  root = ts_parser(language).parse(code.encode()).root_node
  return not root.has_error and not any(n.is_missing for n in _walk(root))


def _declared_identifiers(node, field: str | None) -> list:
  if field is None:
    targets = [c for c in node.children if c.type == "identifier"]
  else:
    targets = node.children_by_field_name(field)
  out = []
  for t in targets:
    stack = [t]
    while stack:
      n = stack.pop()
      if n.type == "identifier":
        out.append(n)
      elif n.type in _DECLARATOR_WRAPPERS:
        stack.extend(n.children)
  return out


def ts_rename_locals(language: str, code: str, rng: random.Random) -> str:
  data = code.encode()
  root = ts_parser(language).parse(data).root_node
  leaves = [
    n
    for n in _walk(root)
    if n.child_count == 0
    or n.type in ("string_literal", "string", "interpreted_string_literal", "raw_string_literal", "template_string")
  ]
  non_identifier_texts = {n.text.decode() for n in leaves if n.type != "identifier" and n.child_count == 0}
  string_text = " ".join(n.text.decode() for n in leaves if "string" in n.type)
  taken = {n.text.decode() for n in leaves if n.child_count == 0}
  edits = {}
  functions = [n for n in _walk(root) if n.type in FUNCTION_TYPES[language]]
  for fn in functions:
    declared = set()
    for n in _walk(fn):
      if n.type in DECLARATIONS[language]:
        declared.update(i.text.decode() for i in _declared_identifiers(n, DECLARATIONS[language][n.type]))
    name_node = fn.child_by_field_name("name")
    if name_node is not None:
      declared.discard(name_node.text.decode())
    occurrences = {}
    for n in _walk(fn):
      if n.type == "identifier":
        occurrences.setdefault(n.text.decode(), []).append(n)
    safe = []
    for name in sorted(declared):
      uses = occurrences.get(name, [])
      if (
        not uses
        or name in non_identifier_texts
        or re.search(rf"\b{re.escape(name)}\b", string_text)
        or any(u.parent is not None and any(p in u.parent.type for p in _UNSAFE_PARENTS) for u in uses)
        or any(u.start_byte in edits for u in uses)
      ):
        continue
      safe.append(name)
    for name, new in zip(safe, _fresh_names(rng, taken, len(safe))):
      for u in occurrences[name]:
        edits[u.start_byte] = (u.end_byte, new)
  out = bytearray(data)
  for start in sorted(edits, reverse=True):
    end, new = edits[start]
    out[start:end] = new.encode()
  return out.decode()


def ts_reorder_definitions(language: str, code: str, rng: random.Random) -> str:
  if language not in REORDERABLE:
    return code
  container_type, def_types = REORDERABLE[language]
  data = code.encode()
  root = ts_parser(language).parse(data).root_node
  replacements = []
  for container in (n for n in _walk(root) if n.type == container_type):
    run = []
    for child in container.named_children + [None]:
      if child is not None and child.type in def_types:
        run.append(child)
        continue
      if len(run) > 1:
        order = list(range(len(run)))
        rng.shuffle(order)
        texts = [data[run[i].start_byte : run[i].end_byte] for i in order]
        for node, text in zip(run, texts):
          replacements.append((node.start_byte, node.end_byte, text))
      run = []
  out = bytearray(data)
  for start, end, text in sorted(replacements, reverse=True):
    out[start:end] = text
  return out.decode()


# ----------------------------------------------------------------------------------------------------------


def rename_locals(language: str, code: str, seed: int) -> str:
  rng = random.Random(f"{seed}/rename/{language}")
  return python_rename_locals(code, rng) if language == "python" else ts_rename_locals(language, code, rng)


def reorder_definitions(language: str, code: str, seed: int) -> str:
  rng = random.Random(f"{seed}/reorder/{language}")
  return python_reorder_definitions(code, rng) if language == "python" else ts_reorder_definitions(language, code, rng)


def augment(language: str, code: str, seed: int) -> str:
  """Both transforms; returns `code` unchanged if it does not parse or if a transform breaks parsing."""
  if not parses(language, code):
    return code
  out = code
  for transform in (rename_locals, reorder_definitions):
    try:
      candidate = transform(language, out, seed)
    except (SyntaxError, ValueError, UnicodeDecodeError):
      continue
    if parses(language, candidate):
      out = candidate
  return out
