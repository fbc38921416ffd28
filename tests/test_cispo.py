"Our CISPO loss and its gradient equal TRL's `loss_type='cispo'` (trl==1.16.0) on the same random tensors."
from types import SimpleNamespace
import pytest, torch
from trl import GRPOConfig, GRPOTrainer
from fst_nb.cispo import cispo_loss

class _Acc:
    "The few accelerate calls `_compute_loss` makes, for one process."
    num_processes, sync_gradients = 1, True
    def gather(self, x): return x
    def gather_for_metrics(self, x): return x
    def reduce(self, x, reduction='sum'): return x

def trl_cispo_loss(logp, old_logp, adv, mask, epsilon_high, beta=0.0, ref_logp=None, tmp_path='/tmp', kl_is=True):
    "Run TRL's own GRPOTrainer._compute_loss on a minimal stand-in for the trainer; logp is what the model 'returns'."
    B, T = logp.shape
    args = GRPOConfig(output_dir=str(tmp_path), loss_type='cispo', epsilon_high=epsilon_high, beta=beta, report_to=[],
                      use_cpu=True, bf16=False, use_bias_correction_kl=kl_is)
    fake = SimpleNamespace(
        args=args, loss_type='cispo', epsilon_high=args.epsilon_high, epsilon_low=args.epsilon, beta=beta,
        importance_sampling_level=args.importance_sampling_level, top_entropy_quantile=args.top_entropy_quantile,
        off_policy_mask_threshold=getattr(args, 'off_policy_mask_threshold', None), use_vllm=False,
        vllm_importance_sampling_correction=False, aux_loss_enabled=False, _entropy_bonus_enabled=False,
        current_gradient_accumulation_steps=1, accelerator=_Acc(), model=SimpleNamespace(training=True),
        _metrics={'train': __import__('collections').defaultdict(list)}, max_completion_length=T,
        _get_per_token_logps_and_entropies=lambda *a, **k: (logp, torch.zeros(B, T), None))
    inputs = {'prompt_ids': torch.zeros(B, 2, dtype=torch.long), 'prompt_mask': torch.ones(B, 2, dtype=torch.long),
              'completion_ids': torch.zeros(B, T, dtype=torch.long), 'completion_mask': mask.long(),
              'advantages': adv, 'old_per_token_logps': old_logp, 'num_items_in_batch': mask.sum()}
    if ref_logp is not None: inputs['ref_per_token_logps'] = ref_logp
    return GRPOTrainer._compute_loss(fake, None, inputs), fake._metrics['train']

def _tensors(seed, B=6, T=9):
    g = torch.Generator().manual_seed(seed)
    logp = -torch.rand(B, T, generator=g, dtype=torch.float64) * 4
    old = logp + torch.randn(B, T, generator=g, dtype=torch.float64) * 1.5   # ratios on both sides of tau
    ref = logp + torch.randn(B, T, generator=g, dtype=torch.float64) * 0.3
    adv = torch.randn(B, generator=g, dtype=torch.float64)
    lens = torch.randint(1, T + 1, (B,), generator=g)
    mask = (torch.arange(T)[None] < lens[:, None]).double()
    return logp, old, ref, adv, mask

@pytest.mark.parametrize('seed', range(5))
@pytest.mark.parametrize('tau,beta,kl_is', [(4.0, 0.0, True), (5.0, 0.0, True), (1.5, 0.0, True), (4.0, 0.001, True),
                                         (4.0, 0.1, True), (4.0, 0.1, False)])
def test_cispo_matches_trl(seed, tau, beta, kl_is, tmp_path):
    logp0, old, ref, adv, mask = _tensors(seed)
    a = logp0.clone().requires_grad_(); b = logp0.clone().requires_grad_()
    ours, m = cispo_loss(a, old, adv, mask, tau=tau, norm='token', ref_logp=ref if beta else None, beta=beta, kl_is=kl_is)
    theirs, tm = trl_cispo_loss(b, old, adv, mask, tau, beta, ref if beta else None, tmp_path, kl_is)
    ours.backward(); theirs.backward()
    assert ((b.detach() - old).exp() > tau)[mask.bool()].any(), 'the cap should bind somewhere'
    assert abs(ours.item() - theirs.item()) < 1e-6
    assert torch.allclose(a.grad, b.grad, atol=1e-6, rtol=0)
    assert a.grad.abs().max() > 0
    if beta and not kl_is: assert abs(m['kl_ref_k3'] - tm['kl'][-1]) < 1e-6

def test_trl_default_cap_is_the_trap(tmp_path):
    "Documents why we always pass tau: TRL's epsilon_high defaults to 0.2 for cispo when unset."
    import inspect
    cfg = GRPOConfig(output_dir=str(tmp_path), loss_type='cispo', report_to=[], use_cpu=True, bf16=False)
    assert cfg.epsilon_high is None and cfg.epsilon == 0.2          # TRL then caps rho at epsilon = 0.2
    assert inspect.signature(cispo_loss).parameters['tau'].default == 4.0
