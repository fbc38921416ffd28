"""The paper presets: every one validates, every GPU one fits its GPU per `memory.plan`, `fst run --list` lists them, and
one CPU cycle of every -tiny twin (slow). Every preset finds what it needs in this install (`presets.missing` is empty)."""
import contextlib, io, tempfile
from pathlib import Path
import pytest
from fst_nb.presets import PRESETS, PRESET_INFO, GPU_ONLY, TWIN_SCALE, load_config, missing, needs_gpu

ROOT = Path(__file__).resolve().parent.parent
PAPER = [n for n in PRESETS if n.startswith('paper-') and not n.endswith('-tiny')]
TWINS = [n + '-tiny' for n in PAPER]
RECIPE = ('mode', 'tau', 'beta', 'adv_norm', 'zero_var', 'pass_ceiling', 'mask_truncated', 'fp32_head', 'thinking', 'seed_prompt')

def _check_nothing_missing(name):
    assert not missing(name), f"{name} needs {', '.join(missing(name))}"

def test_every_paper_experiment_has_a_gpu_preset_and_a_cpu_twin():
    assert PAPER == ['paper-math', 'paper-codeio', 'paper-hover', 'paper-physics', 'paper-star', 'paper-continual', 'paper-distill']
    for g, t in zip(PAPER, TWINS):
        assert t in PRESETS and needs_gpu(g) and not needs_gpu(t), (g, t)
        assert PRESET_INFO[g].gpu_mem in (24, 80) and PRESET_INFO[t].gpu_mem == 0
        for k in RECIPE: assert PRESETS[t].get(k) == PRESETS[g].get(k) or (g, k) == ('paper-star', 'seed_prompt'), (t, k)
        assert not set(PRESETS[t]) & set(GPU_ONLY) and PRESETS[t]['reflection_lm'] == 'feedback'
    assert PRESETS['paper-star']['model'] == 'Qwen/Qwen3-1.7B' and PRESETS['paper-star']['thinking'] is False
    assert all(PRESETS[g]['model'] == 'Qwen/Qwen3-8B' and PRESETS[g]['thinking'] for g in PAPER if g != 'paper-star')
    assert [p.split(':')[0] for p in PRESETS['paper-continual']['sequence'].split(',')] == ['hover', 'codeio', 'physics']
    assert [p.split(':')[0] for p in PRESETS['paper-continual-tiny']['sequence'].split(',')] == ['hover', 'codeio', 'physics']
    assert PRESETS['paper-distill']['mode'] == 'distill' and PRESET_INFO['paper-distill'].modes == ('distill', 'fst', 'rl')

@pytest.mark.parametrize('name', list(PRESETS))
def test_preset_validates(name):
    _check_nothing_missing(name)
    cfg = load_config(name)
    assert cfg.model == PRESETS[name].get('model', 'tiny')

@pytest.mark.parametrize('name', [n for n in PRESETS if needs_gpu(n)])
def test_gpu_preset_fits_its_gpu(name):
    _check_nothing_missing(name)
    from fst_nb.memory import plan
    info = PRESET_INFO[name]
    lens = [info.prompt_len or None]          # the length it was sized for, and the measured one where the data is here
    if info.prompt_len and not any(ph.preset == 'full' for ph in load_config(name).phases()): lens.append(None)
    for n in lens:
        p = plan(name, info.gpu_mem, prompt_len=n)
        assert p.fits, str(p)
        if PRESETS[name].get('fp32_head'): assert p.shape['lw'] == 4, str(p)   # the fp32 head's logits at 4 bytes
        assert p.peak <= 0.8 * info.gpu_mem if name.startswith('paper-') else True, str(p)   # room for what plan does not count

def test_reproduce_notebook_is_a_batch_job():
    "reproduce_paper.ipynb has the papermill parameters a batch job passes (config, run_dir, seed) and exports nothing."
    import json
    cells = json.loads((ROOT/'nbs'/'runs'/'reproduce_paper.ipynb').read_text())['cells']
    params = [c for c in cells if c['metadata'].get('tags') == ['parameters']]
    assert len(params) == 1
    names = [l.split('=')[0].strip() for l in ''.join(params[0]['source']).splitlines() if '=' in l]
    assert {'config', 'run_dir', 'seed', 'n_seeds', 'modes'} <= set(names)
    assert not any('#| default_exp' in ''.join(c['source']) for c in cells)
    assert (ROOT/'nbs'/'runs'/'.notest').exists()                        # nbdev_test does not run it; the slow test does

def test_run_list_prints_every_preset():
    from fst_nb.cli import main
    with contextlib.redirect_stdout(io.StringIO()) as out: assert main(['run', '--list']) == 0
    lines = out.getvalue().splitlines()
    assert [l.split()[0] for l in lines] == list(PRESETS)
    for l, n in zip(lines, PRESETS):
        assert PRESET_INFO[n].what[:40] in l and PRESETS[n].get('model', 'tiny') in l
        assert (' GPU ' in l) == needs_gpu(n) and (' CPU ' in l) != needs_gpu(n)

def _one_cycle(name, tmp_path):
    "Run twin `name` for one cycle (a continual twin: one cycle per phase), then its 2×2; return the run's rows."
    from fst_nb.fst import FSTRun
    over = {'verbose': False} if PRESETS[name].get('sequence') else {'cycles': 1, 'verbose': False}
    run = FSTRun.create(load_config(name, over), run_dir=tmp_path/name).train()
    return run.run_dir.read()

@pytest.mark.slow
@pytest.mark.parametrize('name', [t for t in TWINS if t != 'paper-star-tiny'])
def test_twin_runs_one_cycle(name, tmp_path):
    _check_nothing_missing(name)
    rows = _one_cycle(name, tmp_path)
    kinds = [r.get('kind') for r in rows]
    cfg = load_config(name)
    steps = sum(ph.steps for ph in cfg.phases()) if cfg.sequence else cfg.rl_steps
    assert kinds.count('gepa') >= 1                                      # the fast loop ran
    if cfg.mode == 'fst':                                                # one round a cycle, and every RL step
        assert kinds.count('gepa') == (len(cfg.phases()) if cfg.sequence else 1) and kinds.count('train') == steps
    assert kinds.count('decomp') == 4                                    # the 2×2

@pytest.mark.slow
def test_reproduce_notebook_on_the_star_twin(tmp_path):
    "reproduce_paper.ipynb through the batch machinery (papermill): the star twin's FST and RL runs, report, paper table."
    _check_nothing_missing('paper-star-tiny')
    from fst_nb.batch import Sweep, run_batch
    sweep = Sweep(grid={'config': ['paper-star-tiny']}, base={'cycles': 1, 'verbose': False},
                  notebook=str(ROOT/'nbs'/'runs'/'reproduce_paper.ipynb'))
    res = run_batch(sweep, tmp_path/'b', progress=False, log=lambda s: None)
    assert res.ok == ['config=paper-star-tiny__seed=0'], res.summary()
    out = tmp_path/'b'/'config=paper-star-tiny__seed=0'
    assert sorted(p.name for p in out.iterdir()) == ['fst-s0', 'report', 'rl-s0']
    paper = (out/'report'/'paper.md').read_text()
    assert 'Not comparable to the paper' in paper and 'pass@1 % — both' in paper
    assert '2×2 decomposition: fst' in (out/'report'/'report.md').read_text()
