"A 2 × 2 sweep on a real local Ray cluster (2 CPUs): one job fails, the other three finish, the same files as the local batch."
import json, os
from pathlib import Path
import pytest
nbformat = pytest.importorskip('nbformat')
ray = pytest.importorskip('ray')
from fst_nb.batch import Sweep, run_batch

pytestmark = pytest.mark.slow

TOY = '''import json, os, time
from pathlib import Path
Path(run_dir).mkdir(parents=True, exist_ok=True)
(Path(run_dir)/'result.json').write_text(json.dumps({'value': x * 10 + seed, 'start': time.time()}))
print('wrote', x * 10 + seed)'''

def toy_notebook(path):
    "Parameters x, seed, run_dir; writes run_dir/result.json, then x=2 with seed=1 raises; the last cell stamps the end."
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('x = 1\nseed = 0\nrun_dir = None', metadata={'tags': ['parameters']}),
                nbformat.v4.new_code_cell(TOY),
                nbformat.v4.new_code_cell('time.sleep(1.5)\nif (x, seed) == (2, 1): raise RuntimeError(f"x={x} seed={seed} fails on purpose")'),
                nbformat.v4.new_code_cell("(Path(run_dir)/'end').write_text(str(time.time()))\nprint('finished')")]
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nbformat.write(nb, path); return path

BAD = 'x=2__seed=1'

def test_run_batch_starts_and_stops_its_own_cluster(tmp_path):
    assert not ray.is_initialized()
    sweep = Sweep(grid={'x': [1]}, seeds=[0, 1], notebook=str(toy_notebook(tmp_path/'toy.ipynb')))
    res = run_batch(sweep, tmp_path/'out', ray='local', log=lambda s: None)
    assert sorted(res.ok) == ['x=1__seed=0', 'x=1__seed=1'] and _results(tmp_path/'out') == {'x=1__seed=0': 10, 'x=1__seed=1': 11}
    assert not ray.is_initialized()                                          # the cluster it started is gone

@pytest.fixture(scope='module')
def cluster():
    os.environ.setdefault('RAY_USAGE_STATS_ENABLED', '0')
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()

def _results(out):
    return {p.parent.name: json.loads(p.read_text())['value'] for p in Path(out).glob('*/result.json')}

def test_ray_sweep_with_one_failure(tmp_path, cluster):
    sweep = Sweep(grid={'x': [1, 2]}, seeds=[0, 1], notebook=str(toy_notebook(tmp_path/'toy.ipynb')))
    lines, written = [], []
    def log(line):   # batch.json is on disk before each progress line: a driver that dies loses no finished job
        lines.append(line)
        if line.startswith('['): written.append(len(json.loads((tmp_path/'ray'/'batch.json').read_text())))
    res = run_batch(sweep, tmp_path/'ray', ray=True, log=log)
    assert written == [1, 2, 3, 4]
    assert sorted(res.ok) == ['x=1__seed=0', 'x=1__seed=1', 'x=2__seed=0']
    assert list(res.failed) == [BAD]
    assert any(l.startswith('ray: 4 jobs on a cluster of 2 CPUs') for l in lines)
    assert f'FAILED {BAD}: RuntimeError: x=2 seed=1 fails on purpose' in res.summary()
    status = json.loads((tmp_path/'ray'/'batch.json').read_text())           # on disk, as each job finished
    assert {k: v['status'] for k, v in status.items()} == {**{k: 'ok' for k in res.ok}, BAD: 'failed'}
    assert status[BAD]['reason'] == 'RuntimeError: x=2 seed=1 fails on purpose'
    # the partial notebook of the failed job: the cells before the failure ran, the one after did not
    cells = nbformat.read(status[BAD]['notebook'], as_version=4).cells
    code = [c for c in cells if c.cell_type == 'code' and 'injected-parameters' not in c.metadata.get('tags', [])]
    assert 'wrote 21' in ''.join(o.get('text', '') for o in code[1].outputs)
    assert any(o.get('ename') == 'RuntimeError' for o in code[2].outputs)
    assert code[3].outputs == [] and not (tmp_path/'ray'/BAD/'end').exists()
    # two CPUs: Ray ran jobs side by side (some two of the three finished jobs overlap in time)
    spans = sorted((json.loads((tmp_path/'ray'/k/'result.json').read_text())['start'], float((tmp_path/'ray'/k/'end').read_text()))
                   for k in res.ok)
    assert any(b[0] < a[1] for a, b in zip(spans, spans[1:]))
    # the same run directories and statuses as the local batch of the same sweep
    local = run_batch(sweep, tmp_path/'local', progress=False, log=lambda s: None)
    assert _results(tmp_path/'ray') == _results(tmp_path/'local') == {'x=1__seed=0': 10, 'x=1__seed=1': 11, 'x=2__seed=0': 20, BAD: 21}
    assert {k: (v['status'], v['reason']) for k, v in local.runs.items()} == {k: (v['status'], v['reason']) for k, v in res.runs.items()}
    assert sorted(p.name for p in (tmp_path/'ray').iterdir()) == sorted(p.name for p in (tmp_path/'local').iterdir())
    # a rerun skips the three done jobs and tries the failed one again
    lines = []
    again = run_batch(sweep, tmp_path/'ray', ray=True, log=lines.append)
    assert sorted(l.split(':')[0] for l in lines if 'done before, skipped' in l) == sorted(res.ok)
    assert any(l.startswith('ray: 1 jobs') for l in lines) and again.failed.keys() == {BAD}
    assert ray.is_initialized()                                              # a cluster run_batch did not start stays up

def test_ray_refuses_a_job_no_node_can_hold(tmp_path, cluster):
    sweep = Sweep(grid={'x': [1]}, notebook=str(toy_notebook(tmp_path/'toy.ipynb')), resources={'num_gpus': 1})
    with pytest.raises(Exception, match=r"job x=1__seed=0 asks Ray for num_cpus=1, num_gpus=1 but no node has that"):
        run_batch(sweep, tmp_path/'out', ray=True, log=lambda s: None)
    assert not (tmp_path/'out'/'x=1__seed=0.ipynb').exists()               # nothing started

def test_a_dead_worker_is_a_failed_job(tmp_path, cluster):
    "The job's kernel kills the Ray worker that runs it (as the OOM killer would): recorded as failed, the other job finishes."
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('x = 1\nseed = 0\nrun_dir = None', metadata={'tags': ['parameters']}),
                nbformat.v4.new_code_cell('import os, signal\nif x == 2: os.kill(os.getppid(), signal.SIGKILL)\nprint("alive")')]
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nbformat.write(nb, tmp_path/'kill.ipynb')
    res = run_batch(Sweep(grid={'x': [1, 2]}, notebook=str(tmp_path/'kill.ipynb')), tmp_path/'out', ray=True, log=lambda s: None)
    assert res.ok == ['x=1__seed=0'] and list(res.failed) == ['x=2__seed=0']
    bad = json.loads((tmp_path/'out'/'batch.json').read_text())['x=2__seed=0']
    assert bad['status'] == 'failed' and 'Worker' in bad['reason'] and bad['seconds'] is None, bad
