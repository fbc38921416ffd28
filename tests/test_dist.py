"""Data-parallel CISPO under torchrun: 2 gloo ranks on CPU train the same weights as one process.

Both runs use a scripted backend: each completion is a fixed function of its conversation (some problems answer the same
whatever the system prompt says, so their groups are uninformative and some rank-steps run no backward at all), and its
behaviour log-probs come from the model itself, so the CISPO ratio is exact. The rollouts are then identical however
the problems are split, and the final weights must agree to 1e-5 in float32, the CPU default (measured: 1.2e-7, while
the weights moved by 9e-3; in float64, 1e-16). Rank 1 runs no backward in two of the three steps, so the path where a
rank adds zeros to the all-reduce is exercised.
"""
import json, os, signal, subprocess, sys, textwrap, time
from pathlib import Path
import pytest
import torch
from fst_nb.dist import torchrun_cmd

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]

CISPO = textwrap.dedent('''
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

    def reply(c):
        "A fixed function of the conversation ('flat' problems ignore the system prompt)."
        key = c[-1]['content'] if 'flat' in c[-1]['content'] else json.dumps(c)
        return WORDS[int(hashlib.md5(key.encode()).hexdigest(), 16) % len(WORDS)]

    class Parity:
        "Reward 1 for an even number of characters; problems 0, 3, 6, ... are 'flat' (always uninformative)."
        data = [{'id': str(i), 'q': f'Say {i} things.' + (' flat' if i % 3 == 0 else '')} for i in range(12)]
        def examples(self, split='train', n=None, seed=0): return self.data[:n]
        def messages(self, ex, context=None):
            return ([{'role': 'system', 'content': context}] if context else []) + [{'role': 'user', 'content': ex['q']}]
        def score_batch(self, comps, exs): return [SimpleNamespace(score=float(len(c) % 2 == 0), feedback='') for c in comps]

    out = Path(sys.argv[1]); out.mkdir(exist_ok=True)
    dist.init_distributed()
    tag = 'ddp' if dist.active() else 'single'
    try:
        for name, norm, acc, recipe in (('group', 'group', 1, {}), ('token', 'token', 2, {}), ('sequence', 'sequence', 1, {}),
                                        ('recipe', 'group', 1, dict(adv_norm='batch', pass_ceiling=0.5, mask_truncated=True))):
            pol = load_policy('tiny')
            cfg = TrainConfig(steps=3, problems=4, G=4, lr=3e-3, warmup_steps=0, max_new_tokens=8, beta=0.01, norm=norm,
                              grad_accum=acc, eval_every=0, seed=int(sys.argv[2]), **recipe)
            tr = CISPOTrainer(pol, Parity(), cfg, backend=ScriptedBackend(pol, reply), pool=['Be brief.', 'Count.', 'Go.'], verbose=False)
            start = {k: v.clone() for k, v in pol.model.state_dict().items()}
            calls, micro = [], tr.micro_loss
            def counted(b, w): calls[-1] += 1; return micro(b, w)
            tr.micro_loss = counted
            rows = []
            for _ in range(cfg.steps): calls.append(0); rows.append(tr.train_step())
            (out/f'{tag}-{name}-calls{dist.rank()}.json').write_text(json.dumps(calls))
            (out/f'{tag}-{name}-dropped{dist.rank()}.json').write_text(json.dumps(sorted(tr.dropped.get('Parity', []))))
            if dist.is_main():
                torch.save({'start': start, 'end': pol.model.state_dict()}, out/f'{tag}-{name}.pt')
                (out/f'{tag}-{name}-rows.json').write_text(json.dumps(rows))
    finally: dist.shutdown()
''')

ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(ROOT), 'TOKENIZERS_PARALLELISM': 'false'}

def test_two_ranks_train_the_weights_one_process_trains(tmp_path):
    script = tmp_path/'cispo_ranks.py'; script.write_text(CISPO)
    single = subprocess.run([sys.executable, str(script), str(tmp_path), '1'], env={**ENV, 'WORLD_SIZE': '1'}, capture_output=True,
                            text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]
    ddp = subprocess.run(torchrun_cmd(2, script, tmp_path, 1), env=ENV, capture_output=True, text=True, timeout=300)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    for norm in ('group', 'token', 'sequence', 'recipe'):   # 'recipe': batch-std advantages, a pass ceiling, truncation masked
        a, b = (torch.load(tmp_path/f'{t}-{norm}.pt') for t in ('single', 'ddp'))
        moved = max((a['end'][k] - a['start'][k]).abs().max().item() for k in a['end'])
        diff = max((a['end'][k] - b['end'][k]).abs().max().item() for k in a['end'])
        assert moved > 1e-3, (norm, moved)               # the weights moved by much more than the tolerance
        assert diff <= 1e-5, (norm, diff, moved)
        ra, rb = (json.loads((tmp_path/f'{t}-{norm}-rows.json').read_text()) for t in ('single', 'ddp'))
        for x, y in zip(ra, rb):   # rank 0's row describes the whole step
            assert (y['ranks'], x['samples_seen'], x['groups_kept']) == (2, y['samples_seen'], y['groups_kept'])
            assert abs(x['reward_mean'] - y['reward_mean']) < 1e-12 and abs(x['loss'] - y['loss']) < 1e-6, (x, y)
            assert abs(x['completion_len'] - y['completion_len']) < 1e-12 and abs(x['grad_norm'] - y['grad_norm']) < 1e-6
            assert x.get('problems_dropped') == y.get('problems_dropped')
        dropped = [json.loads((tmp_path/f'{t}-{norm}-dropped{r}.json').read_text()) for t, r in (('single', 0), ('ddp', 0), ('ddp', 1))]
        assert dropped[0] == dropped[1] == dropped[2]             # every rank drops what one process drops
        if norm == 'recipe':
            assert ra[-1]['problems_dropped'] > 0, ra[-1]         # the ceiling acted
            continue
        calls = [json.loads((tmp_path/f'ddp-{norm}-calls{r}.json').read_text()) for r in range(2)]
        assert all(x > 0 for x in json.loads((tmp_path/f'single-{norm}-calls0.json').read_text()))
        assert any(c == 0 for cs in calls for c in cs), calls   # a rank with no informative group took part by zeros

FST = textwrap.dedent('''
    import json, os, sys, time
    from pathlib import Path
    import torch
    torch.set_num_threads(1)
    sys.path.insert(0, sys.argv[3])
    import test_fst_cycle                      # registers the 'scripted-rules' backend
    from fst_nb import dist
    from fst_nb.core import RunDir
    from fst_nb.fst import FSTConfig, FSTRun
    from fst_nb.rules import RULES_SEED

    dist.init_distributed()
    out = Path(sys.argv[2])
    (out/f'pid{dist.rank()}').write_text(str(os.getpid()))   # torchrun starts each rank in a session of its own
    if not dist.is_main():                     # only rank 0 may write the run directory
        def refuse(*a, **k): raise AssertionError(f'rank {dist.rank()} wrote the run directory')
        RunDir.log = RunDir.save_checkpoint = RunDir.resume = refuse
    rl_step, save = FSTRun.rl_step, FSTRun.save
    def recorded(self):                        # the prompts each rank's RL used, step by step
        row = rl_step(self)
        with open(out/f'prompts{dist.rank()}.jsonl', 'a') as f: f.write(json.dumps([self.step, self.trainer.pool]) + '\\n')
        return row
    def stall(self):                           # the first launch stalls after its first checkpoint (the test kills it)
        ck = save(self)
        if sys.argv[1] == 'run' and dist.is_main(): (out/'stalled').touch(); time.sleep(600)
        return ck
    FSTRun.rl_step, FSTRun.save = recorded, stall
    cfg = FSTConfig(task='star_rules', preset='A', model='tiny', backend='scripted-rules', seed_prompt=RULES_SEED,
                    reflection_lm='feedback', cycles=2, rl_steps=2, problems=2, G=4, pool_k=2, gepa_budget=32, minibatch=3,
                    max_new_tokens=16, eval_problems=4, decompose=False, verbose=False)
    try:
        run = FSTRun.create(cfg, run_dir=out/'run') if sys.argv[1] == 'run' else FSTRun.resume(out/'run')
        run.train()
        torch.save(run.trainer.model.state_dict(), out/f'weights{dist.rank()}.pt')
    finally: dist.shutdown()
''')

def test_fst_run_on_two_ranks_is_written_by_rank_0_and_resumes(tmp_path):
    script = tmp_path/'fst_ranks.py'; script.write_text(FST)
    args = (tmp_path, Path(__file__).parent)
    proc = subprocess.Popen(torchrun_cmd(2, script, 'run', *args), env=ENV, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    while not (tmp_path/'stalled').exists() and time.time() < deadline and proc.poll() is None: time.sleep(0.1)
    assert proc.poll() is None, proc.stdout.read()[-3000:]
    for r in range(2): os.kill(int((tmp_path/f'pid{r}').read_text()), signal.SIGKILL)   # both ranks, after cycle 1's checkpoint
    os.killpg(proc.pid, signal.SIGKILL); proc.wait()                                        # and torchrun
    rd = tmp_path/'run'
    assert [p.name for p in sorted(rd.glob('ckpt-*'))] == ['ckpt-00000001']
    res = subprocess.run(torchrun_cmd(2, script, 'resume', *args), env=ENV, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    rows = [json.loads(l) for l in (rd/'metrics.jsonl').read_text().splitlines()]
    assert [r['step'] for r in rows if r['kind'] == 'train'] == [1, 2, 3, 4]            # once each: one writer
    assert [r['cycle'] for r in rows if r['kind'] == 'gepa'] == [1, 2]
    assert sorted({r['cycle'] for r in rows if r['kind'] == 'eval'}) == [0, 1, 2]
    assert [p.name for p in sorted(rd.glob('ckpt-*'))] == ['ckpt-00000001', 'ckpt-00000002']
    used = [[json.loads(l) for l in (tmp_path/f'prompts{r}.jsonl').read_text().splitlines()] for r in range(2)]
    assert used[0] == used[1] and [s for s, _ in used[0]] == [1, 2, 3, 4], used          # both ranks, the same prompts
    assert any(p != [json.loads((rd/'config.json').read_text())['seed_prompt']] for _, p in used[0])  # GEPA's, not the seed
    w0, w1 = (torch.load(tmp_path/f'weights{r}.pt') for r in range(2))
    assert all(torch.equal(w0[k], w1[k]) for k in w0)                                    # one policy on both ranks
