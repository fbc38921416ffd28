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

def _gpu_check():
    "bench/gpu_check.py as a module (it is a script, not part of the package)."
    import importlib.util
    spec = importlib.util.spec_from_file_location('gpu_check', ROOT/'bench'/'gpu_check.py')
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return mod

def test_gpu_check_fails_when_nvidia_smi_sees_a_gpu_torch_cannot_use(monkeypatch, capsys):
    gc = _gpu_check()
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(gc, 'nvidia_smi_gpus', lambda: ['GPU 0: NVIDIA A10G (UUID: GPU-1234)'])
    assert gc.main([]) == gc.GPU_UNUSABLE != 0
    out = capsys.readouterr().out
    assert 'FAILED, nvidia-smi lists 1 GPU(s) (GPU 0: NVIDIA A10G' in out and f"torch {torch.__version__}" in out
    monkeypatch.setattr(gc, 'nvidia_smi_gpus', lambda: [])      # no GPU at all: the clean skip
    assert gc.main([]) == 0 and 'SKIPPED, no CUDA GPU here' in capsys.readouterr().out

def test_nvidia_smi_gpus_reads_the_listing(monkeypatch):
    from types import SimpleNamespace as NS
    gc = _gpu_check()
    monkeypatch.setattr(gc.shutil, 'which', lambda name: '/usr/bin/nvidia-smi')
    listing = 'GPU 0: NVIDIA A10G (UUID: GPU-1)\nGPU 1: NVIDIA A10G (UUID: GPU-2)\n'
    assert gc.nvidia_smi_gpus(lambda *a, **k: NS(returncode=0, stdout=listing)) == listing.strip().split('\n')
    assert gc.nvidia_smi_gpus(lambda *a, **k: NS(returncode=9, stdout='NVIDIA-SMI has failed')) == []
    monkeypatch.setattr(gc.shutil, 'which', lambda name: None)
    assert gc.nvidia_smi_gpus() == []

def test_gpu_check_cycle_needs_kept_groups_and_a_sync():
    gc = _gpu_check()
    row = lambda kept: {'kind': 'train', 'backend': 'unsloth', 'groups_kept': kept}
    ok, info = gc.cycle_verdict([row(0), row(0)], 0, 2)             # train rows, but nothing learned: FAIL
    assert not ok and 'every group had a single reward' in info
    assert not gc.cycle_verdict([row(1), row(0)], 0, 2)[0]          # a step but no engine sync: FAIL
    assert gc.cycle_verdict([row(1), row(0)], 1, 2) == (True, '2 CISPO steps, 1 informative groups kept, engine synced 1x')
    assert not gc.cycle_verdict([row(2)], 1, 2)[0]                  # a step missing

def test_gpu_check_rho_scores_in_chunks(monkeypatch):
    "The rho stages score through score_logprobs (score_rows sequences, logp_chunk logits a pass): no [B, T, V] top-p sort."
    from types import SimpleNamespace as NS
    import fst_nb.cispo as C
    from fst_nb.models import load_policy
    from fst_nb.rollout import HFBackend, Sampling
    gc, pol = _gpu_check(), load_policy('tiny')
    s = Sampling(temperature=0.8, top_p=0.95, max_new_tokens=12, seed=0)
    ro = HFBackend(pol).generate([[{'role': 'user', 'content': f'path {i}'}] for i in range(4)], 2, s)
    V = pol.model.config.vocab_size
    run = NS(trainer=NS(tok=pol.tokenizer, device=pol.device, model=pol.model, cfg=NS(score_rows=3, logp_chunk=4 * V)))
    seen, sorts, real_sort = [], [], torch.Tensor.sort
    real = C.score_logprobs
    monkeypatch.setattr(C, 'score_logprobs', lambda *a: seen.append(a[-2:]) or real(*a))
    monkeypatch.setattr(torch.Tensor, 'sort', lambda t, *a, **k: sorts.append(t.numel()) or real_sort(t, *a, **k))
    mean, mx = gc._rho(run, ro, s)
    assert seen == [(3, 4 * V)] and sorts and max(sorts) <= 4 * V < len(ro) * 12 * V
    assert mean < 1e-4 and mx < 1e-3                                # on-policy, same fp32 model: rho = 1

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
