"The GPU path checked on CPU: backend selection in a run, the GPU check's skip, and (slow) the gpu extra's resolve."
import json, os, subprocess, sys, warnings
from configparser import ConfigParser
from pathlib import Path
import pytest, torch
from packaging.version import Version
from fst_nb.core import ConfigError
from fst_nb.fst import FSTConfig, FSTRun
from fst_nb.rollout import _has, resolve_backend

ROOT = Path(__file__).resolve().parent.parent
SMALL = dict(cycles=1, rl_steps=1, problems=2, G=4, pool_k=1, max_new_tokens=8, eval_problems=2, mode='rl', verbose=False,
             decompose=False)

@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the no-GPU errors')
def test_named_backend_fails_before_the_model_loads(tmp_path, monkeypatch):
    import fst_nb.fst as fst
    loaded = []
    monkeypatch.setattr(fst, 'load_policy', lambda *a, **k: loaded.append(a) or pytest.fail('model loaded'))
    with pytest.raises(ConfigError, match="needs an NVIDIA GPU"):
        FSTRun.create(FSTConfig(backend='unsloth', lora_r=8, **SMALL), root=tmp_path/'u')
    if not _has('vllm'):
        with pytest.raises(ConfigError, match="make vllm-setup"):
            FSTRun.create(FSTConfig(backend='vllm', **SMALL), root=tmp_path/'v')
    assert loaded == []
    assert not (tmp_path/'u').exists() and not (tmp_path/'v').exists()   # and leaves no empty run directory

def test_auto_says_what_it_uses_and_records_it(tmp_path):
    used, note = resolve_backend('auto')
    if used != 'hf': pytest.skip(f"'auto' means {used!r} here (this test checks the fall-back to hf)")
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        run = FSTRun.create(FSTConfig(backend='auto', **SMALL), root=tmp_path)
    assert run.backend_used == 'hf' and run.backend.note == note and note
    assert any("backend 'auto' uses 'hf'" in str(w.message) for w in ws)
    row = run.rl_step()
    assert row['backend'] == 'hf'
    assert [r['backend'] for r in run.run_dir.read() if r['kind'] == 'train'] == ['hf']

def test_named_hf_runs_where_asked(tmp_path):
    run = FSTRun.create(FSTConfig(backend='hf', device='cpu', dtype='float32', **SMALL), root=tmp_path)
    assert (run.backend_used, run.backend.note, run.policy.device.type, run.policy.dtype) == ('hf', '', 'cpu', torch.float32)

def test_gpu_check_without_a_gpu_skips_cleanly():
    if torch.cuda.is_available(): pytest.skip('a GPU is present: run `make gpu-check`')
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1'}
    p = subprocess.run([sys.executable, str(ROOT/'bench'/'gpu_check.py')], capture_output=True, text=True, env=env,
                       timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert 'SKIPPED, no CUDA GPU here' in p.stdout and 'nothing was run' in p.stdout
    assert f"torch {torch.__version__}" in p.stdout and "backend 'unsloth':" in p.stdout   # the stack is printed first

def gpu_requirements() -> list[str]:
    "What `make setup` installs on a GPU box: the core, dev and gpu requirements of settings.ini, plus torch 2.14.0."
    c = ConfigParser(delimiters=['=']); c.read(ROOT/'settings.ini')
    d = c['DEFAULT']
    return ['torch==2.14.0'] + d['requirements'].split() + d['dev_requirements'].split() + d['gpu_requirements'].split()

def test_gpu_requirements_pin_the_read_versions():
    reqs = gpu_requirements()
    for pin in ('unsloth==2026.10.9', 'unsloth_zoo==2026.10.9', 'vllm>=0.33.0,<0.34', 'torch==2.14.0', 'trl==1.15.0'):
        assert pin in reqs, pin
    assert 'trl==1.16.0' not in reqs   # unsloth 2026.10.9 needs trl<=1.15.0; the dev extra pins the same trl
    assert '"torch==2.14.0"' in (ROOT/'Makefile').read_text()

@pytest.mark.slow
def test_gpu_extra_resolves(tmp_path):
    "pip's resolver (dry run, nothing installed) picks unsloth 2026.10.x, vllm 0.33.x and torch 2.14.0 for the GPU set."
    report = tmp_path/'report.json'
    p = subprocess.run([sys.executable, '-m', 'pip', 'install', '--dry-run', '--ignore-installed', '--quiet', '--report',
                        str(report), *gpu_requirements()], capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, p.stderr[-3000:]
    got = {i['metadata']['name'].lower().replace('_', '-'): i['metadata']['version']
           for i in json.loads(report.read_text())['install']}
    assert got['unsloth'].startswith('2026.10.') and got['unsloth-zoo'].startswith('2026.10.'), got.get('unsloth')
    assert got['vllm'].startswith('0.33.') and got['torch'] == '2.14.0', (got['vllm'], got['torch'])
    assert got['trl'] == '1.15.0' and Version(got['transformers']) <= Version('5.17.0'), (got['trl'], got['transformers'])
