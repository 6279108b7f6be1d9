"""Models: the HRM (hrm.py), its layers (layers.py), its hyper-parameters (config.py, no JAX) and the
parameter-matched Transformer baseline.

The baseline is `HRMConfig(arch="transformer")`: the same embeddings, prefix tokens, heads, attention modes and
ACT wrapper, with one pre-norm stack of H_layers + L_layers blocks applied once per segment.

The names below are loaded from `hrm.py` on first use, so `hrm_jax.models.config` imports without JAX.
"""

_FROM_HRM = (
  "ACTCarry",
  "ACTOutputs",
  "HRMCore",
  "act_evaluate",
  "act_loop",
  "act_step",
  "attention_context",
  "count_params",
  "dummy_batch",
  "forward_segment",
  "init_params",
  "initial_carry",
  "segment",
)


def __getattr__(name):
  if name == "HRMConfig":
    from hrm_jax.models.config import HRMConfig

    return HRMConfig
  if name in _FROM_HRM:
    from hrm_jax.models import hrm

    return getattr(hrm, name)
  raise AttributeError(f"module 'hrm_jax.models' has no attribute {name!r}")


__all__ = ["HRMConfig", *_FROM_HRM]
