"""Steps to the criterion of a warm-start recipe, per seed and thread count: the seed table of 03d_warmstart.

Each (seed, threads) pair trains in its own process with OMP_NUM_THREADS set, into a fresh folder (the user's cache is
never touched), and prints one row: met or not, steps, attempts, seconds, the last greedy check. `--set k=v` overrides a
field of the recipe (an experiment); the rows say which. Run pairs in parallel only if the wall times do not matter.

    PYTHONPATH=. .venv/bin/python bench/warm_seeds.py [--recipe tiny-star-rules] [--seeds 0 1 2 3 4] [--threads 1 2]
        [--set mix_steps=300 ...] [--out DIR]
"""
import argparse, json, os, platform, subprocess, sys, tempfile

def cpu_flags() -> str:
    "The CPU features the warm start's arithmetic depends on (bf16 and AMX instructions)."
    try: flags = open('/proc/cpuinfo').read().split('flags')[1].split('\n')[0].split()
    except (OSError, IndexError): return platform.processor() or 'unknown'
    return ', '.join(f for f in ('avx512_bf16', 'amx_bf16', 'avx512f', 'avx2') if f in flags) or 'none of avx2/avx512/amx'

def one(recipe: str, seed: int, overrides: dict, root: str) -> dict:
    "Train one warm start in this process; the row as a dict."
    import contextlib, torch
    from fst_nb.warmstart import WARM_MODELS, WarmStart, WarmStartFailed, warm_start
    spec = WarmStart(**{**WARM_MODELS[recipe], **overrides, 'seed': seed})
    try:
        with contextlib.redirect_stdout(sys.stderr):   # its progress lines go to the terminal, the row to the parent
            info = json.loads((warm_start(spec, root=root)/'warm_start.json').read_text())
        return {'met': True, 'steps': info['trained_steps'], 'attempts': info['attempts'], 'seconds': info['seconds'],
                'threads': torch.get_num_threads(), 'last': info['checks'][-1] if info['checks'] else {}}
    except WarmStartFailed as e:
        return {'met': False, 'threads': torch.get_num_threads(), 'error': str(e)}

def parse_sets(pairs: list[str]) -> dict:
    "`k=v` strings into typed overrides (the type of the WarmStart field)."
    from fst_nb.warmstart import WarmStart
    out = {}
    for p in pairs:
        k, _, v = p.partition('=')
        if k not in WarmStart.__dataclass_fields__:
            raise SystemExit(f"--set {p!r}: {k!r} is not a WarmStart field; fields: {', '.join(WarmStart.__dataclass_fields__)}")
        default = WarmStart.__dataclass_fields__[k].default
        out[k] = (v.lower() in ('1', 'true', 'yes')) if isinstance(default, bool) else type(default)(v)
    return out

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--recipe', default='tiny-star-rules')
    ap.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2, 3, 4])
    ap.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    ap.add_argument('--set', nargs='*', default=[], help='k=v overrides of the recipe')
    ap.add_argument('--out', default=None, help='folder for the models (default: a temporary one)')
    ap.add_argument('--one', nargs=2, type=int, help=argparse.SUPPRESS)   # internal: seed, threads (child process)
    a = ap.parse_args(argv)
    overrides = parse_sets(a.set)
    if a.one:
        print('ROW ' + json.dumps(one(a.recipe, a.one[0], overrides, a.out)), flush=True); return
    from fst_nb.warmstart import WARM_MODELS
    if a.recipe not in WARM_MODELS: raise SystemExit(f"--recipe {a.recipe!r}: choose one of {', '.join(WARM_MODELS)}")
    out = a.out or tempfile.mkdtemp(prefix='warm-seeds-')
    print(f"recipe {a.recipe} {overrides or ''} | CPU flags: {cpu_flags()} | models in {out}")
    print('| seed | threads | met | steps | attempts | seconds | last check |\n|---|---|---|---|---|---|---|', flush=True)
    for seed in a.seeds:
        for t in a.threads:
            env = {**os.environ, 'OMP_NUM_THREADS': str(t)}
            cmd = [sys.executable, __file__, '--recipe', a.recipe, '--one', str(seed), str(t), '--out', f'{out}/t{t}',
                   *(['--set', *a.set] if a.set else [])]
            res = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=None, text=True)   # progress shows as it comes
            rows = [l[4:] for l in res.stdout.splitlines() if l.startswith('ROW ')]
            if not rows: print(f"| {seed} | {t} | crashed (exit {res.returncode}; its error is above) |", flush=True); continue
            r = json.loads(rows[0])
            last = ' '.join(f'{k} {v:.2f}' for k, v in r.get('last', {}).items() if k not in ('step', 'attempt', 'reward'))
            print(f"| {seed} | {r['threads']} | {'yes' if r['met'] else 'NO'} | {r.get('steps', '-')} | {r.get('attempts', '-')} | "
                  f"{r.get('seconds', '-')} | {last or r.get('error', '')[:160]} |", flush=True)

if __name__ == '__main__':
    main()
