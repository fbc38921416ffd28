"""Wall time of a 4-job sweep of the real run notebook (nbs/runs/fst_run.ipynb) on a local Ray cluster vs the sequential batch.

The sweep: G in {4, 8} x seeds {0, 1}, each job an RL run of the tiny policy (mode rl, `--cycles` cycles of one RL step on one
problem, a 2-problem evaluation), with OMP_NUM_THREADS=1 so a job uses one core. Sequential: `run_batch(sweep, out)`, one job
after another. Ray: a local cluster of `--cpus` CPUs, each job a task asking for num_cpus=1, so `--cpus` jobs run at once.
Both in one run, sequential first; the comparison reports are not written (the same seconds on both sides). Prints each
side's wall time, the ratio, the Ray start-up time (counted in the Ray wall time: `fst batch --ray` pays it too), the load
average and the CPU.

    PYTHONPATH=. OMP_NUM_THREADS=1 .venv/bin/python bench/ray_sweep.py [--cpus 2] [--cycles 1]

Measured 2026-11-30 on the 2-core machine (AMD EPYC, avx512_bf16, no AMX), quiet (load average 1.4, nothing else running), `--cycles 3`: sequential 33.5 s
(jobs 7.9 s), Ray 26.5 s (start-up 8.4 s, jobs 7.5 s) -> 1.26x; 1.85x without start-up; 1.65 jobs at once.

Measured 2026-11-30 on the 2-core AMD EPYC (avx512_bf16, no AMX), shared with other work (load average 2.6 to 6), four
runs of `--cycles 3` (jobs 8 to 15 s): speed-up 1.20x, 0.82x, 0.43x, 1.07x with Ray's start-up (10 to 31 s) counted,
1.82x, 1.49x, 0.61x, 1.70x without it; 1.6 to 1.8 jobs running at once. On 2 cores the ceiling is 2x on the jobs, minus Ray's fixed
start-up; on a cluster of N GPUs a sweep of GPU runs takes about ceil(jobs / N) runs' time.
"""
import argparse, os, shutil, tempfile, time
from pathlib import Path
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('RAY_USAGE_STATS_ENABLED', '0')
from fst_nb.batch import Sweep, run_batch

ROOT = Path(__file__).resolve().parent.parent

def cpu_line() -> str:
    info = Path('/proc/cpuinfo').read_text()
    model = next((l.split(':', 1)[1].strip() for l in info.splitlines() if l.startswith('model name')), '?')
    flags = set(next((l.split(':', 1)[1].split() for l in info.splitlines() if l.startswith('flags')), []))
    return (f"{model}, {os.cpu_count()} cores, avx512_bf16={'avx512_bf16' in flags}, "
            f"amx={any(f.startswith('amx') for f in flags)}")

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--cpus', type=int, default=2, help='CPUs of the local Ray cluster (default 2)')
    ap.add_argument('--cycles', type=int, default=1, help='cycles per job (default 1)')
    a = ap.parse_args()
    base = dict(mode='rl', model='tiny', cycles=a.cycles, rl_steps=1, problems=1, max_new_tokens=8, eval_problems=2,
                decompose=False, verbose=False)
    sweep = Sweep(grid={'G': [4, 8]}, seeds=[0, 1], base=base, notebook=str(ROOT/'nbs'/'runs'/'fst_run.ipynb'))
    tmp = Path(tempfile.mkdtemp(prefix='ray_sweep_'))
    print(f"CPU: {cpu_line()}; load average before: {os.getloadavg()[0]:.2f}")

    t0 = time.perf_counter()
    seq = run_batch(sweep, tmp/'seq', progress=False, report=False)
    t_seq = time.perf_counter() - t0

    import ray
    t0 = time.perf_counter()
    ray.init(num_cpus=a.cpus, include_dashboard=False, log_to_driver=False)
    t_up = time.perf_counter() - t0
    try: par = run_batch(sweep, tmp/'ray', ray=True, report=False)
    finally: ray.shutdown()
    t_ray = time.perf_counter() - t0
    shutil.rmtree(tmp)
    assert len(seq.ok) == len(par.ok) == 4, (seq.summary(), par.summary())

    job_seq, job_ray = (sum(r['seconds'] for r in b.runs.values()) for b in (seq, par))
    print(f"\n4 jobs: sequential {t_seq:.1f} s (jobs {job_seq / 4:.1f} s each), Ray on {a.cpus} CPUs {t_ray:.1f} s "
          f"(start-up {t_up:.1f} s, jobs {job_ray / 4:.1f} s each) -> {t_seq / t_ray:.2f}x; without start-up "
          f"{t_seq / (t_ray - t_up):.2f}x (ideal {min(a.cpus, 4)}x); jobs running at once on Ray: {job_ray / (t_ray - t_up):.2f} "
          f"on average; load average after: {os.getloadavg()[0]:.2f}")

if __name__ == '__main__': main()
