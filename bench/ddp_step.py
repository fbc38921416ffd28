"""CISPO step time: 2-rank gloo data parallel (torchrun) vs one process, on the same total batch.

The tiny model, 4 problems x G=8 rollouts per step (real HF sampling, up to `--new` tokens), a toy reward (even
completion length) so nearly every group is informative and every rank runs a backward. One process runs the step
alone (1 thread, then 2 threads); `torchrun --nproc-per-node 2` runs it with 2 problems per rank (1 thread each). Each
configuration takes `--steps` timed steps after one warm-up step; the medians give the ratios. In the 2-rank run the
communication share is the time inside torch.distributed calls (the summed-normaliser all_reduce, the gradient
all_reduce, the gather of the step's metrics) over the step time; that includes waiting for the slower rank, so the
pure transfer (one gradient all_reduce after a barrier, median of 20) is printed too.
Run: `PYTHONPATH=. OMP_NUM_THREADS=1 .venv/bin/python bench/ddp_step.py [--steps 5 --rounds 3]` (about 2.5 min).

Measured 2026-11-30 on the 2-core machine (AMD EPYC, avx512_bf16, no AMX), quiet (load average 0.4, nothing else running), defaults, one run:
  step time 1 process 1 thread 0.560 s, 2 threads 0.495 s, 2 ranks 0.337 s -> 2-rank / 1-process 0.60x (vs 1 thread),
  0.68x (vs 2 threads); in collectives 7.6% of the 2-rank step, the gradient all_reduce alone 13.1 ms (3.9%).
Measured 2026-11-30 on the shared 2-core machine (AMD EPYC, AVX-512 with avx512_bf16, no AMX; load average 3.5 from
other jobs), defaults, two runs:
  step time 1 process 1 thread 0.889 / 0.799 s, 2 threads 0.867 / 1.217 s, 2 ranks 0.864 / 0.872 s
  2-rank / 1-process: 0.97x / 1.09x (vs 1 thread), 1.00x / 0.72x (vs 2 threads); in collectives 7.9% / 9.0% of the
  2-rank step; the gradient all_reduce alone 17.0 / 21.8 ms (2.0% / 2.5%) for 2.30M fp32 parameters.
Under that load there is no speed-up: the other jobs leave about one core, which the two ranks share (each rank's half batch samples as
slowly as the whole batch in one process), and the collective time is mostly waiting for the slower rank. Round-to-round
spread of one configuration is +-25%. On a GPU node (one rank per GPU, NCCL) the rollouts split N ways and the gradient
all_reduce is small next to them; see the prose of nbs/00b_dist.ipynb.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

def _cpu() -> str:
    info = Path('/proc/cpuinfo').read_text() if Path('/proc/cpuinfo').exists() else ''
    name = next((l.split(':', 1)[1].strip() for l in info.splitlines() if l.startswith('model name')), 'unknown CPU')
    flags = set(next((l.split(':', 1)[1].split() for l in info.splitlines() if l.startswith('flags')), []))
    return (f"{name}, {os.cpu_count()} cores, avx512f {'yes' if 'avx512f' in flags else 'no'}, avx512_bf16 "
            f"{'yes' if 'avx512_bf16' in flags else 'no'}, amx {'yes' if any(f.startswith('amx') for f in flags) else 'no'}, "
            f"load average {os.getloadavg()[0]:.2f}")

def worker(out: Path, steps: int, new: int, threads: int):
    "Train 1 + `steps` CISPO steps (one process or one rank) and write the timings."
    import torch
    torch.set_num_threads(threads)
    from types import SimpleNamespace
    from fst_nb import dist
    from fst_nb.models import load_policy
    from fst_nb.cispo import CISPOTrainer, TrainConfig

    class Parity:
        data = [{'id': str(i), 'q': f'Say {i} things.'} for i in range(64)]
        def examples(self, split='train', n=None, seed=0): return self.data[:n]
        def messages(self, ex, context=None): return [{'role': 'user', 'content': ex['q']}]
        def score_batch(self, comps, exs): return [SimpleNamespace(score=float(len(c) % 2 == 0), feedback='') for c in comps]

    dist.init_distributed()
    try:
        cfg = TrainConfig(steps=steps + 1, problems=4, G=8, lr=1e-4, warmup_steps=0, max_new_tokens=new, beta=0.0,
                          eval_every=0, seed=0)
        tr = CISPOTrainer(load_policy('tiny'), Parity(), cfg, verbose=False)
        rows = [tr.train_step() for _ in range(steps + 1)][1:]
        res = dict(step=[r['step_time'] for r in rows], gen=[r['gen_time'] for r in rows],
                   comm=[r.get('comm_time', 0.0) for r in rows], kept=[r['groups_kept'] for r in rows],
                   params=sum(p.numel() for p in tr.params))
        if dist.active():   # the pure cost of the gradient all_reduce, all ranks lined up by a barrier first
            for p in tr.params: p.grad = torch.zeros_like(p)
            pure = []
            for _ in range(20):
                dist.barrier(); t = time.perf_counter(); dist.all_reduce_grads(tr.params); pure.append(time.perf_counter() - t)
            res['allreduce'] = statistics.median(pure)
        if dist.is_main(): (out/'result.json').write_text(json.dumps(res))
    finally: dist.shutdown()

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--new', type=int, default=32)
    ap.add_argument('--worker', nargs=2, metavar=('OUT', 'THREADS'))
    a = ap.parse_args()
    if a.worker: return worker(Path(a.worker[0]), a.steps, a.new, int(a.worker[1]))
    from fst_nb.dist import torchrun_cmd
    env = {**os.environ, 'PYTHONPATH': os.environ.get('PYTHONPATH', '.')}
    me = Path(__file__).resolve()
    configs = {'1 process, 1 thread': (1, 1), '1 process, 2 threads': (2, 1), '2 ranks gloo, 1 thread each': (1, 2)}
    runs = {k: [] for k in configs}
    print(_cpu())
    for r in range(a.rounds):   # the configurations alternate (reversed every other round): the machine's load is shared
        for name in (list(configs) if r % 2 == 0 else list(configs)[::-1]):
            threads, ranks = configs[name]
            out = Path(tempfile.mkdtemp())
            args = ['--worker', str(out), str(threads), '--steps', str(a.steps), '--new', str(a.new)]
            cmd = torchrun_cmd(2, me, *args) if ranks == 2 else [sys.executable, str(me), *args]
            subprocess.run(cmd, env={**env, 'OMP_NUM_THREADS': str(threads)}, check=True, stderr=subprocess.DEVNULL)
            res = json.loads((out/'result.json').read_text())
            runs[name].append(res)
            med = {k: statistics.median(res[k]) for k in ('step', 'gen', 'comm')}
            print(f"round {r} {name:30s} step {med['step']:.3f} s (gen {med['gen']:.3f} s)" +
                  (f", in collectives {med['comm'] / med['step']:.1%} of the step, gradient all_reduce alone "
                   f"{res['allreduce'] * 1e3:.1f} ms ({res['allreduce'] / med['step']:.1%}) for {res['params'] / 1e6:.2f}M "
                   f"fp32 params" if ranks == 2 else '') + f"; groups kept {sum(res['kept'])}/{4 * a.steps}")
    step = {k: statistics.median(s for res in v for s in res['step']) for k, v in runs.items()}
    ddp = runs['2 ranks gloo, 1 thread each']
    comm = statistics.median(c / s for res in ddp for c, s in zip(res['comm'], res['step']))
    pure = statistics.median(res['allreduce'] for res in ddp)
    one, two, dp = step['1 process, 1 thread'], step['1 process, 2 threads'], step['2 ranks gloo, 1 thread each']
    print(f"medians over {a.rounds} rounds x {a.steps} steps: step time 1 process 1 thread {one:.3f} s, 2 threads {two:.3f} s, "
          f"2 ranks {dp:.3f} s")
    print(f"2-rank / 1-process step time: {dp / one:.2f}x (vs 1 thread), {dp / two:.2f}x (vs 2 threads); "
          f"communication share of the 2-rank step {comm:.1%} (gradient all_reduce alone {pure * 1e3:.1f} ms = {pure / dp:.1%})")

if __name__ == '__main__':
    main()
