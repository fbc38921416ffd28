"""What FST costs in wall time next to RL, on the CPU testbed: the figure a user who pays for hardware asks for.

Runs FST and RL (the `quick` preset: `star_rules` rule set A, silent seed prompt, the warm-started `tiny-star-rules`
(warm seed 0, cached), the model-free `feedback` reflector, 4 RL steps per cycle, 4 problems x 8 rollouts, seed 0) for
the same number of cycles, so at equal RL steps, and prints from the runs' rows:
1. the wall time of each phase: GEPA evaluation, reflection, re-scoring of the carried pool, GEPA bookkeeping (the rest
   of a round), RL rollout generation (sampling + verifier), RL update (advantages, forward, backward, optimizer, engine
   sync) and evaluation;
2. FST's overhead factor per cycle without evaluation, twice: as run, and at equal informative groups. A step whose
   groups all have one reward runs no backward, so a mode whose groups are uninformative looks cheap without doing the
   work (issue 22). The second figure prices every step as if all its `problems` groups were informative: each mode's
   update time is fit as a + b * (informative groups) over its steps that had any (a: optimizer and sync, b: forward and
   backward of one group; the mean per group when the count never varies), then a cycle costs
   GEPA round + T * (mean rollout time + a + b * problems). Same groups, same model: what is left is FST's own cost.
   Target: <= 1.5x RL's;
3. the training wall time (GEPA rounds + RL steps, no evaluation) each mode needs to reach RL's best held-out reward
   (pool prompt where FST has one, linear between evaluations). Target: FST needs less than RL.
The rows' timers read `time.perf_counter` / `time.time`. With `--clock cpu` (the default) this bench points the clocks of
fst_nb.fst, fst_nb.cispo and fst_nb.gepa at `time.process_time`, so every phase is in CPU seconds of this process: with
OMP_NUM_THREADS=1 that equals wall time on a quiet machine, and it stays meaningful on a shared one (on the 2-core CI
box with 7 other jobs, wall times of one phase varied 5x from step to step). `--clock wall` keeps wall time.
`--profile` runs each mode under cProfile and prints where the time went by function.

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/cycle_cost.py [--cycles 10] [--out DIR] [--clock cpu|wall] [--profile]

A run directory that exists is read, not re-run (pass a new --out to measure again; without --out the runs go to a temporary folder, removed at the end).

After (one prefill per distinct prompt in the HF backend; each distinct prompt once in the update), same machine and
command, 4 min: CPU seconds fst / rl: GEPA evaluation 1.60 / -, re-scoring 2.01 / -, GEPA other 0.10 / -, rollouts
8.75 / 6.94, update 9.33 / 6.87, evaluation 25.08 / 9.80. Per cycle without evaluation 2.18 vs 1.38 s (1.58x); at equal
informative groups 3.04 vs 2.05 s, 1.48x (target <= 1.5x met); training time to RL's best (0.812) FST 11.3 s, RL 13.8
s, 0.82x (target < 1x met). The held-out rewards at every evaluation are the same as before.
Before (the code of main that day, plus the timers), 2026-12-03 (2-core machine, avx512_bf16, shared with 7 other
jobs), `--cycles 10`, 7 min: CPU seconds per
phase fst / rl: GEPA evaluation 1.90 / -, reflection 0.00 / -, re-scoring 2.22 / -, GEPA other 0.12 / -, rollouts
19.54 / 12.33, update 28.31 / 14.93, evaluation 36.91 / 14.14. Per cycle without evaluation 5.21 vs 2.73 s (1.91x);
at equal informative groups 7.90 vs 4.29 s, 1.84x (target <= 1.5x missed). Training time to RL's best (0.812): FST 29.6
s, RL 27.3 s, 1.08x (target < 1x missed). Why (the evolved prompt doubles every sequence's length): 06_fst, "What FST
costs in time". `--cycles 4 --profile`: 1.96x per cycle; to RL's best then (0.141) 0.28x.
"""
import argparse, cProfile, io, os, pstats, sys, tempfile, time
from pathlib import Path
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('LITELLM_LOCAL_MODEL_COST_MAP', 'True'); os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
import numpy as np
import torch
torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
sys.path.insert(0, str(Path(__file__).parent))
from cispo_vs_trl import cpu_flags
from fst_nb.analysis import crossing, eval_points
from fst_nb.cli import open_run
from fst_nb.presets import load_config

PARTS = [('GEPA evaluation', 'gepa', 'eval_seconds'), ('reflection', 'gepa', 'reflect_seconds'),
         ('re-scoring', 'gepa', 'rescore_seconds'), ('GEPA other', 'gepa', None), ('rollouts', 'train', 'gen_time'),
         ('update', 'train', 'update_time'), ('evaluation', 'eval', 'seconds')]

def part_seconds(rows) -> dict:
    "Seconds per phase of PARTS; 'GEPA other' is a round's `seconds` minus its timed parts."
    out = {}
    for name, kind, key in PARTS:
        rs = [r for r in rows if r.get('kind') == kind]
        if key is None:
            out[name] = sum(r['seconds'] - r['eval_seconds'] - r['reflect_seconds'] - r['rescore_seconds'] for r in rs)
        else: out[name] = sum(r.get(key) or 0.0 for r in rs)
    return out

def update_fit(train) -> tuple:
    "(a, b): update_time ~ a + b * groups_kept over the steps that kept a group; None when no step kept one."
    st = [r for r in train if r['groups_kept'] > 0]
    if not st: return None
    k, u = np.array([r['groups_kept'] for r in st], float), np.array([r['update_time'] for r in st], float)
    if len(set(k)) < 2: return 0.0, float(u.sum() / k.sum())
    b, a = np.polyfit(k, u, 1)
    if a < 0 or b < 0: return 0.0, float(u.sum() / k.sum())   # a noisy fit: fall back to the mean per group
    return float(a), float(b)

def train_time_axis(rows) -> list:
    "(training seconds so far, held-out reward) at each evaluation: GEPA rounds + RL steps of the cycles before it."
    spent = {}
    for r in rows:
        if r.get('kind') == 'gepa': spent[r['cycle']] = spent.get(r['cycle'], 0.0) + r['seconds']
        if r.get('kind') == 'train': spent[r['cycle']] = spent.get(r['cycle'], 0.0) + r['step_time']
    pts = eval_points(rows, prompt='auto')
    return [(sum(v for c, v in spent.items() if c <= p['cycle']), p['reward_mean']) for p in pts]

class CpuClock:
    "The `time` module with `perf_counter` and `time` reading this process's CPU seconds (see the docstring)."
    perf_counter = staticmethod(time.process_time)
    time = staticmethod(time.process_time)
    def __getattr__(self, k): return getattr(time, k)

def use_cpu_clock():
    import fst_nb.fst, fst_nb.cispo, fst_nb.gepa
    for m in (fst_nb.fst, fst_nb.cispo, fst_nb.gepa): m.time = CpuClock()

def run_mode(mode, cycles, out, profile):
    cfg = load_config('quick', dict(mode=mode, seed=0, cycles=cycles, decompose=False, verbose=False))
    run = open_run(cfg, Path(out)/f'{mode}-s0')
    fresh = not run.done
    c0, t0 = time.process_time(), time.perf_counter()
    prof = cProfile.Profile() if profile and fresh else None
    if prof: prof.enable()
    run.train()
    if prof: prof.disable()
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    if prof:
        s = io.StringIO(); pstats.Stats(prof, stream=s).sort_stats('cumulative').print_stats(r'fst_nb|transformers/generation|torch/optim', 25)
        print(f"\n--- cProfile, {mode} (cumulative; fst_nb, transformers generation and torch.optim frames) ---")
        print('\n'.join(l for l in s.getvalue().splitlines() if l.strip() and not l.startswith(('   Ordered', '   List reduced')))[:6000])
    return run.run_dir.read(), (cpu, wall) if fresh else None

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cycles', type=int, default=10); ap.add_argument('--out', default=None)
    ap.add_argument('--profile', action='store_true'); ap.add_argument('--clock', default='cpu', choices=('cpu', 'wall'))
    a = ap.parse_args()
    if a.clock == 'cpu': use_cpu_clock()
    if a.out is None:   # runs in a temporary folder that goes away
        with tempfile.TemporaryDirectory(prefix='cycle_cost-') as d: return report(a, Path(d))
    return report(a, Path(a.out))

def report(a, out):
    print(f"quick preset (star_rules A, tiny-star-rules warm seed 0, feedback reflector), seed 0, {a.cycles} cycles per mode; "
          f"{os.environ['OMP_NUM_THREADS']} thread(s); {a.clock} seconds; CPU flags: {cpu_flags()}; runs in {out}", flush=True)
    rows, proc = {}, {}
    for mode in ('fst', 'rl'): rows[mode], proc[mode] = run_mode(mode, a.cycles, out, a.profile)
    cfg = load_config('quick')
    T, P = cfg.rl_steps, cfg.problems
    parts = {m: part_seconds(r) for m, r in rows.items()}
    names = [p[0] for p in PARTS]
    print(f"\n1. time per phase ({a.clock} seconds, {a.cycles} cycles, {T} RL steps each)")
    print(f"{'mode':5} " + ' '.join(f"{n:>15}" for n in names) + f" {'train (no eval)':>16} {'process CPU':>12}")
    for m, p in parts.items():
        tr = sum(v for k, v in p.items() if k != 'evaluation')
        cpu = f"{proc[m][0]:.1f}" if proc[m] else '(read)'
        print(f"{m:5} " + ' '.join(f"{p[n]:15.2f}" for n in names) + f" {tr:16.2f} {cpu:>12}")
    print("\n2. per cycle, without evaluation")
    cyc, fits = {}, {}
    for m, r in rows.items():
        train = [x for x in r if x.get('kind') == 'train']
        gepa = sum(x['seconds'] for x in r if x.get('kind') == 'gepa')
        n_cyc = max(x['cycle'] for x in train)
        kept = [x['groups_kept'] for x in train]
        fits[m] = update_fit(train)
        cyc[m] = dict(raw=(gepa + sum(x['step_time'] for x in train)) / n_cyc, gepa=gepa / n_cyc,
                      gen=float(np.mean([x['gen_time'] for x in train])), kept=kept)
        print(f"   {m}: {cyc[m]['raw']:.2f} s/cycle as run (GEPA {cyc[m]['gepa']:.2f} s); informative groups per step "
              f"{np.mean(kept):.2f} of {P} ({sum(k > 0 for k in kept)}/{len(kept)} steps had one)"
              + (f"; update {fits[m][0]:.3f} s + {fits[m][1]:.3f} s per informative group" if fits[m] else ''))
    for m in cyc:
        fit = fits[m] or fits['fst' if m == 'rl' else 'rl']
        if fits[m] is None: print(f"   {m} had no informative group: its update is priced with the other mode's fit")
        cyc[m]['norm'] = None if fit is None else cyc[m]['gepa'] + T * (cyc[m]['gen'] + fit[0] + fit[1] * P)
    raw = cyc['fst']['raw'] / cyc['rl']['raw']
    print(f"   FST / RL per cycle as run: {raw:.2f}x")
    if cyc['fst']['norm'] and cyc['rl']['norm']:
        r = cyc['fst']['norm'] / cyc['rl']['norm']
        print(f"   FST / RL per cycle at equal informative groups (all {P} per step): {cyc['fst']['norm']:.2f} / "
              f"{cyc['rl']['norm']:.2f} s = {r:.2f}x   {'meets' if r <= 1.5 else 'MISSES'} the target <= 1.5x")
    print(f"\n3. training time ({a.clock} seconds: GEPA rounds + RL steps, no evaluation) to reach RL's best held-out reward")
    axes = {m: train_time_axis(r) for m, r in rows.items()}
    best = max(y for _, y in axes['rl'])
    need = {m: crossing(np.array([x for x, _ in ax]), np.array([y for _, y in ax]), best) for m, ax in axes.items()}
    for m, ax in axes.items():
        print(f"   {m}: held-out reward by training seconds " + ', '.join(f"{x:.0f}s:{y:.3f}" for x, y in ax)
              + f" -> reaches {best:.3f} at {need[m]:.1f} s")
    if best <= axes['rl'][0][1]: print(f"   RL never improved on its start ({best:.3f}): no time to compare")
    elif np.isfinite(need['fst']):
        r = need['fst'] / need['rl']
        print(f"   FST / RL training time to RL's best ({best:.3f}): {need['fst']:.1f} / {need['rl']:.1f} s = {r:.2f}x   "
              f"{'meets' if r < 1 else 'MISSES'} the target < 1x")
    else: print(f"   FST never reached RL's best ({best:.3f}) within {a.cycles} cycles   MISSES the target")

if __name__ == '__main__':
    main()
