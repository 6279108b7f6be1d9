"""Models: the HRM (hrm.py), its layers (layers.py) and the parameter-matched Transformer baseline.

The baseline is `HRMConfig(arch="transformer")`: the same embeddings, prefix tokens, heads, attention modes and
ACT wrapper, with one pre-norm stack of H_layers + L_layers blocks applied once per segment.
"""
from hrm_jax.models.hrm import (ACTCarry, ACTOutputs, HRMConfig, HRMCore, act_evaluate, act_loop, act_step,
                                attention_context, count_params, dummy_batch, forward_segment, init_params,
                                initial_carry, segment)
