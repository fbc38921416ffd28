"""The CISPO step in fp32 and under bf16 autocast, side by side in one process: CPU seconds per step and per update
(forward + CISPO loss + backward on one step's rollouts), achieved matmul FLOP/s against this machine's matmul peak, and
what bf16 does to the numbers TRL-equivalence rests on.

Same tiny model (fresh copies of the same weights), same task and settings as bench/cispo_vs_trl.py (2 prompts x 8
completions, 64 new tokens, token-mean loss, beta 0). Times are CPU seconds of this process (`time.process_time`), not
wall: with OMP_NUM_THREADS=1 they equal wall time on a quiet machine and stay honest on a shared one.
- step: `train_step` (sampling with the HF backend, which decodes in fp32 either way, then the update); rounds alternate
  fp32 and bf16 trainers, the first step of each block is a warm-up.
- update: forward + `cispo_loss` + backward of the same batch (one step's rollouts, sampled once in fp32), repeated.
- FLOPs: matmul FLOPs of the update counted from the model's shape and the batch's padded lengths as `completion_logits`
  runs it (each distinct prompt once, the completions against its keys; q/k/v/o and MLP projections, attention scores
  and values, the LM head on the T+1 kept positions; backward = 2x forward).
  Peak: a 2048x2048 torch.matmul in fp32 and in bf16 on the same threads.
- tolerance: on the same batch, |logp_bf16 - logp_fp32|, rho = exp(logp - behaviour logp) on these on-policy samples
  (the sampler decoded in fp32), our loss vs TRL's `GRPOTrainer._compute_loss` fed the same bf16 log-probs (the
  equivalence tests/test_cispo.py checks at 1e-6), and the cosine between the fp32 and bf16 parameter gradients.
Usage: OMP_NUM_THREADS=1 python bench/cispo_precision.py [--model tiny] [--rounds 3] [--steps 4] [--reps 5]

After the update runs each distinct prompt once (2026-12-03, quieter machine, defaults, 44 s): peak fp32 84 / bf16 199
GFLOP/s; update 15.97 GFLOP fp32 0.274 s = 58 GFLOP/s (70% of peak), bf16 0.231 s = 69 GFLOP/s (35%), 0.84x; step fp32
0.894 vs bf16 0.728 s, 0.82x; max |rho - 1| 9.0e-3 in bf16, loss vs TRL 0 in both, gradient cosine 0.99994.
Before (one pass over every row's prompt), 2026-12-03 (2-core machine, avx512_bf16, no AMX, shared with 7 other jobs), defaults, 1 thread, 2 min: matmul
peak fp32 75 / bf16 187 GFLOP/s (2.47x); update of a [16, 103] batch (22.33 GFLOP) fp32 0.485 s = 46 GFLOP/s (61% of
the fp32 peak), bf16 0.361 s = 62 GFLOP/s (33% of the bf16 peak), 0.74x; step fp32 1.035 vs bf16 0.877 s, 0.85x. Loss
vs TRL: 0 in both; max |rho - 1| on on-policy samples 9.5e-7 (fp32) vs 8.0e-3 (bf16); max |logp diff| 8.1e-3; gradient
cosine 0.99994, relative difference 1.1%. An earlier run the same day: update 0.81x, step 0.83x.
`--model small --rounds 1 --steps 3 --reps 3` (19M, 2 min): update of 199.43 GFLOP fp32 3.329 s = 60 GFLOP/s (79% of
peak), bf16 2.005 s = 100 GFLOP/s (53%), 0.60x; step 6.53 vs 4.92 s, 0.75x; max |rho - 1| 1.3e-2 in bf16.
"""
import argparse, importlib.util, os, statistics, sys, time, warnings
os.environ.setdefault('OMP_NUM_THREADS', '1')
from pathlib import Path
import torch
THREADS = int(os.environ['OMP_NUM_THREADS'])
torch.set_num_threads(THREADS)
warnings.filterwarnings('ignore')
sys.path.insert(0, str(Path(__file__).parent))
from cispo_vs_trl import Even, cpu_flags
from fst_nb.models import load_policy
from fst_nb.cispo import CISPOTrainer, TrainConfig, group_advantages, informative, cispo_loss, completion_logits, _shares_prompts
from fst_nb.rollout import rollout_groups, token_logp_entropy

def peak(dtype, n=2048, reps=6) -> float:
    "Matmul FLOP/s of an n x n torch.matmul in `dtype` (CPU seconds)."
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    t = time.process_time()
    for _ in range(reps): a @ b
    return 2 * n ** 3 * reps / (time.process_time() - t)

def trainer(model, bf16, seed=0, steps=100):
    cfg = TrainConfig(steps=steps, problems=2, G=8, lr=1e-5, warmup_steps=0, max_new_tokens=64, beta=0.0, eval_every=0,
                      seed=seed, norm='token', bf16=bf16)
    return CISPOTrainer(load_policy(model), Even(), cfg, verbose=False)

def update_flops(model, b) -> int:
    "Matmul FLOPs of forward + backward on batch `b` as `completion_logits` runs it (shared prompts once), LM head on T+1."
    c = model.config
    B, L = b.ids.shape
    T = b.comp.shape[1]
    P = L - T
    U = len(torch.unique(b.ids[:, :P], dim=0)) if _shares_prompts(model, b) else B   # prompt rows that go through the model
    H, I, V, nh, nkv = c.hidden_size, c.intermediate_size, c.vocab_size, c.num_attention_heads, c.num_key_value_heads
    hd = getattr(c, 'head_dim', None) or H // nh
    proj = H * nh * hd + 2 * H * nkv * hd + nh * hd * H + 3 * H * I                  # weights per layer
    if U == B: tok, att = B * L, B * L * L                                            # one pass
    else: tok, att = U * P + B * T, U * P * P + B * T * L                             # prompts once, completions on P+T keys
    fwd = c.num_hidden_layers * (2 * tok * proj + 2 * 2 * nh * att * hd) + 2 * B * (T + 1) * H * V
    return 3 * fwd

def one_batch(tr):
    "One step's rollouts as a Batch (the step's informative groups), sampled by the fp32 HF backend."
    exs = tr.train_examples[:tr.cfg.problems]
    groups = rollout_groups(tr.backend, tr.task, exs, [], tr.cfg.G, tr.cfg.sampling(1234))
    rewards = torch.tensor([g.rewards for g in groups])
    adv, kept = group_advantages(rewards, tr.cfg.adv_eps), informative(rewards).nonzero()[:, 0].tolist()
    (b, w), = list(tr.batches(groups, adv, kept or [0]))
    return b, w

def logp_of(tr, b):
    with tr.autocast(): logits = completion_logits(tr.model, b)                           # [B, T, V]
    return token_logp_entropy(logits, b.comp, tr.cfg.temperature, tr.cfg.top_p, tr.cfg.logp_chunk)[0]   # [B, T]

def time_update(tr, b, w, reps) -> float:
    ts = []
    for _ in range(reps + 1):
        t = time.process_time(); tr.micro_loss(b, w); ts.append(time.process_time() - t)
        tr.opt.zero_grad(set_to_none=True)
    return statistics.median(ts[1:])

def trl_loss(logp, b):
    "TRL's loss on the same tensors, through tests/test_cispo.py's stand-in (None if TRL or the tests are not there)."
    try:
        spec = importlib.util.spec_from_file_location('tc', Path(__file__).parent.parent/'tests'/'test_cispo.py')
        tc = importlib.util.module_from_spec(spec); spec.loader.exec_module(tc)
    except Exception: return None
    return tc.trl_cispo_loss(logp, b.old_logp, b.adv, b.mask.float(), 4.0)[0]

def tolerance(m32, m16, b, w):
    "What bf16 autocast changes on one batch: log-probs, rho on on-policy samples, loss vs TRL, the gradient's direction."
    mk = b.mask.bool()
    out, grads = {}, {}
    for name, tr in (('fp32', m32), ('bf16', m16)):
        lp = logp_of(tr, b)
        loss, _ = cispo_loss(lp, b.old_logp, b.adv, b.mask, tau=tr.cfg.tau, norm='token')
        theirs = trl_loss(lp.detach().clone().requires_grad_(), b)
        loss.backward()
        grads[name] = torch.cat([p.grad.flatten() for p in tr.params]); tr.opt.zero_grad(set_to_none=True)
        rho = (lp.detach() - b.old_logp)[mk].exp()
        out[name] = dict(lp=lp.detach(), dtype=str(lp.dtype).replace('torch.', ''), rho_max_dev=(rho - 1).abs().max().item(),
                         clip=(rho > tr.cfg.tau).float().mean().item(),
                         trl_diff=None if theirs is None else abs(loss.item() - theirs.item()))
    out['logp_max_diff'] = (out['fp32']['lp'] - out['bf16']['lp'])[mk].abs().max().item()
    g32, g16 = grads['fp32'], grads['bf16']
    out["grad_cos"] = torch.nn.functional.cosine_similarity(g32.double(), g16.double(), dim=0).item()
    out['grad_rel'] = ((g16 - g32).norm() / g32.norm()).item()
    return out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='tiny'); ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--steps', type=int, default=4); ap.add_argument('--reps', type=int, default=5)
    a = ap.parse_args()
    print(f"CPU flags: {cpu_flags()}; {THREADS} thread(s); model {a.model}; CPU seconds", flush=True)
    p32, p16 = peak(torch.float32), peak(torch.bfloat16)
    print(f"matmul peak (2048^2): fp32 {p32 / 1e9:.0f} GFLOP/s | bf16 {p16 / 1e9:.0f} GFLOP/s ({p16 / p32:.2f}x)", flush=True)
    m32, m16 = trainer(a.model, False), trainer(a.model, True)
    b, w = one_batch(m32)
    fl = update_flops(m32.model, b)
    u32, u16 = time_update(m32, b, w, a.reps), time_update(m16, b, w, a.reps)
    print(f"update (fwd+loss+bwd, batch {tuple(b.ids.shape)}, {fl / 1e9:.2f} GFLOP): fp32 {u32:.3f} s = "
          f"{fl / u32 / 1e9:.1f} GFLOP/s ({fl / u32 / p32:.0%} of fp32 peak) | bf16 {u16:.3f} s = {fl / u16 / 1e9:.1f} GFLOP/s "
          f"({fl / u16 / p16:.0%} of bf16 peak) | bf16/fp32 = {u16 / u32:.2f}", flush=True)
    tol = tolerance(m32, m16, b, w)
    for k in ('fp32', 'bf16'):
        t = tol[k]
        trl = 'n/a' if t['trl_diff'] is None else f"{t['trl_diff']:.1e}"
        print(f"  {k}: logp dtype {t['dtype']}, max |rho - 1| on on-policy samples {t['rho_max_dev']:.2e}, clip frac "
              f"{t['clip']:.3f}, |ours - TRL| loss {trl}")
    print(f"  max |logp_bf16 - logp_fp32| {tol['logp_max_diff']:.3e}; gradient cosine {tol['grad_cos']:.5f}, "
          f"relative difference {tol['grad_rel']:.3f}", flush=True)
    s32, s16 = [], []
    for r in range(a.rounds):
        for tr, acc in ((trainer(a.model, False, r), s32), (trainer(a.model, True, r), s16)):
            ts = []
            for _ in range(a.steps):
                t = time.process_time(); tr.train_step(); ts.append(time.process_time() - t)
            acc += ts[1:]
        print(f"round {r}: step fp32 {statistics.median(s32[-(a.steps - 1):]):.3f} s | bf16 "
              f"{statistics.median(s16[-(a.steps - 1):]):.3f} s", flush=True)
    m32s, m16s = statistics.median(s32), statistics.median(s16)
    print(f"step (sampling + update), median of {len(s32)}: fp32 {m32s:.3f} s | bf16 autocast {m16s:.3f} s | "
          f"bf16/fp32 = {m16s / m32s:.2f}; update alone {u16 / u32:.2f}")

if __name__ == '__main__':
    main()
