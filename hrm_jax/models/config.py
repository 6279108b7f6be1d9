"""The model's hyper-parameters (`config.model`), in a module that imports no JAX (configs load it cheaply).

Names follow the reference's `HierarchicalReasoningModel_ACTV1Config` (sapientinc/HRM) and, for `arch="trm"`,
`TinyRecursiveReasoningModel_ACTV1Config` (SamsungSAILMontreal/TinyRecursiveModels: `puzzle_emb_len`,
`no_ACT_continue`); the other fields after `halt_exploration_prob` are this project's (code mode, quantization,
memory options). `configs/common.py` builds config files' `model` sections from these defaults.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from hrm_jax import config_fields

# jax.checkpoint policies per module application (hrm_jax/models/layers.py maps the names to policies).
REMAT_POLICIES = ("none", "full", "dots", "dots_no_batch", "block_outputs")

L_KIND, H_KIND = 0, 1
ATTENTION_MODES = ("bidirectional", "causal", "prefix_lm")
ARCHS = ("hrm", "trm", "transformer")


@dataclasses.dataclass(frozen=True)
class HRMConfig:
  """Model hyper-parameters (names follow the reference's `HierarchicalReasoningModel_ACTV1Config`)."""

  vocab_size: int = 8192
  seq_len: int = 128
  hidden_size: int = 512
  num_heads: int = 8
  expansion: float = 4.0
  H_layers: int = 4
  L_layers: int = 4
  H_cycles: int = 2
  L_cycles: int = 2
  pos_encodings: str = "rope"  # rope | learned
  rope_theta: float = 10000.0
  rms_norm_eps: float = 1e-5
  puzzle_emb_ndim: int = 0  # >0: ceil(ndim/hidden) puzzle prefix tokens (reference), or puzzle_emb_len of them
  puzzle_emb_len: int = 0  # >0 (with puzzle_emb_ndim > 0): that many puzzle prefix tokens (TRM's; its default 16)
  num_puzzle_identifiers: int = 1
  task_conditioning: bool = False  # two prefix tokens: language and task type
  num_languages: int = 6
  num_tasks: int = 6
  attention: str = "bidirectional"  # bidirectional | causal | prefix_lm
  q_position: str = "first"  # first (reference: the puzzle token) | last_prompt (causal ACT, module doc)
  halt_max_steps: int = 16
  halt_exploration_prob: float = 0.1
  # True: halt when q_halt > 0 and no continue target (TRM's default); False: q_halt > q_continue, with the
  # bootstrapped continue target (the reference HRM).
  no_ACT_continue: bool = False
  # Module applications with gradient (the last k of the schedule); 0 = the architecture's own rule
  # (`graded_applications`: HRM 2, its one-step gradient; TRM the whole last H cycle; transformer 1).
  grad_steps: int = 0
  forward_dtype: str = "float32"
  # Reverse-order learning (the plan's "Neuro-Inspired Reverse-Order Learning", its `enable_reverse_learning`):
  # every H update also takes the low level's error signal, L's own next-token prediction through the shared LM
  # head (confidence-weighted embedding of its top token and its normalised entropy), projected by a zero-init
  # matrix `reverse_proj`. Off = the faithful HRM/TRM. docs/model.md defines it.
  reverse_learning: bool = False
  # hrm | trm (Tiny Recursive Model: one L_level network updates z_L and z_H; H_layers unused) | transformer
  # (pre-norm baseline of matched size: H_layers + L_layers blocks)
  arch: str = "hrm"
  # none | a quantization recipe (AQT QAT, hrm_jax/quant `recipe`): int8, int4, w<4|8>a<4|8>, each optionally
  # + g<group size> (per-group scales), e.g. w4a8g16 (the int4 recipe that holds: docs/export.md)
  quant: str = "none"
  remat_policy: str = "none"  # jax.checkpoint per module application: REMAT_POLICIES
  scan_layers: bool = False  # blocks of a module under nn.scan (parameters stacked: layers.scan_layer_params)
  # Whole-sequence attention: "einsum" (fp32 scores, the reference path), or jax.nn.dot_product_attention with
  # "xla", "cudnn" or "auto" (cuDNN flash attention on GPUs, XLA elsewhere): layers.attend.
  attention_impl: str = "einsum"

  @classmethod
  def from_config(cls, config: Mapping[str, Any]) -> HRMConfig:
    """Builds the config, naming any unknown, wrongly typed or invalid field (`config.model.<field>`)."""
    return config_fields.from_mapping(cls, config, "model")

  def validate(self) -> None:
    def bad(field, why):
      raise ValueError(f"config.model.{field}={getattr(self, field)!r}: {why}")

    if self.hidden_size % self.num_heads:
      bad("num_heads", f"must divide hidden_size={self.hidden_size}")
    if (self.hidden_size // self.num_heads) % 2:
      bad("num_heads", "head_dim must be even for rotary embeddings")
    if self.pos_encodings not in ("rope", "learned"):
      bad("pos_encodings", "expected 'rope' or 'learned'")
    if self.attention not in ATTENTION_MODES:
      bad("attention", f"expected one of {ATTENTION_MODES}")
    if self.q_position not in ("first", "last_prompt"):
      bad("q_position", "expected 'first' or 'last_prompt'")
    if self.q_position == "first" and self.attention != "bidirectional" and self.prefix_len == 0:
      bad("q_position", "'first' needs a prefix token (or bidirectional attention); use 'last_prompt'")
    if self.arch not in ARCHS:
      bad("arch", f"expected one of {ARCHS}")
    if self.reverse_learning and self.arch == "transformer":
      bad("reverse_learning", "needs two states (arch 'hrm' or 'trm'), not the transformer baseline")
    if self.halt_max_steps < 1:
      bad("halt_max_steps", "must be >= 1")
    if self.grad_steps < 0:
      bad("grad_steps", "must be >= 0 (0: the architecture's rule)")
    if self.puzzle_emb_len < 0:
      bad("puzzle_emb_len", "must be >= 0 (0: ceil(puzzle_emb_ndim / hidden_size))")
    if self.puzzle_emb_len > 0 and self.puzzle_emb_len * self.hidden_size < self.puzzle_emb_ndim:
      bad("puzzle_emb_len", f"{self.puzzle_emb_len} tokens of {self.hidden_size} cannot hold puzzle_emb_ndim")
    if self.forward_dtype not in ("float32", "bfloat16", "float16"):
      bad("forward_dtype", "expected float32, bfloat16 or float16")
    if self.remat_policy not in REMAT_POLICIES:
      bad("remat_policy", f"expected one of {REMAT_POLICIES}")
    if self.attention_impl not in ("einsum", "xla", "cudnn", "auto"):
      bad("attention_impl", "expected einsum, xla, cudnn or auto")
    if self.quant != "none":
      from hrm_jax import quant  # the recipe grammar (imports no JAX)

      try:
        group = quant.recipe(self.quant).group_size
      except ValueError:
        bad("quant", f"expected none, {quant.GRAMMAR}")
      # every quantized projection's input is hidden_size wide or the SwiGLU width (layers.swiglu_width:
      # round_up(round(expansion * d * 2/3), 256)); AQT tiles the contraction axis by the group size
      inter = -(-round(self.expansion * self.hidden_size * 2 / 3) // 256) * 256
      if group and (self.hidden_size % group or inter % group):
        bad("quant", f"group size {group} must divide hidden_size={self.hidden_size} and the MLP width {inter}")
    for field in ("H_cycles", "L_cycles", "H_layers", "L_layers", "vocab_size", "seq_len"):
      if field == "H_layers" and self.arch == "trm":
        continue  # unused by TRM (its configs set 0)
      if getattr(self, field) < 1:
        bad(field, "must be >= 1")

  @property
  def puzzle_len(self) -> int:
    """Puzzle prefix tokens: none without puzzle embeddings; else puzzle_emb_len, or ceil(ndim / hidden)."""
    if self.puzzle_emb_ndim <= 0:
      return 0
    return self.puzzle_emb_len if self.puzzle_emb_len > 0 else -(-self.puzzle_emb_ndim // self.hidden_size)

  @property
  def prefix_len(self) -> int:
    return self.puzzle_len + (2 if self.task_conditioning else 0)

  @property
  def total_len(self) -> int:
    return self.prefix_len + self.seq_len

  @property
  def dtype(self):
    import jax.numpy as jnp

    return jnp.dtype(self.forward_dtype)

  @property
  def act_bits(self) -> int:
    """Bits of the activations multiplied by frozen integer weights: the QAT recipe's (int4: 4, w4a8: 8), 8 for
    a float model (dynamic int8 activations when its weights are frozen for serving)."""
    if self.quant == "none":
      return 8
    from hrm_jax import quant

    return quant.recipe(self.quant).act_bits

  @property
  def head_dim(self) -> int:
    return self.hidden_size // self.num_heads

  @property
  def schedule(self) -> tuple[int, ...]:
    """Kinds of the module applications of one segment, in order (L_KIND / H_KIND)."""
    if self.arch == "transformer":
      return (L_KIND,)
    return ((L_KIND,) * self.L_cycles + (H_KIND,)) * self.H_cycles

  @property
  def application_layers(self) -> tuple[int, ...]:
    """Blocks run by each application of `schedule` (its KV caches hold one buffer pair per block)."""
    if self.arch == "transformer":
      return (self.H_layers + self.L_layers,)
    if self.arch == "trm":  # one network (L_level) for both updates
      return (self.L_layers,) * len(self.schedule)
    return tuple(self.L_layers if k == L_KIND else self.H_layers for k in self.schedule)

  @property
  def graded_applications(self) -> int:
    """The last k applications of a segment that carry gradients (`grad_steps`, or the architecture's rule):
    HRM 2 (the last L and the last H: the reference's one-step gradient), TRM L_cycles + 1 (the last H cycle
    with full backpropagation, its earlier H_cycles - 1 cycles without gradient), transformer 1."""
    n = len(self.schedule)
    if self.grad_steps > 0:
      return min(self.grad_steps, n)
    return min({"hrm": 2, "trm": self.L_cycles + 1}.get(self.arch, 1), n)

  @property
  def num_L_applications(self) -> int:
    return sum(k == L_KIND for k in self.schedule)

  @property
  def num_H_applications(self) -> int:
    return sum(k == H_KIND for k in self.schedule)
