"""Pipelined rollouts (`TrainConfig.max_staleness`, notebook 04_cispo): max_staleness 0 is the old sequential loop bit
for bit; with k >= 1 no group is ever more than k weight versions stale (and k is reached); a changed prompt pool
drops what was sampled for the old one; a run interrupted mid-pipeline resumes without losing or repeating a step
(metrics equal an uninterrupted run's, row for row); 2 gloo ranks under torchrun agree on the prefetch, train the
weights one process trains, and resume a mid-pipeline checkpoint by sampling the next step anew."""
import hashlib, json, subprocess, sys, textwrap
from pathlib import Path
from types import SimpleNamespace
import pytest
import torch
from fst_nb.core import RunDir
from fst_nb.models import load_policy
from fst_nb.cispo import CISPOTrainer, TrainConfig

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
REF = ROOT/'tests'/'data'/'pipeline_k0_reference.json'
TIMING = {'time', 'step_time', 'gen_time', 'tokens_per_s', 'eval_time', 'update_time'}

class Parity:
    "Reward 1 when the completion has an even number of characters: groups are informative from the start."
    data = [{'id': str(i), 'q': f'Say {i} things.'} for i in range(10)]
    def examples(self, split='train', n=None, seed=0): return self.data[:n]
    def messages(self, ex, context=None):
        return ([{'role': 'system', 'content': context}] if context else []) + [{'role': 'user', 'content': ex['q']}]
    def score_batch(self, comps, exs): return [SimpleNamespace(score=float(len(c) % 2 == 0), feedback='') for c in comps]

def _trainer(k, steps=3, root=None, lora_r=0, **kw):
    cfg = TrainConfig(**{**dict(steps=steps, problems=2, G=4, lr=3e-3, warmup_steps=1, max_new_tokens=12, beta=0.01,
                             eval_every=0, seed=7, max_staleness=k), **kw})
    run = RunDir.create(cfg, root=root, name='run', exist_ok=True) if root else None
    torch.manual_seed(0)
    pol = load_policy('tiny', lora={'r': lora_r, 'alpha': 2 * lora_r} if lora_r else None)
    return CISPOTrainer(pol, Parity(), cfg, run=run, pool=['Be brief.', 'Go.'], verbose=False)

def _strip(rows): return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]

@pytest.fixture
def one_thread():
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

def _cpu():
    out = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
    return (next((l.split(':', 1)[1].strip() for l in out.splitlines() if l.startswith('Model name')), '?'),
            sorted({f for f in out.split() if f.startswith(('amx', 'avx512', 'avx2', 'fma'))}))

def test_staleness_zero_is_the_old_loop_bit_for_bit(one_thread):
    "3 steps at max_staleness 0 log what the code before max_staleness logged (commit 7353e23) and end on its weights."
    ref = json.loads(REF.read_text())
    if (torch.__version__, *_cpu()) != (ref['torch'], ref['cpu'], ref['cpu_flags']):
        pytest.skip(f"the reference was recorded with torch {ref['torch']} on {ref['cpu']} ({' '.join(ref['cpu_flags'])}); "
                    "float results are bit-exact only on the same build and CPU")
    tr = _trainer(0)
    rows = _strip(tr.train_step() for _ in range(3))
    assert [r.pop('staleness') for r in rows] == [[0, 0]] * 3
    assert [r.pop('policy_version') for r in rows] == [[0, 0], [1, 1], [2, 2]]
    assert [r.pop('groups_resampled') for r in rows] == [0, 0, 0]   # a recipe field added after the reference (zero_var='keep')
    assert rows == ref['rows']
    h = hashlib.sha256()
    for k, v in sorted(tr.model.state_dict().items()): h.update(k.encode()); h.update(v.detach().contiguous().numpy().tobytes())
    assert h.hexdigest() == ref['weights_sha256']
    assert tr._prefetch is None   # no thread, no copy

@pytest.mark.parametrize('k', [1, 2])
def test_staleness_never_exceeds_the_bound(k, one_thread):
    tr = _trainer(k, steps=6)
    rows = tr.train()
    versions = [sum(r['groups_kept'] > 0 for r in rows[:i]) for i in range(len(rows))]   # the trainer's, at each step
    for i, r in enumerate(rows):
        assert r['staleness'] == [versions[i] - v for v in r['policy_version']]
        assert 0 <= min(r['staleness']) <= max(r['staleness']) <= k, (i, r['staleness'])
        assert min(r['policy_version']) >= versions[max(i - k, 0)]   # sampled on weights no older than step i − k's
    assert max(max(r['staleness']) for r in rows) == k           # the bound is reached, so the check above could fail
    fresh = [r for r in rows if max(r['staleness']) == 0 and r['groups_kept']]
    stale = [r for r in rows if min(r['staleness']) > 0 and r['groups_kept']]
    assert all(abs(r['ratio_mean'] - 1) < 1e-4 for r in fresh)
    assert any(r['ratio_max'] - r['ratio_min'] > 1e-2 for r in stale)   # off-policy samples are reweighted, not ignored
    assert tr.prefetch.ahead == {} and tr.prefetch.dropped == 0
    with torch.no_grad():                                          # the thread's copy holds the trainer's weights
        assert all(torch.equal(p, q) for p, q in zip(tr.prefetch.engine.model.parameters(), tr.model.parameters()))

def test_lora_copy_follows_the_adapter_and_a_new_pool_resamples(one_thread):
    tr = _trainer(1, steps=4, lora_r=4)
    rows = [tr.train_step() for _ in range(2)]
    assert rows[1]['staleness'] == [int(rows[0]['groups_kept'] > 0)] * 2
    live = {n: p for n, p in tr.model.named_parameters() if p.requires_grad}
    copy = dict(tr.prefetch.engine.model.named_parameters())
    assert live and all(torch.equal(p, copy[n]) for n, p in live.items())
    tr.pool = ['Count the things.']                                # what FST's GEPA round does between cycles
    row = tr.train_step()
    assert row['staleness'] == [0, 0] and tr.prefetch.dropped == 1   # sampled anew for the new pool, on current weights

def test_interrupted_mid_pipeline_resumes_without_losing_or_repeating_a_step(tmp_path, one_thread):
    kw = dict(ckpt_every=2, eval_every=3, eval_problems=3)
    full = _trainer(1, 8, tmp_path/'full', **kw)
    full.train()
    cut = _trainer(1, 8, tmp_path/'cut', **kw)
    batches = cut.batches
    def stop(*a):
        if cut.step == 5: raise KeyboardInterrupt   # inside the 6th step, after its fill: step 7 is being sampled
        return batches(*a)
    cut.batches = stop
    with pytest.raises(KeyboardInterrupt): cut.train()
    assert sorted(cut.prefetch.ahead) == [6]
    cut.prefetch.close()
    ck = RunDir(tmp_path/'cut'/'run').checkpoints()[-1]
    assert sorted(torch.load(ck/'state.pt', weights_only=False)['ahead']) == [4]   # step 5's groups, sampled in step 4
    again = _trainer(1, 8, tmp_path/'cut', **kw)
    assert again.resume() == 4
    again.train()
    want, got = _strip(RunDir(tmp_path/'full'/'run').read()), _strip(RunDir(tmp_path/'cut'/'run').read())
    assert [r['step'] for r in got if r['kind'] == 'train'] == list(range(1, 9))   # none lost, none repeated
    assert max(max(r['staleness']) for r in got if r['kind'] == 'train') == 1
    assert got == want   # exact: the resumed run trains step 5 on the groups the uninterrupted run sampled for it

DDP = textwrap.dedent('''
    import json, hashlib, sys
    from pathlib import Path
    from types import SimpleNamespace
    import torch
    torch.set_num_threads(1)
    from fst_nb import dist
    from fst_nb.models import load_policy
    from fst_nb.cispo import CISPOTrainer, TrainConfig
    from fst_nb.rollout import ScriptedBackend

    WORDS = ['yes', 'no no', 'maybe so', 'ok', 'fine then', 'sure', 'a b c d', 'nope']
    def reply(c): return WORDS[int(hashlib.md5(json.dumps(c).encode()).hexdigest(), 16) % len(WORDS)]

    class Parity:
        data = [{'id': str(i), 'q': f'Say {i} things.'} for i in range(12)]
        def examples(self, split='train', n=None, seed=0): return self.data[:n]
        def messages(self, ex, context=None):
            return ([{'role': 'system', 'content': context}] if context else []) + [{'role': 'user', 'content': ex['q']}]
        def score_batch(self, comps, exs): return [SimpleNamespace(score=float(len(c) % 2 == 0), feedback='') for c in comps]

    out = Path(sys.argv[1]); out.mkdir(exist_ok=True)
    dist.init_distributed()
    tag = 'ddp' if dist.active() else 'single'
    try:
        pol = load_policy('tiny')
        cfg = TrainConfig(steps=4, problems=4, G=4, lr=3e-3, warmup_steps=0, max_new_tokens=8, beta=0.01, eval_every=0,
                          max_staleness=1)
        tr = CISPOTrainer(pol, Parity(), cfg, backend=ScriptedBackend(pol, reply), pool=['Be brief.', 'Count.', 'Go.'],
                          verbose=False)
        tr.horizon = cfg.steps
        rows = [tr.train_step() for _ in range(cfg.steps)]
        if dist.is_main():
            torch.save(pol.model.state_dict(), out/f'{tag}.pt')
            (out/f'{tag}-rows.json').write_text(json.dumps(rows))
        if dist.active():                      # a data-parallel checkpoint taken mid-pipeline, then resumed
            tr.horizon = None
            rows.append(tr.train_step())       # step 5 queues step 6 on every rank
            queued, s = sorted(tr.prefetch.ahead), tr.state()
            pol2 = load_policy('tiny')
            tr2 = CISPOTrainer(pol2, Parity(), cfg, backend=ScriptedBackend(pol2, reply), pool=['Be brief.', 'Count.', 'Go.'],
                               verbose=False)
            tr2.load_state(s)
            rows.append(tr2.train_step())      # every rank samples step 6 anew, on the restored weights
            if dist.is_main():
                (out/'resumed.json').write_text(json.dumps(dict(queued=queued, saved='ahead' in s, rows=rows[-2:])))
    finally: dist.shutdown()
''')

def test_two_gloo_ranks_agree_on_the_prefetch(tmp_path):
    "Under torchrun every rank fills the same steps and waits at the same barrier: no deadlock, one process's weights."
    import os
    from fst_nb.dist import torchrun_cmd
    script = tmp_path/'ddp.py'; script.write_text(DDP)
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(ROOT), 'TOKENIZERS_PARALLELISM': 'false'}
    single = subprocess.run([sys.executable, str(script), str(tmp_path)], env={**env, 'WORLD_SIZE': '1'},
                            capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]
    ddp = subprocess.run(torchrun_cmd(2, script, tmp_path), env=env, capture_output=True, text=True, timeout=300)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    a, b = (torch.load(tmp_path/f'{t}.pt') for t in ('single', 'ddp'))
    assert max((a[k] - b[k]).abs().max().item() for k in a) <= 1e-5
    ra, rb = (json.loads((tmp_path/f'{t}-rows.json').read_text()) for t in ('single', 'ddp'))
    assert [r['staleness'] for r in rb] == [r['staleness'] for r in ra]
    assert max(max(r['staleness']) for r in rb) == 1 and all(len(r['staleness']) == 4 for r in rb)   # every rank's groups
    assert all(abs(x['loss'] - y['loss']) < 1e-6 for x, y in zip(ra, rb))
    res = json.loads((tmp_path/'resumed.json').read_text())
    assert res['queued'] == [5] and not res['saved']                          # rank 0's checkpoint drops the queue ...
    assert [r['step'] for r in res['rows']] == [5, 6] and res['rows'][1]['staleness'] == [0] * 4   # ... and step 6 is resampled

def test_fst_cycles_pipeline_within_a_cycle_only(tmp_path, one_thread):
    "FSTConfig.max_staleness reaches the trainer; a cycle's last step samples nothing for the next (its GEPA round changes the pool)."
    from fst_nb.fst import FSTConfig, FSTRun
    from fst_nb.gepa import CallableLM
    cfg = FSTConfig(rl_steps=3, cycles=2, problems=2, G=4, pool_k=2, gepa_budget=6, minibatch=2, max_new_tokens=10,
                    eval_problems=2, decompose=False, verbose=False, max_staleness=1)
    run = FSTRun.create(cfg, root=tmp_path, name='fst')
    run.reflector = CallableLM(lambda p: "Answers lack a box.\n```\nAnswer with the path only, as \\boxed{a,b,c}.\n```")
    run.train()
    rows = [r for r in run.run_dir.read() if r['kind'] == 'train']
    assert run.trainer.cfg.max_staleness == 1 and [r['step'] for r in rows] == list(range(1, 7))
    assert [max(r['staleness']) for r in rows][::3] == [0, 0]                 # each cycle's first step: sampled on the spot
    assert all(max(r['staleness']) <= 1 for r in rows)
    assert run.trainer.prefetch.dropped == 0 and run.trainer.prefetch.ahead == {}
