"papermill batches over the run notebook, and the notebook's `parameters` cell surviving nbdev_clean."
import json, re, shutil, subprocess, sys
from pathlib import Path
import pytest
from fst_nb.batch import Sweep, run_batch, job_resources, check_fits
from fst_nb.core import ConfigError

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
    assert res.report == tmp_path/'batch'/'report'                           # one comparison report over the three ok runs
    md = (res.report/'report.md').read_text()
    assert all(f'{name}' in md for name in res.ok) and 'G=4__pool_k=6__seed=0' not in md

def test_job_resources_from_the_config(tmp_path):
    from fst_nb.presets import PRESETS, needs_gpu, missing
    for name in [n for n in PRESETS if not missing(n)]:   # the GPU presets (gpu-*, paper-*) ask Ray for a GPU, the CPU ones do not
        assert job_resources({'config': name, 'seed': 0}) == {'num_cpus': 1, 'num_gpus': int(needs_gpu(name))}
    assert all(needs_gpu(n) == n.startswith('gpu-') for n in PRESETS if not n.startswith('paper-'))
    assert job_resources({'config': 'quick', 'backend': 'unsloth', 'lora_r': 16})['num_gpus'] == 1   # parameters override the preset
    assert job_resources({'config': 'gpu-star', 'backend': 'hf', 'device': 'cpu'})['num_gpus'] == 0
    (tmp_path/'c.yaml').write_text('mode: rl\ndevice: cuda:1\n')
    assert job_resources({'config': 'c.yaml'}, cwd=tmp_path)['num_gpus'] == 1                # a config file, relative to cwd
    assert job_resources({'config': 'gpu-star'}, {'num_gpus': 0.5}) == {'num_cpus': 1, 'num_gpus': 0.5}
    assert Sweep.from_dict({'resources': {'num_cpus': 2, 'num_gpus': 0}}).resources == {'num_cpus': 2, 'num_gpus': 0}
    for bad, msg in [({'gpu': 1}, "no key 'gpu'; valid keys: num_cpus, num_gpus"), ({'num_cpus': '2'}, "['num_cpus']='2' must be a number"),
                     ({'num_gpus': -0.5}, "['num_gpus']=-0.5 must be a number >= 0"), ({'num_gpus': True}, "must be a number")]:
        with pytest.raises(ConfigError, match=re.escape(msg)): Sweep(resources=bad)

def test_check_fits_per_node():
    check_fits({'a': {'num_cpus': 4, 'num_gpus': 1}}, [{'CPU': 2.0, 'GPU': 1.0}, {'CPU': 8.0, 'GPU': 2.0}])
    with pytest.raises(ConfigError, match=r"job a asks Ray for num_cpus=4, num_gpus=1 but no node has that"):
        check_fits({'a': {'num_cpus': 4, 'num_gpus': 1}}, [{'CPU': 2.0, 'GPU': 1.0}, {'CPU': 8.0}])   # enough in total, not on one node

def test_local_batch_does_not_import_ray(tmp_path):
    code = ("import sys, nbformat; from pathlib import Path; from fst_nb.batch import Sweep, run_batch\n"
            "nb = nbformat.v4.new_notebook(); nb.cells = [nbformat.v4.new_code_cell('x = 1\\nseed = 0\\nrun_dir = None', metadata={'tags': ['parameters']})]\n"
            "nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}\n"
            f"p = Path({str(tmp_path)!r}); nbformat.write(nb, p/'t.ipynb')\n"
            "res = run_batch(Sweep(grid={'x': [1]}, notebook=str(p/'t.ipynb')), p/'out', progress=False, log=lambda s: None)\n"
            "assert res.ok == ['x=1__seed=0'] and res.report is None; print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'False'
    assert 'without encryption' not in out.stderr, out.stderr   # the job's kernel is on Unix sockets, not TCP (batch._ipc_kernel)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['out', 't.ipynb']   # and leaves no socket files next to the notebook

def test_ray_flag_without_ray_installed(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'ray', None)                           # `import ray` fails as if it were not installed
    (tmp_path/'t.ipynb').write_text('{}')
    with pytest.raises(ConfigError, match=re.escape("ray='auto' needs Ray, which is not installed: pip install 'ray>=2.40,<3'")):
        run_batch(Sweep(grid={'x': [1]}, notebook=str(tmp_path/'t.ipynb')), tmp_path/'out', ray='auto', log=lambda s: None)
    assert not (tmp_path/'out'/'x=1__seed=0.ipynb').exists()
