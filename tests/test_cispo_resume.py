"""Kill a CISPO run with SIGKILL mid-run, resume it, and the metrics equal an uninterrupted run's, row for row (full
fine-tuning and LoRA); a LoRA checkpoint holds the adapter and its optimizer state, not the base weights."""
import json, signal, subprocess, sys, textwrap, time
from types import SimpleNamespace
from pathlib import Path
import pytest
import torch
from fst_nb.core import RunDir, read_jsonl

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
    r = int(sys.argv[3])
    torch.manual_seed(0)   # the same LoRA init in both runs (a resumed run loads its adapter over it)
    pol = load_policy('tiny', lora={'r': r, 'alpha': 2 * r} if r else None)
    tr = CISPOTrainer(pol, Parity(), cfg, run=run, pool=['Be brief.', 'Count.', 'Go.'], verbose=False)
    tr.resume()
    tr.train()
''')
TIMING = {'time', 'step_time', 'gen_time', 'tokens_per_s', 'eval_time'}

def _start(root, steps, lora_r=0): return subprocess.Popen([sys.executable, '-c', SCRIPT, str(root), str(steps), str(lora_r)])

def _rows(root): return [{k: v for k, v in r.items() if k not in TIMING} for r in read_jsonl(Path(root)/'run'/'metrics.jsonl')]

def _train_steps(root): return [r['step'] for r in _rows(root) if r['kind'] == 'train']

@pytest.mark.slow
@pytest.mark.parametrize('lora_r', [0, 4])
def test_sigkill_and_resume_gives_identical_metrics(tmp_path, lora_r):
    steps = 8
    full, cut = tmp_path/'full', tmp_path/'cut'
    ref = _start(full, steps, lora_r)
    proc = _start(cut, steps, lora_r)
    deadline = time.time() + 600
    while len(_train_steps(cut)) < 5 and time.time() < deadline and proc.poll() is None: time.sleep(0.05)
    assert proc.poll() is None, 'the run finished before it could be killed'
    proc.send_signal(signal.SIGKILL); proc.wait()
    killed_at = _train_steps(cut)
    assert 5 <= len(killed_at) < steps
    assert ref.wait() == 0
    assert _start(cut, steps, lora_r).wait() == 0
    want, got = _rows(full), _rows(cut)
    assert [r['step'] for r in want if r['kind'] == 'train'] == list(range(1, steps + 1))
    assert sum(r['groups_kept'] for r in want if r['kind'] == 'train') > 0, 'some steps must update the weights'
    assert got == want   # exact: same losses, rewards, clip fractions, KL, held-out reward, step for step

class Parity:
    "Reward 1 when the completion has an even number of characters."
    data = [{'id': str(i), 'q': f'Say {i} things.'} for i in range(10)]
    def examples(self, split='train', n=None, seed=0): return self.data[:n]
    def messages(self, ex, context=None):
        return ([{'role': 'system', 'content': context}] if context else []) + [{'role': 'user', 'content': ex['q']}]
    def score_batch(self, comps, exs): return [SimpleNamespace(score=float(len(c) % 2 == 0), feedback='') for c in comps]

def _trainer(root, lora_r, steps=4, **recipe):
    from fst_nb.cispo import CISPOTrainer, TrainConfig
    from fst_nb.models import load_policy
    cfg = TrainConfig(**{**dict(steps=steps, problems=2, G=4, lr=3e-3, warmup_steps=1, max_new_tokens=12, beta=0.01,
                                eval_every=2, eval_problems=3, ckpt_every=1, seed=7), **recipe})
    torch.manual_seed(0)   # the same LoRA init in every trainer of this process (a fresh process starts from one seed)
    pol = load_policy('tiny', lora={'r': lora_r, 'alpha': 2 * lora_r} if lora_r else None)
    run = RunDir.create(cfg, root=root, name='run', exist_ok=True)
    return CISPOTrainer(pol, Parity(), cfg, run=run, pool=['Be brief.', 'Go.'], verbose=False), run

def _strip(rows): return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]

def test_lora_checkpoint_is_the_adapter_and_resumes_exactly(tmp_path):
    full, run = _trainer(tmp_path/'full', 4)
    full.train()
    cut, crun = _trainer(tmp_path/'cut', 4)
    cut.train(2)
    again, crun = _trainer(tmp_path/'cut', 4)
    assert again.resume() == 2
    again.train()
    assert _strip(crun.read()) == _strip(run.read())
    assert sum(r['groups_kept'] for r in run.read() if r['kind'] == 'train') > 0, 'some steps must update the adapter'
    trained = lambda t: {n: p for n, p in t.model.named_parameters() if p.requires_grad}
    assert all(torch.equal(p, trained(full)[n]) for n, p in trained(again).items())
    s = torch.load(run.checkpoints()[-1]/'state.pt', weights_only=False)
    assert 'model' not in s and s['adapter'] and all('lora_' in k for k in s['adapter'])
    assert s['base']['name'] == 'tiny' and Path(s['base']['path']).name.startswith('tiny-')   # the built-in's folder
    model_bytes = sum(p.numel() * p.element_size() for p in full.model.parameters())
    ck_bytes = (run.checkpoints()[-1]/'state.pt').stat().st_size   # adapter + AdamW moments + the rest
    assert ck_bytes < model_bytes / 5, (ck_bytes, model_bytes)

def test_full_finetuning_checkpoint_keeps_the_weights(tmp_path):
    tr, run = _trainer(tmp_path/'ft', 0, steps=1)
    tr.train()
    s = torch.load(run.checkpoints()[-1]/'state.pt', weights_only=False)
    assert 'adapter' not in s and set(s['model']) == set(tr.model.state_dict())
    model_bytes = sum(p.numel() * p.element_size() for p in tr.model.parameters())
    assert (run.checkpoints()[-1]/'state.pt').stat().st_size > model_bytes

RECIPE = dict(G=2, eval_every=0, adv_norm='batch', zero_var='resample', resample_tries=2, pass_ceiling=0.5, pass_window=2,
              mask_truncated=True, fp32_head=True)   # G=2: groups with equal rewards are common, so resampling happens

def test_recipe_settings_resume_exactly(tmp_path):
    "Every recipe knob on: a run cut after 2 steps and resumed logs what an uninterrupted run logs; the dropped set is saved."
    full, run = _trainer(tmp_path/'full', 0, **RECIPE)
    full.train()
    cut, _ = _trainer(tmp_path/'cut', 0, **RECIPE)
    cut.train(2)
    again, crun = _trainer(tmp_path/'cut', 0, **RECIPE)
    assert again.resume() == 2 and again.dropped == cut.dropped and again.pass_hist == cut.pass_hist
    again.train()
    assert _strip(crun.read()) == _strip(run.read())
    train = [r for r in run.read() if r['kind'] == 'train']
    assert train[-1]['problems_dropped'] > 0 and sum(r['groups_resampled'] for r in train) > 0   # the knobs acted
    assert all('truncated_masked' in r and 'resample_capped' in r for r in train)
    s = torch.load(run.checkpoints()[-1]/'state.pt', weights_only=False)
    assert {k: set(v) for k, v in s['dropped'].items()} == full.dropped and again.dropped == full.dropped
