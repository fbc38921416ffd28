"""Wall time per optimizer step: our CISPO trainer vs TRL's GRPOTrainer(loss_type='cispo', epsilon_high=4.0).

Same tiny model (fresh copies of the same weights), same prompts, 2 prompts x 8 completions, 64 new tokens, fp32,
2 threads, same reward (even character count, so groups are informative), beta 0, no gradient checkpointing. Runs
alternate in this one process: ROUNDS times (STEPS of ours, then STEPS of TRL); the first step of each block is a
warm-up and not counted. Prints the median seconds per step of each and the ratio ours / TRL (target <= 0.8).
Usage: python bench/cispo_vs_trl.py [--model tiny] [--rounds 3] [--steps 4]

Measured 2026-11-22 (--rounds 3 --steps 3, shared machine at load average 12-16 on 2 cores, so absolute times are ~60-100x
the unloaded peer figure of 0.94 s/step): per round ours/TRL 61.4/81.0, 97.5/106.7, 53.2/45.7 s/step; medians over
6 timed steps each 64.5 vs 81.0 s/step, ratio 0.80. A first run (--rounds 2) gave 94.5 vs 78.0 (1.21). Under this load
the ratio is mostly noise (per-round ratios 0.76-1.21); re-measure on a quiet machine.
"""
import argparse, contextlib, io, os, statistics, sys, tempfile, time, warnings
os.environ.setdefault('OMP_NUM_THREADS', '2')
import torch
torch.set_num_threads(2)
warnings.filterwarnings('ignore')
from types import SimpleNamespace
from fst_nb.models import load_policy
from fst_nb.cispo import CISPOTrainer, TrainConfig

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
        t = time.perf_counter(); tr.train_step(); times.append(time.perf_counter() - t)
    return times[1:]

def trl_block(model_name, steps, tokens, seed):
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer
    pol = load_policy(model_name)
    ds = Dataset.from_list([{'prompt': [{'role': 'user', 'content': q}]} for q in PROMPTS] * 50)
    times = []
    class Timer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw): self.t = time.perf_counter()
        def on_step_end(self, args, state, control, **kw): times.append(time.perf_counter() - self.t)
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
    for r in range(a.rounds):
        o = ours_block(a.model, a.steps, a.tokens, r); t = trl_block(a.model, a.steps, a.tokens, r)
        ours += o; trl += t
        print(f"round {r}: ours {statistics.median(o):.3f} s/step | trl {statistics.median(t):.3f} s/step", flush=True)
    mo, mt = statistics.median(ours), statistics.median(trl)
    print(f"model={a.model} 2 prompts x 8 completions, {a.tokens} new tokens, fp32, 2 threads, {len(ours)} timed steps each")
    print(f"ours {mo:.3f} s/step | TRL GRPOTrainer(cispo) {mt:.3f} s/step | ratio ours/TRL = {mo / mt:.2f} (target <= 0.8)")

if __name__ == '__main__':
    main()
