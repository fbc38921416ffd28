"""The paper's four claims, measured on this project's CPU testbed: FST vs RL (and the GEPA-only baseline) over seeds.

The testbed is the house-rules star-graph (`star_rules`, hidden rule set A, silent seed prompt) with the tiny model
warm-started to read conventions from its system prompt (`tiny-star-rules`) and the model-free `feedback` reflector:
the `quick` preset, run for SINGLE_CYCLES cycles, and the `continual` preset (A -> B -> A). Every number comes from
`fst_nb.analysis` over the run directories that `fst_nb.cli.compare` writes (finished runs are skipped: a killed bench
resumes); intervals are 95% bootstrap intervals over seeds.

    PYTHONPATH=. .venv/bin/python bench/claims.py [--seeds 3] [--out runs/claims] [--n-boot 1000]

1. sample efficiency: RL samples each mode needs to reach 80% of RL's final held-out reward, and the ratio RL/FST, in RL
   samples and in total rollouts (RL samples + GEPA metric calls). Targets: >= 3x and >= 1.5x.
2. KL: KL(pi || pi_start) per token (k3) at that matched held-out reward. Target: FST >= 70% lower.
3. continual: final held-out reward of each phase of A -> B -> A. Target: FST at least 0.3 higher than RL, averaged.
4. plasticity: from each mode's phase-A weights (the single-task runs), RL alone with the silent prompt on rule set B;
   B's held-out reward after PLASTIC_STEPS steps. Target: the FST-trained start learns B faster.

Measured 2026-11-30 on the 2-core CPU (avx512_bf16, no amx), `--seeds 3`, 884 s wall while other tests ran:
1. threshold 0.8 x RL's final 0.859 = 0.688: RL samples to it FST 333 [221, 384], RL 987 [862, 1067], gepa never (its
   final 0.458); RL/FST 2.97x [2.42, 4.33] in RL samples (target 3x: missed by 0.03 on the mean, the interval covers it)
   and 2.34x [1.92, 3.43] in total rollouts (target 1.5x: met).
2. KL k3 per token at reward 0.688: FST 0.024 vs RL 0.291, FST lower by 92% [89%, 96%] (target 70%: met).
3. A -> B -> A, each phase's rule set at its end: FST 0.786 / 0.911 / 0.948, RL 0.057 / 0.000 / 0.500; FST - RL
   +0.70 [0.60, 0.79] averaged (target 0.3: met).
4. RL alone on B for 16 steps: from FST's weights 0.010 -> 0.203, from RL's 0.000 throughout (collapsed onto A's
   conventions: no signal); difference +0.20 [0.05, 0.50] (target > 0: met).
"""
import argparse, os, time
from pathlib import Path
os.environ.setdefault('LITELLM_LOCAL_MODEL_COST_MAP', 'True')
import numpy as np
from fst_nb.analysis import (load_runs, group_by_mode, summarize, kl_at_reward, group_curve, bootstrap, phase_final_rewards,
                             plasticity)
from fst_nb.cli import compare
from fst_nb.fst import FSTRun

SINGLE_CYCLES, PLASTIC_STEPS = 10, 16

def runs(out, modes, seeds): return load_runs([Path(out)/f'{m}-s{s}' for m in modes for s in seeds])

def export_weights(run_dir, dest) -> Path:
    "The trained weights of a finished run as a model folder `load_policy` reads."
    dest = Path(dest)
    if not (dest/'config.json').exists():
        run = FSTRun.resume(run_dir)
        run.policy.model.save_pretrained(dest); run.policy.tokenizer.save_pretrained(dest)
    return dest

def kl_cut(fst, rl, thr):
    "1 - KL_fst / KL_rl at reward `thr` (None where either never reaches it)."
    kf, kr = kl_at_reward(fst, thr, x='samples'), kl_at_reward(rl, thr, x='samples')
    return None if kf is None or kr is None or kr <= 0 else 1 - kf / kr

def mean_phase_reward(g): return float(np.mean([np.mean([v or 0.0 for v in phase_final_rewards(r)]) for r in g]))

def b_reward(g): return float(np.mean([plasticity(r, 0, PLASTIC_STEPS) or 0.0 for r in g]))

def single(out, seeds, n_boot):
    compare('quick', ('fst', 'rl', 'gepa'), seeds, out, dict(cycles=SINGLE_CYCLES), n_boot=n_boot)
    groups = group_by_mode(runs(out, ('fst', 'rl', 'gepa'), seeds))
    rl_final = float(group_curve(groups['rl'], 'reward_mean', 'samples')[1][-1])
    thr = 0.8 * rl_final
    print(f"\n== 1. sample efficiency: threshold 0.8 x RL's final held-out reward {rl_final:.3f} = {thr:.3f} "
          f"({len(seeds)} seeds, 95% bootstrap intervals)")
    if thr <= 0: print("  RL's final reward is 0: the threshold is undefined (RL never learned the hidden rule set)")
    table = {r['mode']: r for r in summarize([r for g in groups.values() for r in g], threshold=thr or None, n_boot=n_boot)}
    for m, r in table.items():
        print(f"  {m:5s} final {r['final_reward']}   RL samples to thr {r['samples_to_threshold']}   "
              f"total rollouts to thr {r['rollouts_to_threshold']}")
    f = table['fst']
    print(f"  RL/FST in RL samples:     {f.get('samples_ratio')}   target >= 3")
    print(f"  RL/FST in total rollouts: {f.get('rollouts_ratio')}   target >= 1.5")
    cut = bootstrap(lambda a, b: kl_cut(a, b, thr), groups['fst'], groups['rl'], n_boot=n_boot) if thr > 0 else None
    print(f"\n== 2. KL(pi||pi_start), k3 per token, at held-out reward {thr:.3f}: FST {f['kl_at_threshold']} vs RL "
          f"{table['rl']['kl_at_threshold']}; FST lower by {cut} (share)   target >= 0.70")

def continual(out, seeds, n_boot):
    compare('continual', ('fst', 'rl'), seeds, out, n_boot=n_boot)
    cg = group_by_mode(runs(out, ('fst', 'rl'), seeds))
    print("\n== 3. continual A -> B -> A: held-out reward on each phase's rule set at the end of the phase")
    for m, g in cg.items():
        per = np.array([[v if v is not None else np.nan for v in phase_final_rewards(r)] for r in g])
        print(f"  {m:5s} " + '  '.join(f"{x:.3f}" for x in np.nanmean(per, 0)) + f"   mean {mean_phase_reward(g):.3f}")
    gap = bootstrap(lambda a, b: mean_phase_reward(a) - mean_phase_reward(b), cg['fst'], cg['rl'], n_boot=n_boot)
    print(f"  FST - RL, averaged over phases: {gap}   target >= 0.3")

def plastic(out, single_out, seeds, n_boot):
    res = {}
    for m in ('fst', 'rl'):
        for s in seeds:
            w = export_weights(Path(single_out)/f'{m}-s{s}', Path(out)/'weights'/f'{m}-s{s}')
            compare('quick', ('rl',), (s,), Path(out)/f'from-{m}', dict(model=str(w.resolve()), preset='B',
                    cycles=PLASTIC_STEPS // 4, decompose=False), n_boot=n_boot)
        res[m] = runs(Path(out)/f'from-{m}', ('rl',), seeds)
    print("\n== 4. plasticity: RL alone on rule set B (silent prompt) from each mode's rule-set-A weights")
    for m, g in res.items():
        x, y = group_curve(g, 'reward_mean', 'step')
        print(f"  from {m:4s} weights: B reward " + ' '.join(f"{v:.3f}" for v in y) + f" at steps {x.astype(int).tolist()}")
    d = bootstrap(lambda a, b: b_reward(a) - b_reward(b), res['fst'], res['rl'], n_boot=n_boot)
    print(f"  B reward after {PLASTIC_STEPS} steps, FST start minus RL start: {d}   target > 0")

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', type=int, default=3)
    ap.add_argument('--out', default='runs/claims')
    ap.add_argument('--n-boot', type=int, default=1000)
    ap.add_argument('--only', default='1,3,4', help='which parts to run: 1 (claims 1-2), 3, 4')
    a = ap.parse_args()
    out, seeds, t0, only = Path(a.out), range(a.seeds), time.time(), a.only.split(',')
    if '1' in only or '4' in only: single(out/'single', seeds, a.n_boot)
    if '3' in only: continual(out/'continual', seeds, a.n_boot)
    if '4' in only: plastic(out/'plasticity', out/'single', seeds, a.n_boot)
    print(f"\nwall time {time.time() - t0:.0f}s")

if __name__ == '__main__': main()
