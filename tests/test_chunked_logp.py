"Chunked log-probs (`token_logp_entropy`, `sampling_logprobs`, `score_logprobs`, `micro_batch`) equal the whole-tensor ones."
import pytest, torch
from torch.utils._python_dispatch import TorchDispatchMode
from fst_nb.rollout import sampling_log_softmax, sampling_logprobs, token_logp_entropy, _chunks
from fst_nb.cispo import cispo_loss, kl_estimates

def _whole(x, tk, T=1.0, p=1.0):
    "The unchunked reference: one log-softmax over all of [B, T, V]."
    lsm = sampling_log_softmax(x, T, p, keep=tk)
    return lsm.gather(-1, tk[..., None])[..., 0], -(lsm.exp() * lsm.clamp(min=-1e30)).sum(-1)

def _data(seed=0, B=3, T=7, V=13):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, V, generator=g) * 3
    tk = torch.randint(0, V, (B, T), generator=g)
    old = torch.randn(B, T, generator=g) * 0.5 - 2.5
    mask = (torch.arange(T)[None] < torch.tensor([T, 4, 1])[:, None]).float()
    return x, tk, old, mask

CHUNKS = [13, 5 * 13, 8 * 13, 3 * 7 * 13, 10**6]   # 1 position, 5 of 7 (uneven), 1 row, all rows, more than all

@pytest.mark.parametrize('chunk', CHUNKS)
@pytest.mark.parametrize('T,p', [(1.0, 1.0), (0.7, 1.0), (1.3, 0.8)])
def test_logp_entropy_and_gradient_equal_whole(chunk, T, p):
    x, tk, _, _ = _data()
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    lp, ent = token_logp_entropy(x1, tk, T, p, chunk)
    ref_lp, ref_ent = _whole(x2, tk, T, p)
    torch.testing.assert_close(lp, ref_lp); torch.testing.assert_close(ent, ref_ent.detach())
    assert not ent.requires_grad                                            # the entropy is a metric
    w = torch.randn(lp.shape, generator=torch.Generator().manual_seed(1))
    (lp * w).sum().backward(); (ref_lp * w).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)

@pytest.mark.parametrize('chunk', [13, 4 * 13, 10**6])
def test_top_p_sampling_logprobs_one_definition(chunk):
    "Top-p renormalisation: sampling_logprobs (chunked) = gather of sampling_log_softmax, also for [B, V] and [T, V] shapes."
    x, tk, _, _ = _data(2)
    torch.testing.assert_close(sampling_logprobs(x, tk, 0.9, 0.6, chunk), _whole(x, tk, 0.9, 0.6)[0])
    torch.testing.assert_close(sampling_logprobs(x[:, 0], tk[:, 0], 0.9, 0.6, chunk), _whole(x[:, 0], tk[:, 0], 0.9, 0.6)[0])
    torch.testing.assert_close(sampling_logprobs(x[0], tk[0], 0.9, 0.6, chunk), _whole(x[0], tk[0], 0.9, 0.6)[0])
    assert torch.isfinite(sampling_logprobs(x, x.argmin(-1), 1.0, 0.3, chunk)).all()   # the scored token stays in the nucleus

@pytest.mark.parametrize('norm', ['group', 'token', 'sequence'])
@pytest.mark.parametrize('chunk', [13, 5 * 13, 10**6])
def test_rho_cispo_loss_gradient_and_kl_equal_whole(norm, chunk):
    x, tk, old, mask = _data(3)
    base = x + torch.randn(x.shape, generator=torch.Generator().manual_seed(4)) * 0.3
    adv, group = torch.tensor([1.0, -0.5, 0.2]), torch.tensor([0, 0, 1])
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    lp, _ = token_logp_entropy(x1, tk, 1.0, 0.9, chunk); ref_lp, _ = _whole(x2, tk, 1.0, 0.9)
    torch.testing.assert_close((lp - old).exp(), (ref_lp - old).exp())           # ρ
    with torch.no_grad(): b1, b2 = token_logp_entropy(base, tk, chunk=chunk)[0], _whole(base, tk)[0]
    l1, m1 = cispo_loss(lp, old, adv, mask, group, 1.5, norm, b1, 0.1)
    l2, m2 = cispo_loss(ref_lp, old, adv, mask, group, 1.5, norm, b2, 0.1)
    torch.testing.assert_close(l1, l2); assert m1.keys() == m2.keys()
    for k in m1: assert m1[k] == pytest.approx(m2[k], rel=1e-5, abs=1e-6), k
    l1.backward(); l2.backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    k1, k2 = kl_estimates(lp.detach(), b1, mask), kl_estimates(ref_lp.detach(), b2, mask)
    for k in k1: assert k1[k] == pytest.approx(k2[k], rel=1e-5, abs=1e-6), k

class _Biggest(TorchDispatchMode):
    "Records the largest float32 tensor any aten op returns."
    def __init__(self): super().__init__(); self.max = 0
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in (out if isinstance(out, (tuple, list)) else [out]):
            if isinstance(t, torch.Tensor) and t.dtype == torch.float32: self.max = max(self.max, t.numel())
        return out

@pytest.mark.parametrize('p', [1.0, 0.9])
def test_chunked_path_never_makes_a_full_float32_tensor(p):
    "bf16 logits [4, 50, 1000]: forward and backward make no float32 tensor larger than one chunk (3 positions)."
    B, T, V, chunk = 4, 50, 1000, 3000
    g = torch.Generator().manual_seed(0)
    x = torch.randn(B, T, V, generator=g).bfloat16().requires_grad_()
    tk = torch.randint(0, V, (B, T), generator=g)
    with _Biggest() as m:
        lp, ent = token_logp_entropy(x, tk, 0.8, p, chunk)
        lp.sum().backward()
    assert m.max <= chunk, m.max
    assert x.grad.dtype == torch.bfloat16 and x.grad.shape == x.shape
    with _Biggest() as whole: _whole(x.detach(), tk, 0.8, p)                     # the detector does see the old way
    assert whole.max >= B * T * V

def test_chunks_cover_every_position_once():
    for B, T, V, ch in [(3, 7, 13, 13), (3, 7, 13, 5 * 13), (3, 7, 13, 8 * 13), (5, 2, 10, 35), (2, 9, 4, 1)]:
        seen = torch.zeros(B, T, dtype=torch.long)
        for ix in _chunks(B, T, V, ch):
            seen[ix] += 1
            assert seen[ix].numel() * V <= max(ch, V)
        assert (seen == 1).all()
    assert _chunks(0, 5, 3, 10) == [] and _chunks(2, 0, 3, 10) == []

@pytest.fixture(scope='module')
def tiny():
    from fst_nb.models import load_policy
    return load_policy('tiny')

def test_score_logprobs_micro_batches_equal_one_pass(tiny):
    from fst_nb.cispo import make_batch, score_logprobs, completion_logits
    from fst_nb.rollout import make_backend, Sampling
    convs = [[{'role': 'user', 'content': 'Find a path from 3 to 7.'}], [{'role': 'user', 'content': 'Hi'}]]
    ro = make_backend('hf', tiny).generate(convs, 3, Sampling(0.8, 0.9, 9, seed=0))
    b = make_batch(ro.prompt_ids, ro.completion_ids, ro.logprobs, [0.0] * len(ro), ro.prompt_index, tiny.tokenizer.pad_token_id)
    with torch.no_grad(): whole = _whole(completion_logits(tiny.model, b), b.comp, 0.8, 0.9)[0]
    mk = b.mask.bool()
    for rows in (1, 4, 6, 100):
        torch.testing.assert_close(score_logprobs(tiny.model, b, 0.8, 0.9, rows, chunk=700)[mk], whole[mk], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(whole[mk], b.old_logp[mk], atol=1e-4, rtol=0)   # ρ = 1 on policy

@pytest.mark.parametrize('norm', ['group', 'token', 'sequence'])
def test_micro_batch_smaller_than_a_group_gives_the_one_batch_gradient(tiny, norm):
    from fst_nb.cispo import CISPOTrainer, TrainConfig, group_advantages
    from fst_nb.rollout import rollout_groups, Sampling
    from fst_nb.tasks import get_task
    grads = []
    for mb in (0, 3, 5):
        t = CISPOTrainer(tiny, get_task('star_graph'), TrainConfig(problems=2, G=4, max_new_tokens=8, norm=norm,
                         micro_batch=mb, eval_every=0, beta=0.1, logp_chunk=500), verbose=False)
        gs = rollout_groups(t.backend, t.task, t.train_examples[:2], [], 4, Sampling(max_new_tokens=8, seed=3))
        gs[0].rewards[:2] = [1.0, 0.0]; gs[1].rewards[:3] = [1.0, 0.0, 1.0]
        adv = group_advantages(torch.tensor([g.rewards for g in gs]))
        parts = list(t.batches(gs, adv, [0, 1]))
        assert len(parts) == (1 if mb == 0 else -(-8 // mb))
        for b, w in parts: t.micro_loss(b, w)
        grads.append(torch.cat([p.grad.flatten() for p in t.params])); t.opt.zero_grad()
    torch.testing.assert_close(grads[1], grads[0], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(grads[2], grads[0], atol=1e-6, rtol=1e-5)
