"""Pipelined rollouts (`TrainConfig.max_staleness`) vs the sequential loop, with the `server` backend on 2 cores.

The vLLM server (the policy's weights, fp32, 1 engine thread) runs pinned to core 0 (`sched_setaffinity` before it
starts, so its API and engine processes inherit it, and `VLLM_CPU_OMP_THREADS_BIND=0`); the trainer is pinned to core 1
(1 torch thread; with max_staleness 1 its rollout thread shares that core). Each repeat trains a fresh policy (same
seed, the server reset to the start weights) for `--steps` CISPO steps sequentially (max_staleness 0) and pipelined
(max_staleness 1), in alternating order, on a stand-in task whose reward depends on the completion (parity of its
length: informative groups from the first step, so every step runs a backward and pushes its weights). It prints
steps/s of each (wall time of all steps after the first, which cannot overlap anything), the ratio against the 1.3x
target, the mean reward of each (they must agree within noise), and the largest staleness seen.

Run: `PYTHONPATH=. OMP_NUM_THREADS=1 .venv/bin/python bench/pipeline.py [--steps 6] [--repeats 2] [--model tiny] [--hf]`.

Measured 2026-12-03 on the shared 2-core machine (AMD EPYC, avx512_bf16, no AMX), tiny model, 4 problems x 8 rollouts
x 48 tokens, 6 steps, `--repeats 2`, while other helpers' benchmarks ran (load average given per run):
  server, load 4.4-7.1: sequential 0.198 / 0.234 steps/s, pipelined 0.330 / 0.389 -> 1.66x (repeats 1.67, 1.66);
  server, load 6.5-11.2: sequential 0.133 / 0.205, pipelined 0.216 / 0.327 -> 1.61x (repeats 1.62, 1.60).
  Target >= 1.3x: met in every repeat (spread 1.60-1.67 over 4 repeats). The sequential loop waits 2.4-4.2 s per step
  for its rollouts, the pipelined one 0.6-1.0 s (the rest of the generation is hidden behind the update).
  Rewards: sequential 0.531, pipelined 0.490 (the runs are seeded, so each mode repeats its value); the difference
  0.042 is under one binomial standard error of a difference of two 192-sample means (0.051).
  hf in-process (`--hf`, load 3.9-4.8): 0.335 / 0.327 vs 0.341 / 0.334 steps/s -> 1.02x (repeats 1.02, 1.02): the
  rollout thread samples from a copy of the weights, but on a 2.3M model every op is tiny, so both threads spend their
  time in Python dispatch under the GIL and the work does not run in parallel; the wait for rollouts disappears from
  the step (0.00 s) but the update gets slower by as much.
What it means: the server pipelines because generation happens in another process on another core, so the update's
time is hidden up to the bound max(gen, train) + push (sequential: gen + train + push); at most 2x, reached when
gen = train. Here gen is about half the sequential step, hence ~1.6x.
On a GPU node where generation dominates (long completions; a server on its own GPU), the update hides entirely
behind generation: a step costs gen + push instead of gen + train + push, a speed-up of 1 + train/gen (1.33x when
generation is 3/4 of the sequential step, 1.1x when it is 9/10). Past that the engine is the bottleneck and only
more engines (k > 1 keeps several busy) or a cheaper push (LoRA adapters: milliseconds; a full 1.7B bf16 file sync:
seconds per step, on the critical path) raise it. An engine colocated on the trainer's GPU competes for it the way
the `hf` thread competes here.
"""
import argparse, os, statistics, time
from types import SimpleNamespace

from server_rollout import cpu_flags   # the same CPU line as the server rollout bench

TARGET = 1.3

class Parity:
    "Reward 1 when the completion has an even number of characters (informative groups on any policy)."
    data = [{'id': str(i), 'q': f'Say {i} things about graphs.'} for i in range(64)]
    name = 'parity'
    def examples(self, split='train', n=None, seed=0): return self.data[:n]
    def messages(self, ex, context=None):
        return ([{'role': 'system', 'content': context}] if context else []) + [{'role': 'user', 'content': ex['q']}]
    def score_batch(self, comps, exs): return [SimpleNamespace(score=float(len(c) % 2 == 0), feedback='') for c in comps]

def run(a, url, k):
    "Train a fresh policy for a.steps steps with max_staleness k on the server; (seconds of steps 2.., rows)."
    import torch
    from fst_nb.models import load_policy
    from fst_nb.cispo import CISPOTrainer, TrainConfig
    from fst_nb.server_backend import ServerBackend
    torch.manual_seed(0)
    pol = load_policy(a.model)
    be = ServerBackend(pol, url, tol=1e-3) if url else 'hf'   # a server gets the start weights pushed if it holds others
    cfg = TrainConfig(steps=a.steps, problems=a.problems, G=a.G, lr=a.lr, warmup_steps=0, max_new_tokens=a.new,
                      eval_every=0, beta=0.0, seed=1, max_staleness=k)
    tr = CISPOTrainer(pol, Parity(), cfg, backend=be, pool=['Be brief.', 'Answer in one line.'], verbose=False)
    tr.horizon = a.steps
    rows, t1 = [tr.train_step()], time.perf_counter()
    rows += [tr.train_step() for _ in range(a.steps - 1)]
    dt = time.perf_counter() - t1
    if url: be.close()
    if tr._prefetch is not None: tr._prefetch.close()
    return dt, rows

def report(a, res, what):
    ratios = [p[0] / s[0] for s, p in zip(res[0], res[1])]
    rew = {k: [sum(x['reward_mean'] for x in rows) / len(rows) for _, rows in v] for k, v in res.items()}
    se = (0.25 / (a.problems * a.G * a.steps)) ** 0.5   # binomial standard error of a mean reward near 0.5
    print(f"{what}: {a.model}, {a.problems}x{a.G} rollouts x {a.new} tokens, {a.steps} steps: pipelined (staleness 1) / "
          f"sequential = {statistics.median(ratios):.2f}x steps/s (repeats {', '.join(f'{x:.2f}' for x in ratios)}); "
          f"target >= {TARGET}x: {'met' if min(ratios) >= TARGET else 'NOT met'}")
    print(f"mean reward: sequential {statistics.mean(rew[0]):.3f}, pipelined {statistics.mean(rew[1]):.3f} "
          f"(difference {abs(statistics.mean(rew[0]) - statistics.mean(rew[1])):.3f}; binomial s.e. of one run {se:.3f}, "
          f"of a difference {se * 2 ** 0.5:.3f}); load average {os.getloadavg()[0]:.2f} at the end; CPU: {cpu_flags()}")

def repeats(a, url):
    import torch
    torch.set_num_threads(1)
    res = {0: [], 1: []}
    for r in range(a.repeats):
        for k in ((0, 1) if r % 2 == 0 else (1, 0)):
            dt, rows = run(a, url, k)
            sps = (a.steps - 1) / dt
            res[k].append((sps, rows))
            rw = sum(x['reward_mean'] for x in rows) / len(rows)
            gen = statistics.median(x['gen_time'] for x in rows[1:])
            print(f"repeat {r} max_staleness {k}: {sps:.3f} steps/s ({dt:.1f} s for steps 2-{a.steps}), "
                  f"median wait for rollouts {gen:.2f} s/step, reward {rw:.3f}, "
                  f"staleness max {max(max(x['staleness']) for x in rows)}, kept {sum(x['groups_kept'] for x in rows)}, "
                  f"load {os.getloadavg()[0]:.2f}", flush=True)
    return res

def main_hf(a):
    "The in-process 'hf' backend: the rollout thread samples from a copy of the weights on the same 2 cores."
    print(f"CPU: {cpu_flags()}; load average {os.getloadavg()[0]:.2f} at start; backend 'hf', 1 torch thread per thread")
    report(a, repeats(a, None), "hf in-process")

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', default='tiny')
    ap.add_argument('--steps', type=int, default=6)
    ap.add_argument('--repeats', type=int, default=2)
    ap.add_argument('--problems', type=int, default=4)
    ap.add_argument('--G', type=int, default=8)
    ap.add_argument('--new', type=int, default=48)
    ap.add_argument('--lr', type=float, default=1e-4)
    ap.add_argument('--hf', action='store_true', help="in-process 'hf' backend instead of a server, both cores shared")
    a = ap.parse_args()
    if a.hf: return main_hf(a)
    from fst_nb.vllm_backend import vllm_available
    if not vllm_available(): print("pipeline: vllm is not installed (run `make vllm-setup`); skipped"); return
    import torch
    from fst_nb.models import load_policy
    from fst_nb.serve import serve_for_training
    cores = sorted(os.sched_getaffinity(0))
    pin = len(cores) >= 2
    print(f"CPU: {cpu_flags()}; load average {os.getloadavg()[0]:.2f} at start; "
          f"{'server on core %d, trainer on core %d' % (cores[0], cores[1]) if pin else 'one core: no pinning'}")
    torch.manual_seed(0)
    if pin: os.sched_setaffinity(0, {cores[0]})      # the server's processes inherit core 0
    with serve_for_training(load_policy(a.model), threads=1, max_model_len=512,
                            env={'VLLM_CPU_OMP_THREADS_BIND': str(cores[0])} if pin else None) as srv:
        if pin: os.sched_setaffinity(0, {cores[1]})  # the trainer (both its threads) on core 1
        res = repeats(a, srv.base_url)
    report(a, res, "server")

if __name__ == '__main__':
    main()
