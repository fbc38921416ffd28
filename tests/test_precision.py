"""A run's precision and gradient checkpointing reach the trainer: full fine-tuning in bf16 keeps float32 weights under bf16
autocast (a 1e-5 step moves them; on bf16 weights it would vanish), LoRA keeps its base dtype, `grad_ckpt` switches."""
import torch
from fst_nb.fst import FSTConfig, FSTRun

SMALL = dict(cycles=1, rl_steps=1, problems=2, G=4, pool_k=1, max_new_tokens=8, eval_problems=2, mode='rl', verbose=False,
             decompose=False)

def _trainer(tmp_path, name, **kw): return FSTRun.create(FSTConfig(**SMALL, **kw), root=tmp_path, name=name).trainer

def test_full_finetune_in_bf16_keeps_fp32_masters(tmp_path):
    tr = _trainer(tmp_path, 'ft', dtype='bfloat16', lora_r=0)
    assert tr.policy.dtype == torch.float32 and tr.amp and tr.cfg.bf16
    assert all(p.dtype == torch.float32 for p in tr.params)
    w = tr.params[0]
    step = torch.full_like(w, 1e-5)
    assert ((w - step) != w).float().mean() > 0.99                               # float32: every entry moves
    assert ((w.bfloat16() - step.bfloat16()) != w.bfloat16()).float().mean() < 0.5   # bf16: most round back

def test_lora_keeps_its_base_dtype_and_cpu_default_is_unchanged(tmp_path):
    lo = _trainer(tmp_path, 'lora', dtype='bfloat16', lora_r=4)
    assert not lo.amp and lo.model.get_base_model().model.layers[0].mlp.up_proj.base_layer.weight.dtype == torch.bfloat16
    if not torch.cuda.is_available():
        d = _trainer(tmp_path, 'cpu')
        assert (d.policy.dtype, d.amp, d.grad_ckpt) == (torch.float32, False, False)   # CPU 'auto': as before

def test_grad_ckpt_field_reaches_the_model(tmp_path):
    on = _trainer(tmp_path, 'ckpt', grad_ckpt='on', lora_r=4)
    assert on.grad_ckpt and on.model.is_gradient_checkpointing
    off = _trainer(tmp_path, 'nockpt', grad_ckpt='off')
    assert not off.grad_ckpt and not off.model.is_gradient_checkpointing
