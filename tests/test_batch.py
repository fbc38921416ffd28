"papermill batches over the run notebook, and the notebook's `parameters` cell surviving nbdev_clean."
import json, shutil, subprocess, sys
from pathlib import Path
import pytest
from fst_nb.batch import Sweep, run_batch

ROOT = Path(__file__).resolve().parent.parent
RUN_NB = ROOT/'nbs'/'runs'/'fst_run.ipynb'

def _tags(path): return [c.get('metadata', {}).get('tags', []) for c in json.loads(Path(path).read_text())['cells']]

def test_parameters_cell_survives_nbdev_clean(tmp_path):
    for name in ('settings.ini',): shutil.copy(ROOT/name, tmp_path/name)
    (tmp_path/'nbs').mkdir(); nb = tmp_path/'nbs'/'fst_run.ipynb'
    d = json.loads(RUN_NB.read_text())
    d['cells'][1]['metadata'].update({'scrolled': True, 'papermill': {'duration': 1.0}})   # junk nbdev_clean removes
    d['cells'][1]['execution_count'] = 3
    nb.write_text(json.dumps(d))
    subprocess.run([str(Path(sys.executable).parent/'nbdev_clean'), '--fname', str(nb)], cwd=tmp_path, check=True)
    tags = _tags(nb)
    assert ['parameters'] in tags
    cell = json.loads(nb.read_text())['cells'][tags.index(['parameters'])]
    assert cell['metadata'] == {'tags': ['parameters']} and cell['execution_count'] is None

@pytest.mark.slow
def test_batch_grid_with_one_invalid_point(tmp_path):
    # mode rl keeps each point to a kernel start and a few seconds of work: the batch mechanics are what is tested here
    base = dict(mode='rl', model='tiny', cycles=1, rl_steps=1, problems=1, max_new_tokens=8, eval_problems=2, decompose=False,
                verbose=False)
    sweep = Sweep(grid={'G': [4, 8], 'pool_k': [4, 6]}, seeds=[0], base=base, notebook=str(RUN_NB))
    res = run_batch(sweep, tmp_path/'batch', progress=False)
    assert sorted(res.ok) == ['G=4__pool_k=4__seed=0', 'G=8__pool_k=4__seed=0', 'G=8__pool_k=6__seed=0']
    bad = res.failed['G=4__pool_k=6__seed=0']
    assert bad['reason'].startswith('ConfigError') and 'pool_k=6 must be <= G=4' in bad['reason']
    assert Path(bad['notebook']).exists()                                   # the partial output notebook is kept
    for name in res.ok: assert (tmp_path/'batch'/name/'ckpt-00000001').is_dir()
    assert 'FAILED G=4__pool_k=6__seed=0' in res.summary()
