"""The paper's four claims, measured on this project's CPU testbed: FST vs RL (and the GEPA-only baseline) over seeds.

The testbed is the house-rules star-graph (`star_rules`, hidden rule set A, silent seed prompt) with the tiny model
warm-started to read conventions from its system prompt (`tiny-star-rules`) and the model-free `feedback` reflector.
Each claim is computed by `fst_nb.analysis` over run directories that `fst_nb.cli.compare` writes; finished runs are
skipped, so a killed bench resumes where it stopped.

    PYTHONPATH=. .venv/bin/python bench/claims.py [--seeds 3] [--out runs/claims] [--n-boot 1000]

1. sample efficiency: RL samples each mode needs to reach 80% of RL's final held-out reward, and the ratio RL/FST, in RL
   samples and in total rollouts (RL samples + GEPA metric calls). Targets: >= 3x and >= 1.5x.
2. KL: KL(pi || pi_start) per token (k3) at that matched held-out reward. Target: FST >= 70% lower.
3. continual: final held-out reward of each phase of A -> B -> A. Target: FST at least 0.3 higher than RL, averaged.
4. plasticity: from each mode's phase-A weights (the single-task runs), RL alone with the silent prompt on rule set B;
   B's held-out reward after N steps. Target: the FST-trained start learns B faster.
"""
import argparse, json, os, sys, time
from pathlib import Path
os.environ.setdefault('LITELLM_LOCAL_MODEL_COST_MAP', 'True')
import numpy as np
from fst_nb.analysis import (load_runs, group_by_mode, summarize, kl_at_reward, group_curve, bootstrap, phase_final_rewards,
                             plasticity)
from fst_nb.cli import compare, PRESETS
from fst_nb.fst import FSTRun

SINGLE = dict(cycles=6)              # the quick preset, run longer
PLASTIC_STEPS = 16                   # RL steps on rule set B in the plasticity probe

def _runs(out, modes, seeds): return load_runs([out/f'{m}-s{s}' for m in modes for s in seeds])

def export_weights(run_dir, dest) -> Path:
    "The trained weights of a finished run as a model folder `load_policy` reads."
    dest = Path(dest)
    if (dest/'config.json').exists(): return dest
    run = FSTRun.resume(run_dir)
    run.policy.model.save_pretrained(dest); run.policy.tokenizer.save_pretrained(dest)
    return dest

def claim_sample_efficiency(groups, thr, n_boot):
    rows = {r['mode']: r for r in summarize([r for g in groups.values() for r in g], threshold=thr, n_boot=n_boot)}
    return rows

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seeds', type=int, default=3)
    ap.add_argument('--out', default='runs/claims')
    ap.add_argument('--n-boot', type=int, default=1000)
    a = ap.parse_args()
    out, seeds, t0 = Path(a.out), range(a.seeds), time.time()

    # 1 + 2: one rule set, three modes
    compare('quick', ('fst', 'rl', 'gepa'), seeds, out/'single', SINGLE, n_boot=a.n_boot)
    groups = group_by_mode(_runs(out/'single', ('fst', 'rl', 'gepa'), seeds))
    rl_final = group_curve(groups['rl'], 'reward_mean', 'samples')[1][-1]
    thr = 0.8 * rl_final
    table = {r['mode']: r for r in summarize([r for g in groups.values() for r in g], threshold=thr, n_boot=a.n_boot)}
    fst = table['fst']
    print(f"\n== 1. sample efficiency (threshold 0.8 x RL final {rl_final:.3f} = {thr:.3f}; {a.seeds} seeds, 95% bootstrap)")
    for m, r in table.items():
        print(f"  {m:5s} final {r['final_reward']}  RL samples to thr {r['samples_to_threshold']}  rollouts {r['rollouts_to_threshold']}")
    print(f"  RL/FST in RL samples:    {fst['samples_ratio']}   target >= 3")
    print(f"  RL/FST in total rollouts: {fst['rollouts_ratio']}   target >= 1.5")

    kl = bootstrap(lambda f, r: _kl_cut(f, r, thr), groups['fst'], groups['rl'], n_boot=a.n_boot)
    print(f"\n== 2. KL(pi||pi_start) k3/token at reward {thr:.3f}: FST {table['fst']['kl_at_threshold']} vs RL "
          f"{table['rl']['kl_at_threshold']}; FST lower by {kl} (share)   target >= 0.70")

    # 3: A -> B -> A
    compare('continual', ('fst', 'rl'), seeds, out/'continual', n_boot=a.n_boot)
    cg = group_by_mode(_runs(out/'continual', ('fst', 'rl'), seeds))
    per = {m: np.mean([phase_final_rewards(r) for r in g], axis=0) for m, g in cg.items()}
    gap = bootstrap(lambda f, r: float(np.mean([np.mean(phase_final_rewards(x)) for x in f]) -
                                       np.mean([np.mean(phase_final_rewards(x)) for x in r])), cg['fst'], cg['rl'], n_boot=a.n_boot)
    print(f"\n== 3. continual A -> B -> A: final held-out reward of each phase (mean over seeds)")
    for m, v in per.items(): print(f"  {m:5s} " + '  '.join(f"{x:.3f}" for x in v) + f"   mean {np.mean(v):.3f}")
    print(f"  FST - RL, averaged over phases: {gap}   target >= 0.3")

    # 4: plasticity, RL alone on B from each mode's A weights
    res = {}
    for m in ('fst', 'rl'):
        for s in seeds:
            w = export_weights(out/'single'/f'{m}-s{s}', out/'weights'/f'{m}-s{s}')
            compare('quick', ('rl',), (s,), out/'plasticity'/f'from-{m}', dict(model=str(w.resolve()), preset='B', cycles=PLASTIC_STEPS // 4,
                                                                              decompose=False), n_boot=a.n_boot)
        res[m] = _runs(out/'plasticity'/f'from-{m}', ('rl',), seeds)
    print(f"\n== 4. plasticity: RL alone on rule set B (silent prompt), from each mode's phase-A weights")
    for m, g in res.items():
        x, y = group_curve(g, 'reward_mean', 'step')
        print(f"  from {m:4s}: B reward " + ' '.join(f"{v:.3f}" for v in y) + f" at steps {x.astype(int).tolist()}")
    d = bootstrap(lambda f, r: float(np.mean([plasticity(x, 0, PLASTIC_STEPS) for x in f]) -
                                     np.mean([plasticity(x, 0, PLASTIC_STEPS) for x in r])), res['fst'], res['rl'], n_boot=a.n_boot)
    print(f"  B reward after {PLASTIC_STEPS} steps, FST start minus RL start: {d}   target > 0")
    print(f"\nwall time {time.time() - t0:.0f}s")

def _kl_cut(f, r, thr):
    kf, kr = kl_at_reward(f, thr), kl_at_reward(r, thr)
    return None if kf is None or kr is None or kr <= 0 else 1 - kf / kr

if __name__ == '__main__': main()
