"""Wall time of `write_report` on synthetic runs shaped like `fst compare quick --seeds 3`: 2 modes x 3 seeds, 5
evaluations each (4 cycles of 128 RL samples; fst adds 48 GEPA metric calls per cycle), rewards in steps of 1/64 (32
problems x 2 samples). Cases: `flat` (RL and FST both stay at 0-0.03), `rl-flat` (RL flat, FST rises to ~0.4),
`rising` (both rise, FST 3x faster). Default 1,000 bootstrap resamples, as `fst compare` uses.
Usage: python bench/report_speed.py [--n-boot 1000] [--cases flat,rl-flat,rising] [--seeds 3]

Measured 2026-12-03 on the idle 2-core machine (OMP_NUM_THREADS=1), before (commit 598121e: a saturating fit per
bootstrap resample, every resample computed) → after (each distinct resample once, no resample fits where the point
fit is unidentified): flat 20.7 → 1.2 s (the first case includes importing plotly/scipy), rl-flat 18.6 → 0.3 s,
rising 22.6 → 0.5 s; `--cases rising --seeds 10` 24.2 → 9.0 s. Before runs with the old library on the path:
`git archive 598121e fst_nb | tar -x -C /tmp/old`, then run this file with /tmp/old first on sys.path.
"""
import argparse, json, tempfile, time
from pathlib import Path
import numpy as np
from fst_nb.analysis import synthetic_run, saturating
from fst_nb.report import write_report

def _runs(case, seeds=3):
    rng = np.random.default_rng(0)
    flat = lambda s: 0.0
    rise = lambda c_mid: (lambda s: float(saturating(s, .6, c_mid, 1.5, 0.)))
    shape = {'flat': (flat, flat), 'rl-flat': (flat, rise(150)), 'rising': (rise(600), rise(200))}[case]
    out = []
    for mode, f in zip(('rl', 'fst'), shape):
        for seed in range(seeds):
            run = synthetic_run(f, per_cycle=128, cycles=4, mode=mode, seed=seed, pool=mode == 'fst',
                                gepa_per_cycle=48 if mode == 'fst' else 0, kl=lambda s: s / 20000)
            for r in run.rows:   # binomial evaluation noise: 64 samples per evaluation
                r['reward_mean'] = float(rng.binomial(64, min(max(r['reward_mean'], 0.), 1.) * .97 + .01) / 64)
                r['n_problems'] = 32
            out.append(run)
    return out

def _write(run, root: Path) -> Path:
    d = root/run.name; d.mkdir(parents=True)
    (d/'config.json').write_text(json.dumps(run.config))
    (d/'metrics.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in run.rows))
    return d

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--n-boot', type=int, default=1000)
    ap.add_argument('--cases', default='flat,rl-flat,rising')
    ap.add_argument('--seeds', type=int, default=3)
    a = ap.parse_args()
    for case in a.cases.split(','):
        root = Path(tempfile.mkdtemp())
        dirs = [_write(r, root/'runs') for r in _runs(case, a.seeds)]
        t0 = time.perf_counter()
        out = write_report(dirs, root/'report', n_boot=a.n_boot)
        dt = time.perf_counter() - t0
        summary = (out/'summary.md').read_text().split('## Held-out reward per cycle')[0]
        print(f"{case}: write_report {dt:.1f} s (n_boot={a.n_boot}, {a.seeds} seeds per mode)\n{summary}")
