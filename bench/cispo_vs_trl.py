"""Wall time per optimizer step: our CISPO trainer vs TRL's GRPOTrainer(loss_type='cispo', epsilon_high=4.0).

Same tiny model (fresh copies of the same weights), same prompts, 2 prompts x 8 completions, 64 new tokens, fp32,
OMP_NUM_THREADS threads (default 2), same reward (even character count, so groups are informative), beta 0, no gradient
checkpointing. Runs alternate in this one process: ROUNDS times (STEPS of ours, then STEPS of TRL); the first step of
each block is a warm-up and not counted. Prints the median CPU seconds (`time.process_time`) and wall seconds per step
of each and the ratios ours / TRL (target <= 0.6, on CPU seconds: on a shared machine wall time measures the neighbours).
On trl < 1.16 without CUDA, TRL's fused LM head gets a plain-torch log-prob tile (`TorchLogProb`, why: see there).
Usage: OMP_NUM_THREADS=1 python bench/cispo_vs_trl.py [--model tiny] [--rounds 3] [--steps 4]

Measured 2026-12-03 (trl 1.15.0, torch 2.13.0+cpu, 2-core machine with avx512_bf16 shared with other jobs),
`OMP_NUM_THREADS=1`, defaults, medians over 9 timed steps each:
- after (shared prompts in the HF backend's prefill and in the update): rounds ours/TRL 0.964/1.088, 0.982/1.115,
  0.894/1.082 CPU s/step; 0.961 vs 1.088, ratio 0.88 (wall 0.87). Target <= 0.6 missed.
- before (the library of main that day, this bench): 0.978 vs 0.913, ratio 1.07 (wall 1.10); a run on a busier
  machine gave 1.073 vs 0.954, 1.12. Run-to-run noise is about 10%.
Where our step goes: 04_cispo, "The step's own speed".
A compiled decoding step (torch.compile over a fixed-length cache; branch `compiled`, not merged) gave 0.84-0.87 against
0.84-0.88 eager in the same runs (`--rounds 5`, 2026-12-03): no gain above the noise. The floor on this CPU: TRL's step
0.90 CPU s, 0.6 of it 0.54 s; our update and the rest ~0.36 s plus the decoding matmuls alone ~0.19 s = 0.55 s.
Before (trl 1.16, 2026-11-22, the quiet 2-core machine, 2 threads, wall): `--rounds 5 --steps 4` medians 1.037 vs 1.344
s/step, ratio 0.77 (rounds 0.70-0.91); before the HF backend's own decoding loop the same machine measured 0.84.
"""
import argparse, contextlib, io, os, statistics, sys, tempfile, time, warnings
os.environ.setdefault('OMP_NUM_THREADS', '2')
import torch
THREADS = int(os.environ['OMP_NUM_THREADS'])
torch.set_num_threads(THREADS)
warnings.filterwarnings('ignore')
from types import SimpleNamespace
from fst_nb.models import load_policy
from fst_nb.cispo import CISPOTrainer, TrainConfig
from server_rollout import cpu_flags   # the same CPU line as the other benches

PROMPTS = [f'Find a path from {a} to {b} in the graph {a},{c} {c},{b} {b},{d}. Put the answer in \\boxed{{}}.'
           for a, b, c, d in [(3, 7, 11, 2), (5, 1, 9, 4), (8, 6, 0, 12), (13, 10, 14, 15)]]

def even(text): return float(len(text) % 2 == 0)

class Even:
    "The benchmark task: the same reward TRL gets."
    data = [{'id': str(i), 'q': q} for i, q in enumerate(PROMPTS)]
    def examples(self, split='train', n=None, seed=0): return self.data[:n]
    def messages(self, ex, context=None): return [{'role': 'user', 'content': ex['q']}]
    def score_batch(self, comps, exs): return [SimpleNamespace(score=even(c), feedback='') for c in comps]

def ours_block(model_name, steps, tokens, seed):
    cfg = TrainConfig(steps=steps, problems=2, G=8, lr=1e-5, warmup_steps=0, max_new_tokens=tokens, beta=0.0,
                      eval_every=0, seed=seed, norm='token')
    tr = CISPOTrainer(load_policy(model_name), Even(), cfg, verbose=False)
    times = []
    for _ in range(steps):
        t, c = time.perf_counter(), time.process_time(); tr.train_step()
        times.append((time.perf_counter() - t, time.process_time() - c))
    return times[1:]

class TorchLogProb:
    """Per-token log-probs (and entropy) of `hidden @ weight.T` in plain torch: the CPU stand-in for trl 1.15.0's Triton
    `ChunkedLogProbFunction`. trl 1.15.0 has no GRPOConfig option for an unfused path (read against trl 1.15.0:
    `GRPOTrainer.__init__` calls `add_fused_lm_head` unconditionally and `_get_per_token_logps_and_entropies` always
    passes `fused_lm_head=True`; GRPOConfig only has `cast_lm_head_to_fp32`). Off CUDA its `_fused_forward` calls
    `trl.trainer.utils._ChunkedLogProbFunction`, which is None without Triton or, with Triton installed, fails in its
    kernel launch ("0 active drivers"). trl 1.16.0 fixed it the same way: `kernels/chunked_logprob._use_triton(device)`
    falls back to torch tiles off CUDA. Same outputs (logit_scale, softcap, 1/T, as trl's `_transform`); autograd does the
    backward. The tiny models' vocabularies are small, so the [N, V] logits fit."""
    @staticmethod
    def apply(hidden, weight, bias, targets, temperature, chunk_size, softcap=None, logit_scale=1.0,
              outputs=('entropy',)):
        z = hidden @ weight.t() if bias is None else torch.addmm(bias, hidden, weight.t())   # [N, V]
        z = z.float() * logit_scale
        if softcap is not None: z = softcap * torch.tanh(z / softcap)
        lp = torch.log_softmax(z / temperature, -1)                                           # [N, V]
        logp = lp.gather(-1, targets[:, None]).squeeze(-1)                                  # [N]
        ent = -(lp.exp() * lp).sum(-1) if 'entropy' in outputs else None                    # [N]
        if any(o in outputs for o in ('log_sum_sq_probs', 'mean_logits', 'is_top1')):
            raise NotImplementedError(f"TorchLogProb computes log_probs and entropy only, not {outputs}")
        return logp, ent, None, None, None

def use_cpu_logprob():
    "Give trl < 1.16 the torch log-prob path off CUDA (see TorchLogProb); returns what it did, for the output."
    import trl, trl.trainer.utils as U
    from packaging.version import Version
    if torch.cuda.is_available() or Version(trl.__version__) >= Version('1.16.0'): return 'trl fused path'
    U._ChunkedLogProbFunction = TorchLogProb
    return f'trl {trl.__version__} fused LM head with a torch log-prob tile (no Triton on CPU)'

def trl_block(model_name, steps, tokens, seed):
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer
    use_cpu_logprob()
    pol = load_policy(model_name)
    ds = Dataset.from_list([{'prompt': [{'role': 'user', 'content': q}]} for q in PROMPTS] * 50)
    times = []
    class Timer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw): self.t, self.c = time.perf_counter(), time.process_time()
        def on_step_end(self, args, state, control, **kw):
            times.append((time.perf_counter() - self.t, time.process_time() - self.c))
    def reward(completions, **kw): return [even(c[0]['content'] if isinstance(c, list) else c) for c in completions]
    with tempfile.TemporaryDirectory() as out:
        args = GRPOConfig(output_dir=out, loss_type='cispo', epsilon_high=4.0, beta=0.0, learning_rate=1e-5,
                          per_device_train_batch_size=16, num_generations=8, max_completion_length=tokens,
                          gradient_accumulation_steps=1, max_steps=steps, use_cpu=True, bf16=False,
                          gradient_checkpointing=False, report_to=[], save_strategy='no', logging_steps=10_000,
                          disable_tqdm=True, seed=seed, temperature=1.0, dataloader_num_workers=0)
        tr = GRPOTrainer(model=pol.model, reward_funcs=reward, args=args, train_dataset=ds,
                         processing_class=pol.tokenizer, callbacks=[Timer()])
        with contextlib.redirect_stdout(io.StringIO()): tr.train()   # TRL prints its summary dict
    return times[1:]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='tiny'); ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--steps', type=int, default=4); ap.add_argument('--tokens', type=int, default=64)
    a = ap.parse_args()
    ours, trl = [], []
    med = lambda xs, k: statistics.median(x[k] for x in xs)
    for r in range(a.rounds):
        o = ours_block(a.model, a.steps, a.tokens, r); t = trl_block(a.model, a.steps, a.tokens, r)
        ours += o; trl += t
        print(f"round {r}: ours {med(o, 1):.3f} CPU s/step ({med(o, 0):.3f} wall) | trl {med(t, 1):.3f} CPU s/step "
              f"({med(t, 0):.3f} wall)", flush=True)
    print(f"model={a.model} 2 prompts x 8 completions, {a.tokens} new tokens, fp32, {THREADS} thread(s), {len(ours)} timed "
          f"steps each; {use_cpu_logprob()}; CPU: {cpu_flags()}")
    for k, what in ((1, 'CPU'), (0, 'wall')):
        mo, mt = med(ours, k), med(trl, k)
        print(f"{what}: ours {mo:.3f} s/step | TRL GRPOTrainer(cispo) {mt:.3f} s/step | ratio ours/TRL = {mo / mt:.2f}"
              + (" (target <= 0.6)" if k == 1 else " (wall: only meaningful on a quiet machine)"))

if __name__ == '__main__':
    main()
