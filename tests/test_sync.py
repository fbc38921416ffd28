"`make test`'s sync check fails, naming the module, when a notebook's exported cell was edited without exporting."
import json, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def _copy_project(dst):
    for name in ('settings.ini', 'nbs', 'fst_nb', 'tools', 'README.md'):
        src = ROOT/name
        if src.is_dir(): shutil.copytree(src, dst/name, ignore=shutil.ignore_patterns('__pycache__', '.ipynb_checkpoints'))
        else: shutil.copy(src, dst/name)

def _sync(cwd):
    return subprocess.run([sys.executable, str(cwd/'tools'/'sync_check.py')], cwd=cwd, capture_output=True, text=True)

def test_sync_check_passes_on_clean_copy(tmp_path):
    _copy_project(tmp_path)
    res = _sync(tmp_path)
    assert res.returncode == 0, res.stderr

def test_unexported_edit_fails_naming_module(tmp_path):
    _copy_project(tmp_path)
    nb_path = tmp_path/'nbs'/'00_core.ipynb'
    nb = json.loads(nb_path.read_text())
    cell = next(c for c in nb['cells'] if c['cell_type'] == 'code' and 'def seed_everything' in ''.join(c['source']))
    src = ''.join(cell['source'])
    cell['source'] = src.replace('random.seed(seed)', 'random.seed(seed + 1)')
    nb_path.write_text(json.dumps(nb, indent=1) + '\n')
    res = _sync(tmp_path)
    assert res.returncode != 0
    assert 'fst_nb/core.py' in res.stderr and 'nbdev_export' in res.stderr

def test_dirty_notebook_fails_naming_notebook(tmp_path):
    _copy_project(tmp_path)
    nb_path = tmp_path/'nbs'/'00_core.ipynb'
    nb = json.loads(nb_path.read_text())
    c = next(c for c in nb['cells'] if c['cell_type'] == 'code'); c['execution_count'] = 7; c['metadata']['scrolled'] = True
    nb_path.write_text(json.dumps(nb, indent=1) + '\n')
    res = _sync(tmp_path)
    assert res.returncode != 0 and 'nbs/00_core.ipynb' in res.stderr

def test_readme_out_of_step_fails(tmp_path):
    _copy_project(tmp_path)
    (tmp_path/'README.md').write_text((tmp_path/'README.md').read_text() + '\nhand edit\n')
    res = _sync(tmp_path)
    assert res.returncode != 0 and 'README.md differs from nbs/index.ipynb' in res.stderr
