"End-to-end FST runs on CPU: the three modes, a two-task continual sequence, and kill -9 + resume."
import json, os, signal, subprocess, sys, textwrap, time
from pathlib import Path
import pytest

pytestmark = pytest.mark.slow   # minutes of CPU; the 06_fst notebook covers each verb in the fast run
from fst_nb.core import RunDir
from fst_nb.fst import FSTConfig, FSTRun
from fst_nb.gepa import CallableLM

TINY = dict(rl_steps=2, problems=2, G=4, pool_k=2, gepa_budget=10, minibatch=2, max_new_tokens=10, eval_problems=4,
            verbose=False)
REPLY = "Answers lack a box.\n```\nAnswer with the path only, as \\boxed{a,b,c}.\n```"

def _run(tmp_path, **kw):
    run = FSTRun.create(FSTConfig(**{**TINY, **kw}), root=tmp_path, name=kw.get('mode', 'fst'))
    if run.reflector is not None: run.reflector = CallableLM(lambda p: REPLY)   # scripted reflection LM
    return run.train()

@pytest.mark.parametrize('mode', ['fst', 'rl', 'gepa'])
def test_modes_end_to_end(tmp_path, mode):
    run = _run(tmp_path, mode=mode, cycles=2)
    rows = run.run_dir.read()
    kinds = [r['kind'] for r in rows]
    assert kinds.count('train') == (0 if mode == 'gepa' else 4)
    assert kinds.count('gepa') == (0 if mode == 'rl' else 2)
    assert kinds.count('decomp') == 4
    assert [p.name for p in run.run_dir.checkpoints()] == ['ckpt-00000001', 'ckpt-00000002']
    steps = [r['step'] for r in rows if r['kind'] == 'train']
    assert steps == sorted(set(steps))                            # one row per RL step
    if mode == 'gepa': assert run.backend.version == 0 and run.samples_seen == 0  # frozen weights
    else: assert run.samples_seen == 4 * 2 * 4
    evals = [r for r in rows if r['kind'] == 'eval']
    assert {r['cycle'] for r in evals} == {0, 1, 2}              # before training, then after each cycle
    assert all(0 <= r['reward_mean'] <= 1 for r in evals)

def test_continual_two_tasks(tmp_path):
    run = _run(tmp_path, mode='fst', sequence='star_graph:tiny:2,math:small:2', max_new_tokens=8)
    rows = run.run_dir.read()
    train_tasks = [r['task'] for r in rows if r['kind'] == 'train']
    assert train_tasks == ['star_graph', 'star_graph', 'math', 'math']
    evals = [r for r in rows if r['kind'] == 'eval']
    first = {r['task'] for r in evals if r['cycle'] == 0}
    assert first == {'star_graph', 'math'}                        # the current task and the next (plasticity)
    last = {r['task'] for r in evals if r['cycle'] == 2}
    assert last == {'star_graph', 'math'}                         # every task seen so far (forgetting)
    assert run.done and run.state['phase'] == 2
    from fst_nb.analysis import forgetting_matrix
    phases, tasks, m = forgetting_matrix(rows)                  # held-out reward on each task after each phase
    assert phases == ['0:star_graph:tiny', '1:math:small'] and set(tasks) == {'star_graph', 'math'}
    assert all(v is not None for row in m for v in row)

SCRIPT = textwrap.dedent('''
    import sys
    from fst_nb.fst import FSTConfig, FSTRun
    from fst_nb.gepa import CallableLM
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == 'new':
        cfg = FSTConfig(cycles=4, rl_steps=2, problems=2, G=4, pool_k=2, gepa_budget=10, minibatch=2, max_new_tokens=10,
                        eval_problems=4, verbose=False)
        run = FSTRun.create(cfg, run_dir=path)
    else: run = FSTRun.resume(path)
    run.reflector = CallableLM(lambda p: "Box it.\\n```\\nGive the path as \\\\boxed{a,b,c}.\\n```")
    run.train()
''')

def test_kill_mid_cycle_and_resume(tmp_path):
    path = tmp_path/'run'
    env = {**os.environ, 'PYTHONPATH': str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen([sys.executable, '-c', SCRIPT, 'new', str(path)], env=env)
    rd, t0 = RunDir(path), time.time()
    while time.time() - t0 < 300:   # wait until cycle 2 is under way (after checkpoint 1), then kill -9
        if any(r.get('cycle') == 2 and r['kind'] == 'train' for r in rd.read()): break
        if proc.poll() is not None: pytest.fail('the run ended before it could be killed')
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL); proc.wait()
    killed_rows = rd.read()
    assert any(r['cycle'] == 2 for r in killed_rows)
    subprocess.run([sys.executable, '-c', SCRIPT, 'resume', str(path)], env=env, check=True, timeout=600)
    rows = rd.read()
    train = [r for r in rows if r['kind'] == 'train']
    assert [r['step'] for r in train] == list(range(1, 9))      # complete and unique
    assert [r['samples_seen'] for r in train] == [8 * i for i in range(1, 9)]
    gepa = [r for r in rows if r['kind'] == 'gepa']
    assert [r['cycle'] for r in gepa] == [1, 2, 3, 4]
    evals = [(r['cycle'], r['task'], r['prompt']) for r in rows if r['kind'] == 'eval']
    assert len(evals) == len(set(evals))
    assert sum(r['kind'] == 'decomp' for r in rows) == 4
    assert [p.name for p in rd.checkpoints()][-1] == 'ckpt-00000004'
