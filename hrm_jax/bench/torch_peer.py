"""A PyTorch HRM written here from the reference's specification, run eagerly: the train-step benchmark's peer.

The reference (sapientinc/HRM, commit 42410da) needs CUDA (flash-attn, the adam-atan2 kernel) and
`torch.compile`; this module is its architecture and training call as /work/shared/reference/hrm-spec.md
describes them (sections 1.4-1.8 model, 2.2 ACT call, 3 loss), in plain PyTorch on the CPU:
post-norm blocks with weightless RMSNorm, fused QKV with rotate-half RoPE, SwiGLU with a fused gate/up
projection, input injection (z_L <- f_L(z_L, z_H + x), z_H <- f_H(z_H, z_L)), the no-gradient prefix and the
1-step gradient, the Q head at position 0, the bootstrapped continue target from one more no-gradient segment,
and stablemax cross-entropy in float64 + 0.5 (BCE halt + BCE continue). Attention is
`torch.nn.functional.scaled_dot_product_attention` (the CPU stand-in for flash-attn). The optimizer is torch's
AdamW (the reference's Adam-atan2 is a CUDA kernel; both are one elementwise pass over the parameters).

Weights come from a state_dict with the reference's key names (`hrm_jax.models.torch_import.reference_state_dict`
makes one from our parameters), so the benchmark checks one segment's logits against ours before timing.
Only the native mode (bidirectional, puzzle prefix) is modelled: that is the mode the reference has.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _rms(x: torch.Tensor, eps: float) -> torch.Tensor:
  xf = x.float()
  return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
  a, b = x.chunk(2, dim=-1)
  return torch.cat((-b, a), dim=-1)


class Block(nn.Module):
  def __init__(self, cfg):
    super().__init__()
    d, inter = cfg.hidden_size, _swiglu_width(cfg)
    self.cfg = cfg
    self.self_attn = nn.Module()
    self.self_attn.qkv_proj = nn.Linear(d, 3 * d, bias=False)
    self.self_attn.o_proj = nn.Linear(d, d, bias=False)
    self.mlp = nn.Module()
    self.mlp.gate_up_proj = nn.Linear(d, 2 * inter, bias=False)
    self.mlp.down_proj = nn.Linear(inter, d, bias=False)

  def forward(self, h: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    b, t, d = h.shape
    heads = self.cfg.num_heads
    qkv = self.self_attn.qkv_proj(h).view(b, t, 3, heads, d // heads)
    q, k, v = qkv.unbind(2)  # [b, t, heads, head_dim] each
    q = (q.float() * cos + _rotate_half(q.float()) * sin).to(h.dtype)
    k = (k.float() * cos + _rotate_half(k.float()) * sin).to(h.dtype)
    attn = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    h = _rms(h + self.self_attn.o_proj(attn.transpose(1, 2).reshape(b, t, d)), self.cfg.rms_norm_eps)
    gate, up = self.mlp.gate_up_proj(h).chunk(2, dim=-1)
    return _rms(h + self.mlp.down_proj(F.silu(gate) * up), self.cfg.rms_norm_eps)


class Level(nn.Module):
  def __init__(self, cfg, num_layers: int):
    super().__init__()
    self.layers = nn.ModuleList([Block(cfg) for _ in range(num_layers)])

  def forward(self, z, injection, cos, sin):
    z = z + injection
    for layer in self.layers:
      z = layer(z, cos, sin)
    return z


def _swiglu_width(cfg) -> int:
  return 256 * math.ceil(round(cfg.expansion * cfg.hidden_size * 2 / 3) / 256)


class Inner(nn.Module):
  """The reference's `model.inner`: embeddings, the H and L stacks, the heads, H_init/L_init buffers."""

  def __init__(self, cfg):
    super().__init__()
    if cfg.attention != "bidirectional" or cfg.pos_encodings != "rope" or cfg.task_conditioning:
      raise ValueError("the PyTorch peer models the reference's native mode: bidirectional attention, RoPE")
    d = cfg.hidden_size
    self.cfg = cfg
    self.embed_tokens = nn.Module()
    self.embed_tokens.embedding_weight = nn.Parameter(torch.zeros(cfg.vocab_size, d))
    self.lm_head = nn.Linear(d, cfg.vocab_size, bias=False)
    self.q_head = nn.Linear(d, 2, bias=True)
    self.puzzle_emb = nn.Module()
    self.puzzle_emb.register_buffer("weights", torch.zeros(cfg.num_puzzle_identifiers, cfg.puzzle_emb_ndim))
    self.H_level = Level(cfg, cfg.H_layers)
    self.L_level = Level(cfg, cfg.L_layers)
    self.register_buffer("H_init", torch.zeros(d))
    self.register_buffer("L_init", torch.zeros(d))
    head_dim = d // cfg.num_heads
    inv_freq = 1.0 / cfg.rope_theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    freqs = torch.outer(torch.arange(cfg.total_len, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)[None, :, None, :]  # [1, T, 1, head_dim]
    self.register_buffer("cos", emb.cos(), persistent=False)
    self.register_buffer("sin", emb.sin(), persistent=False)

  def embed(self, inputs: torch.Tensor, puzzle_identifiers: torch.Tensor) -> torch.Tensor:
    cfg = self.cfg
    x = self.embed_tokens.embedding_weight[inputs]
    if cfg.puzzle_len:
      p = self.puzzle_emb.weights[puzzle_identifiers]
      p = F.pad(p, (0, cfg.puzzle_len * cfg.hidden_size - p.shape[-1]))
      x = torch.cat((p.view(-1, cfg.puzzle_len, cfg.hidden_size), x), dim=1)
    return math.sqrt(cfg.hidden_size) * x

  def segment(self, z_H, z_L, x):
    """One segment (hrm-spec 1.7): the no-gradient prefix, then the last L and H applications with gradient."""
    cfg, cos, sin = self.cfg, self.cos, self.sin
    with torch.no_grad():
      for i in range(cfg.H_cycles):
        for j in range(cfg.L_cycles):
          if not (i == cfg.H_cycles - 1 and j == cfg.L_cycles - 1):
            z_L = self.L_level(z_L, z_H + x, cos, sin)
        if i != cfg.H_cycles - 1:
          z_H = self.H_level(z_H, z_L, cos, sin)
    z_L = self.L_level(z_L, z_H + x, cos, sin)
    z_H = self.H_level(z_H, z_L, cos, sin)
    logits = self.lm_head(z_H)[:, cfg.puzzle_len :]
    q = self.q_head(z_H[:, 0]).float()
    return z_H, z_L, logits, q[:, 0], q[:, 1]


def build(cfg, state_dict: dict[str, np.ndarray]) -> Inner:
  """The peer with the weights of a reference-named state_dict (keys `model.inner.*`, `_orig_mod.` allowed)."""
  inner = Inner(cfg)
  own = {}
  for key, value in state_dict.items():
    key = key.removeprefix("_orig_mod.").removeprefix("model.inner.")
    own[key] = torch.from_numpy(np.array(value, np.float32))  # a writable copy
  missing, unexpected = inner.load_state_dict(own, strict=False)
  if unexpected or [m for m in missing if m not in ("cos", "sin")]:
    raise KeyError(f"state_dict does not match the config: missing {missing}, unexpected {unexpected}")
  return inner


def _log_stablemax(x: torch.Tensor) -> torch.Tensor:
  s = torch.where(x < 0, 1 / (1 - x + 1e-30), x + 1)
  return torch.log(s / s.sum(-1, keepdim=True))


class Trainer:
  """The reference's training call: one ACT step (hrm-spec 2.2) + loss (3) + backward + optimizer update."""

  def __init__(self, inner: Inner, batch_size: int, learning_rate: float = 1e-4, seed: int = 0):
    cfg = inner.cfg
    self.inner, self.cfg = inner, cfg
    self.optimizer = torch.optim.AdamW(inner.parameters(), lr=learning_rate, betas=(0.9, 0.95), weight_decay=0.1)
    t = cfg.total_len
    self.z_H = torch.zeros(batch_size, t, cfg.hidden_size)
    self.z_L = torch.zeros(batch_size, t, cfg.hidden_size)
    self.steps = torch.zeros(batch_size, dtype=torch.int32)
    self.halted = torch.ones(batch_size, dtype=torch.bool)
    self.data: dict[str, torch.Tensor] | None = None
    self.generator = torch.Generator().manual_seed(seed)

  def step(self, batch: dict[str, np.ndarray]) -> float:
    cfg, inner = self.cfg, self.inner
    new = {k: torch.from_numpy(np.asarray(batch[k])) for k in ("inputs", "labels", "puzzle_identifiers")}
    halted = self.halted
    if self.data is None:
      self.data = new
    self.data = {k: torch.where(halted.view(-1, *[1] * (v.ndim - 1)), new[k], v) for k, v in self.data.items()}
    z_H = torch.where(halted[:, None, None], inner.H_init, self.z_H)
    z_L = torch.where(halted[:, None, None], inner.L_init, self.z_L)
    steps = torch.where(halted, 0, self.steps)
    x = inner.embed(self.data["inputs"], self.data["puzzle_identifiers"])
    z_H, z_L, logits, q_halt, q_cont = inner.segment(z_H, z_L, x)
    steps = steps + 1
    is_last = steps >= cfg.halt_max_steps
    halted = is_last | (q_halt > q_cont)
    explore = torch.rand(steps.shape, generator=self.generator) < cfg.halt_exploration_prob
    min_steps = explore * torch.randint(2, cfg.halt_max_steps + 1, steps.shape, generator=self.generator)
    halted = halted & (steps >= min_steps)
    with torch.no_grad():
      _, _, _, next_halt, next_cont = inner.segment(z_H.detach(), z_L.detach(), x.detach())
      target = torch.sigmoid(torch.where(is_last, next_halt, torch.maximum(next_halt, next_cont)))

    labels = self.data["labels"]
    valid = labels != -100
    logp = _log_stablemax(logits.double())
    nll = -torch.gather(logp, -1, torch.where(valid, labels, 0).long()[..., None])[..., 0]
    nll = torch.where(valid, nll, 0.0)
    count = valid.sum(-1).clamp(min=1)
    lm_loss = (nll.sum(-1) / count).sum()
    correct = valid & (logits.argmax(-1) == labels)
    seq_correct = correct.sum(-1) == valid.sum(-1)
    q_halt_loss = F.binary_cross_entropy_with_logits(q_halt, seq_correct.float(), reduction="sum")
    q_cont_loss = F.binary_cross_entropy_with_logits(q_cont, target, reduction="sum")
    loss = lm_loss + 0.5 * (q_halt_loss + q_cont_loss)
    self.optimizer.zero_grad(set_to_none=True)
    (loss / labels.shape[0]).backward()
    self.optimizer.step()
    self.z_H, self.z_L, self.steps, self.halted = z_H.detach(), z_L.detach(), steps, halted
    return loss.item()
