"""Slow test: FST-distill moves a stated convention into the weights (mode 'distill' on the house-rules testbed).

Testbed: `star_rules` with the hidden rule set A (separator ';', '<answer>…</answer>', 'node 7', terminator '.'), the silent
seed prompt `RULES_SEED`, `tiny-star-rules` (warm-started to follow conventions stated in its system prompt; cached) and
the model-free `feedback` reflector. One GEPA cycle on frozen weights writes A's conventions into the prompt; then
DISTILL_STEPS on-policy reverse-KL steps train the policy, under the silent seed prompt, towards the start weights
under that evolved prompt. Silent compliance is the share of sampled answers (T = 1, 64 held-out graphs × 2) under the
seed prompt that follow every convention of A; the start weights almost never do (about 1/48 of the silent answers
follow any one rule set).

Measured 2026-12-04 on the 2-core CPU (`avx512_bf16`, no AMX; OMP_NUM_THREADS=1) with `tiny-star-rules` (03d_warmstart's
recipe that stops on its criterion), run seed 0 from each of the five warm starts of its seed table
(`python tests/test_distill.py --warm W 0`), silent compliance before → after: 0.000 → 0.734, 0.023 → 0.898,
0.016 → 0.938, 0.016 → 0.836, 0.039 → 0.844 (warm starts 0-4); raise min +0.734. With the previous recipe
(`tiny-star-rules-v1`, 2026-12-03) run seeds 0-4 gave raises +0.477..+0.594, and a warm start of it that learned the
separator only to 0.66 gave +0.305 and +0.250; MARGIN stays under two thirds of the smallest raise over all of these.
The test runs seed 0: 26 s on a shared machine.
"""
import tempfile
from pathlib import Path
import pytest

DISTILL_STEPS, MARGIN = 8, 0.15
SETTINGS = dict(mode='distill', cycles=1, rl_steps=4, distill_steps=DISTILL_STEPS, eval_problems=8, eval_samples=1,
                decompose=False, verbose=False)

def silent_compliance(policy, seed: int, n: int = 64, samples: int = 2) -> float:
    "Share of sampled answers under the silent seed prompt that follow every convention of rule set A."
    from fst_nb.rollout import HFBackend, Sampling
    from fst_nb.rules import PRESETS, RULES_SEED, check_rules
    from fst_nb.tasks import get_task
    task = get_task('star_rules', preset='A')
    exs = task.examples('test', n=n, seed=seed)
    ro = HFBackend(policy).generate([task.messages(e, RULES_SEED) for e in exs], samples, Sampling(1.0, 1.0, 16, seed=seed))
    return sum(all(check_rules(t, PRESETS['A']).values()) for t in ro.texts) / len(ro.texts)

def run(seed: int = 0, root=None, warm_seed: int = 0) -> dict:
    "Silent compliance with A before and after a distill run of the `quick` preset, and the evolved (teacher) prompt."
    from fst_nb.fst import FSTRun
    from fst_nb.presets import load_config
    run = FSTRun.create(load_config('quick', {**SETTINGS, 'seed': seed, 'warm_seed': warm_seed}), root=Path(root or tempfile.mkdtemp()), name=f'distill-s{seed}')
    ref = {n: p.detach().clone() for n, p in run.trainer.ref.named_parameters()}
    before = silent_compliance(run.policy, 1000 + seed)
    run.train()
    after = silent_compliance(run.policy, 1000 + seed)
    kl = [r['kl_teacher'] for r in run.run_dir.read() if r.get('objective') == 'distill']
    same = all(p.equal(ref[n]) for n, p in run.trainer.ref.named_parameters())
    return dict(before=before, after=after, teacher=run.prompts[0], kl=kl, teacher_unchanged=same)

@pytest.mark.slow
def test_distill_raises_silent_compliance(tmp_path):
    r = run(0, tmp_path)
    print(f"silent compliance with A: {r['before']:.3f} -> {r['after']:.3f}; KL to teacher {r['kl'][0]:.3f} -> {r['kl'][-1]:.3f}")
    assert "Separate the nodes with ';'" in r['teacher'], r['teacher']      # the fast loop found A's separator
    assert r['teacher_unchanged'], 'the teacher (start weights) changed'
    assert r['kl'][-1] < r['kl'][0], r['kl']
    assert r['after'] - r['before'] >= MARGIN, f"silent compliance {r['before']:.3f} -> {r['after']:.3f}: raise < {MARGIN}"

if __name__ == '__main__':   # the figures for the note: python tests/test_distill.py [--warm W] SEED...
    import statistics, sys, time
    args, ups = sys.argv[1:], []
    w = int(args.pop(args.index('--warm') + 1)) if '--warm' in args else 0
    if '--warm' in args: args.remove('--warm')
    for s in map(int, args or ['0']):
        t0 = time.time(); r = run(s, warm_seed=w); ups.append(r['after'] - r['before'])
        print(f"warm start {w}, seed {s}: silent compliance {r['before']:.3f} -> {r['after']:.3f} (+{ups[-1]:.3f}); KL to teacher "
              f"{r['kl'][0]:.3f} -> {r['kl'][-1]:.3f}; teacher unchanged {r['teacher_unchanged']}; {time.time() - t0:.0f}s", flush=True)
    if len(ups) > 1: print(f"raise: mean {statistics.mean(ups):.3f}, sd {statistics.stdev(ups):.3f}, min {min(ups):.3f}, max {max(ups):.3f}")
