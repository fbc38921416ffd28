"Warm starts: processes racing to build one train it once; the house-rules warm start trains and is measured."
import subprocess, sys
import pytest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Bounds measured over the five warm starts of `tiny-star-rules` (seeds 0-4, 2026-12-04, 03d_warmstart's seed table; the
# figures in brackets are the five seeds' worst), each set below it so that another draw of the recipe passes as these did:
B_AFTER_A = 0.8   # stated compliance with B after 16 FST steps on A [0.88; before: 0.92-0.98]
STATED_MIN = 0.9  # every stated rule and all together, sampled at T = 1 on 100 held-out graphs x 2 [0.955]
SOURCE_MIN = 0.9  # answers start at the source (T = 1) [0.955]
SHARE_MAX = 4 / 48   # the most common rule set under a silent prompt [0.055; uniform: 1/48]
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

def test_rules_warm_start_runs_and_is_measured(tmp_path, monkeypatch):
    "A few house-rules steps train and save a model that `rules_compliance` can measure (numbers checked in the slow test)."
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    from fst_nb.warmstart import WarmStart, warm_start, rules_compliance
    path = warm_start(WarmStart(preset='easy', rules=True, steps=2, batch=4), root=tmp_path, verbose=False)
    assert path.name.startswith('tiny-warm-easy-rules-') and (path/'config.json').exists()
    c = rules_compliance(path, n=3, samples=1, silent_n=3, silent_samples=1, max_new_tokens=6)
    assert all(0.0 <= v <= 1.0 for v in c['stated'].values()) and c['silent']['n'] == 3

@pytest.mark.slow
def test_rules_warm_start_reads_its_context():
    """The cached 'tiny-star-rules' model met its criterion, follows rules stated in held-out wordings (sampled at T = 1
    as RL does), answers from the source, and spreads its conventions under a silent prompt (RL alone has a small chance)."""
    import json
    from fst_nb.fst import resolve_model
    from fst_nb.warmstart import rules_compliance
    path = resolve_model('tiny-star-rules')
    info = json.loads((Path(path)/'warm_start.json').read_text())
    assert info['met'] and len(info['checks']) >= 2, info.get('checks')   # it stopped on its criterion, two checks in a row
    assert all(v >= info['target'] for k, v in info['checks'][-1].items() if k in ('sep', 'wrap', 'prefix', 'end')), info['checks'][-1]
    c = rules_compliance(path, n=100, samples=2)
    print(c)
    assert min(c['stated'][k] for k in ('sep', 'wrap', 'prefix', 'end', 'full')) >= STATED_MIN, c['stated']
    assert c['stated']['source'] >= SOURCE_MIN, c['stated']   # the arm at T = 1 (0.805-0.88) is printed: RL's to sharpen
    s = c['silent']
    assert s['valid'] >= 0.5 and s['distinct'] >= 40 and s['max_share'] <= SHARE_MAX, s   # of 48 rule sets

@pytest.mark.slow
def test_reading_survives_training_on_one_rule_set(tmp_path):
    """After the `quick` preset's 16 FST steps on rule set A, the policy still follows another rule set (B) when a prompt
    states it: training under A's stated rules must not teach the weights A's conventions in place of reading."""
    from fst_nb.fst import FSTRun
    from fst_nb.presets import load_config
    from fst_nb.rules import PRESETS
    from fst_nb.warmstart import rules_compliance
    run = FSTRun.create(load_config('quick', {'decompose': False, 'verbose': False}), root=tmp_path)
    measure = lambda: rules_compliance(run.policy, n=50, samples=2, silent_n=0, rule_set=PRESETS['B'])['stated']
    before = measure()
    run.train()
    after = measure()
    print('B stated, before', before, 'after 16 FST steps on A', after)
    assert before['full'] >= 0.9 and after['full'] >= B_AFTER_A, (before, after)
