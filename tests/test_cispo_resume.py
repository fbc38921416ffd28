"Kill a CISPO run with SIGKILL mid-run, resume it, and the metrics equal an uninterrupted run's, row for row."
import json, signal, subprocess, sys, textwrap, time
from pathlib import Path
import pytest
from fst_nb.core import read_jsonl

SCRIPT = textwrap.dedent('''
    import sys
    from types import SimpleNamespace
    import torch
    torch.set_num_threads(1)
    from fst_nb.core import RunDir
    from fst_nb.models import load_policy
    from fst_nb.cispo import CISPOTrainer, TrainConfig

    class Parity:
        "Reward 1 when the completion has an even number of characters: groups are informative from the start."
        data = [{'id': str(i), 'q': f'Say {i} things.'} for i in range(10)]
        def examples(self, split='train', n=None, seed=0): return self.data[:n]
        def messages(self, ex, context=None):
            return ([{'role': 'system', 'content': context}] if context else []) + [{'role': 'user', 'content': ex['q']}]
        def score_batch(self, comps, exs): return [SimpleNamespace(score=float(len(c) % 2 == 0), feedback='') for c in comps]

    cfg = TrainConfig(steps=int(sys.argv[2]), problems=2, G=4, lr=3e-3, warmup_steps=2, max_new_tokens=12, beta=0.01,
                      eval_every=3, eval_problems=3, ckpt_every=2, grad_accum=2, seed=7)
    run = RunDir.create(cfg, root=sys.argv[1], name='run', exist_ok=True)
    tr = CISPOTrainer(load_policy('tiny'), Parity(), cfg, run=run, pool=['Be brief.', 'Count.', 'Go.'], verbose=False)
    tr.resume()
    tr.train()
''')
TIMING = {'time', 'step_time', 'gen_time', 'tokens_per_s', 'eval_time'}

def _start(root, steps): return subprocess.Popen([sys.executable, '-c', SCRIPT, str(root), str(steps)])

def _rows(root): return [{k: v for k, v in r.items() if k not in TIMING} for r in read_jsonl(Path(root)/'run'/'metrics.jsonl')]

def _train_steps(root): return [r['step'] for r in _rows(root) if r['kind'] == 'train']

@pytest.mark.slow
def test_sigkill_and_resume_gives_identical_metrics(tmp_path):
    steps = 8
    full, cut = tmp_path/'full', tmp_path/'cut'
    ref = _start(full, steps)
    proc = _start(cut, steps)
    deadline = time.time() + 600
    while len(_train_steps(cut)) < 5 and time.time() < deadline and proc.poll() is None: time.sleep(0.05)
    assert proc.poll() is None, 'the run finished before it could be killed'
    proc.send_signal(signal.SIGKILL); proc.wait()
    killed_at = _train_steps(cut)
    assert 5 <= len(killed_at) < steps
    assert ref.wait() == 0
    assert _start(cut, steps).wait() == 0
    want, got = _rows(full), _rows(cut)
    assert [r['step'] for r in want if r['kind'] == 'train'] == list(range(1, steps + 1))
    assert sum(r['groups_kept'] for r in want if r['kind'] == 'train') > 0, 'some steps must update the weights'
    assert got == want   # exact: same losses, rewards, clip fractions, KL, held-out reward, step for step
