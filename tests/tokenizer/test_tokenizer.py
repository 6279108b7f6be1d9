"""Tests of the code tokenizer: special-token ids, exact round trips, deterministic training."""

import pytest

from hrm_jax import tokenizer as tokenizer_lib
from hrm_jax.tokenizer import LANGUAGES, SPECIAL_TOKENS, TASKS, load_tokenizer, train_tokenizer
from hrm_jax.tokenizer import sources as sources_lib

SNIPPETS = {
  "cpp": "#include <vector>\n\ntemplate <typename T>\nT sum(const std::vector<T>& xs) {\n  T s{};\n"
  "  for (const auto& x : xs) s += x;  // accumulate\n  return s;\n}\n",
  "go": 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfor i := 0; i < 3; i++ {\n\t\tfmt.Println("héllo", i)\n\t}\n}\n',
  "java": "public final class Main {\n    public static void main(String[] args) {\n        "
  'System.out.println("Grüße \\u00e9");\n    }\n}\n',
  "javascript": "const add = (a, b) => a + b;\nmodule.exports = { add };\n/* 日本語 */\n`tmpl ${add(1, 2)}`;\n",
  "python": 'def f(x: int) -> int:\n    """Doc — with an em dash."""\n    return x * 3 + 7\n\n\n\nprint(f(2))  # 13\n',
  "rust": 'fn main() {\n    let v: Vec<i32> = (0..3).collect();\n    println!("{:?} 🦀", v);\n}\n',
}


@pytest.fixture(scope="module")
def tok():
  return load_tokenizer()


def test_public_constants():
  assert LANGUAGES == ("cpp", "go", "java", "javascript", "python", "rust")
  assert TASKS == ("codegen", "self_repair", "test_output_prediction", "code_execution", "edit", "tool_use")


def test_special_token_ids(tok):
  assert tok.vocab_size == 8192
  assert tok.pad_id == 0 and tok.eos_id == 1 and tok.bos_id == 2
  for i, token in enumerate(SPECIAL_TOKENS):
    assert tok.token_id(token) == i
    assert tok.encode(token) == [i]
    assert tok.decode([i]) == token
  assert tok.token_id("<|lang:python|>") == 3 + LANGUAGES.index("python")
  for marker in ("<<<<<<< SEARCH", "=======", ">>>>>>> REPLACE"):
    assert len(tok.encode(marker)) == 1
  with pytest.raises(KeyError):
    tok.token_id("<|no such token|>")


def test_load_is_cached(tok):
  assert load_tokenizer() is tok
  assert load_tokenizer(tokenizer_lib.DEFAULT_VOCAB_FILE) is tok


@pytest.mark.parametrize("language", LANGUAGES)
def test_round_trip_snippets(tok, language):
  text = SNIPPETS[language]
  assert tok.decode(tok.encode(text)) == text
  framed = f"<|problem|>Write it.\n<|code|>{text}<|eos|>"
  ids = tok.encode(framed)
  assert ids[0] == tok.token_id("<|problem|>") and ids[-1] == tok.eos_id
  assert tok.decode(ids) == framed


@pytest.mark.parametrize(
  "text",
  [
    "",
    " ",
    "\t\t  \n\n\n    x",
    "a\r\nb\r\n",
    "\x00\x01\x7f",
    "é\u0301 \u200b\ufeff",
    "🙂" * 5,
    "==========",
    "<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n",
  ],
)
def test_round_trip_edge_cases(tok, text):
  assert tok.decode(tok.encode(text)) == text


@pytest.mark.parametrize("language", LANGUAGES)
def test_round_trip_machine_sources(tok, language):
  files = sources_lib.find_sources(language)
  if not files:
    pytest.skip(f"no {language} sources on this machine")
  checked = 0
  for f in files[:: max(1, len(files) // 4)][:4]:
    try:
      text = f.load()
    except (UnicodeDecodeError, ValueError):
      continue
    text = text[:20000]
    assert tok.decode(tok.encode(text)) == text, f.key
    checked += 1
  assert checked > 0


def test_code_compresses(tok):
  text = SNIPPETS["python"] * 4
  assert len(text.encode()) / len(tok.encode(text)) > 2.0


def test_training_is_deterministic():
  texts = [SNIPPETS[lang] * 3 for lang in LANGUAGES] * 2
  a = train_tokenizer.train_bpe(texts, vocab_size=400)
  b = train_tokenizer.train_bpe(list(texts), vocab_size=400)
  assert a.to_str() == b.to_str()
  assert a.get_vocab_size() == 400
  for i, token in enumerate(SPECIAL_TOKENS):
    assert a.token_to_id(token) == i
  assert a.decode(a.encode(SNIPPETS["rust"]).ids, skip_special_tokens=False) == SNIPPETS["rust"]


def test_select_corpus_split_is_disjoint_and_capped():
  files = [sources_lib.SourceFile("python", f"root/m{i}.py", 100, (lambda i=i: f"x = {i}\n" * 10)) for i in range(400)]
  c = train_tokenizer.select_corpus("python", files, train_bytes=5000, heldout_bytes=300, max_file_bytes=1000)
  assert not set(c.train_keys) & set(c.heldout_keys)
  assert c.heldout_keys
  assert c.train_bytes <= 5000 + 100
  again = train_tokenizer.select_corpus(
    "python", list(reversed(files)), train_bytes=5000, heldout_bytes=300, max_file_bytes=1000
  )
  assert again.train_keys == c.train_keys


def test_rustdoc_page_decoding():
  page = (
    '<main><pre class="rust"><code><a href=#1 id=1 data-nosnippet>1</a><span class="kw">fn</span> '
    "a() -&gt; &amp;str {}\n<a href=#2 id=2 data-nosnippet>2</a>// x &lt; y\n</code></pre></main>"
  )
  assert sources_lib.rustdoc_source_page_to_text(page) == "fn a() -> &str {}\n// x < y\n"
  with pytest.raises(ValueError):
    sources_lib.rustdoc_source_page_to_text("<html></html>")
