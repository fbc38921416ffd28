"Processes racing to build the same warm start train it once: the others wait on the lock and reuse the result."
import subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ("import sys; from fst_nb.warmstart import WarmStart, warm_start; "
          "print('OUT', warm_start(WarmStart(steps=3, batch=2), root=sys.argv[1]))")

def test_concurrent_warm_starts_train_once(tmp_path):
    env = {'PYTHONPATH': str(ROOT), 'PATH': '/usr/bin:/bin', 'HF_HUB_OFFLINE': '1', 'OMP_NUM_THREADS': '1',
           'FST_NB_CACHE': str(tmp_path/'cache')}
    procs = [subprocess.Popen([sys.executable, '-c', SCRIPT, str(tmp_path/'models')], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) for _ in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert sum(o.count('warm-start step') for o in outs) == 2        # steps 0 and 2 of ONE training (verbose prints both)
    paths = {l.split('OUT ', 1)[1] for o in outs for l in o.splitlines() if l.startswith('OUT ')}
    assert len(paths) == 1 and (Path(paths.pop())/'config.json').exists()
