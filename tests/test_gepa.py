"GEPA rounds on toy tasks: budget accounting, stale scores, learning, batching, records, pool persistence, the gepa package adapter."
import json, random, re
import pytest
from fst_nb.core import RunDir
from fst_nb.gepa import Gepa, GepaConfig, Pool, ScriptedLM, FSTAdapter, parse_reply
from _gepa_toys import ToyTask, EchoBackend, reader, useless

WORDS = 'apple pear plum fig kiwi lime date lemon mango peach grape melon'.split()

def test_round_rescores_pool_under_new_version(tmp_path):
    task, be = ToyTask(WORDS[:6]), EchoBackend(version=3)
    pool = Pool(['apple', 'pear plum', 'fig'])
    for c in pool.active:
        for e in task.examples(): pool.scores.set(c, e['id'], 2, 1.0)   # stale: policy version 2
    g = Gepa(task, be, useless, pool=pool, rundir=RunDir.create({}, root=tmp_path, name='r'),
             cfg=GepaConfig(budget=18 + 2 * 6 + 6, minibatch=3, proposals_per_step=1, progress=False, verbose=False))
    res = g.round(task.examples(), cycle=5)
    assert be.sizes[0] == 3 * 6                                   # the whole pool, one call, before any proposal
    assert pool.scores.versions() == {3} and res.version == 3
    m = pool.matrix([e['id'] for e in task.examples()], 3)
    assert m['c0'] == [1, 0, 0, 0, 0, 0] and m['c1'] == [0, 1, 1, 0, 0, 0]   # fresh scores, not the stale 1.0s
    rows = g.rundir.read('scores.jsonl')
    assert {r['version'] for r in rows} == {3} and {(r['round'], r['cycle']) for r in rows} == {(1, 5)}

# ---- rounds on the toy task

def _gepa(tmp_path, lm, words=WORDS, **cfg):
    task, be = ToyTask(words), EchoBackend()
    cfg = GepaConfig(**{'progress': False, 'verbose': False, **cfg})
    return Gepa(task, be, lm, seeds=['Say:'], cfg=cfg, rundir=RunDir.create({}, root=tmp_path, name='r', exist_ok=True)), task, be

@pytest.mark.parametrize('budget,pps,mb', [(40, 1, 3), (97, 4, 3), (150, 3, 2), (61, 2, 4)])
def test_budget_never_overshoots(tmp_path, budget, pps, mb):
    g, task, be = _gepa(tmp_path, useless, budget=budget, proposals_per_step=pps, minibatch=mb)
    res = g.round(task.examples())
    assert res.calls == sum(be.sizes) == len(g.rundir.read('scores.jsonl')) <= budget
    assert res.stop == 'budget'
    assert budget - res.calls < 2 * mb + len(WORDS)               # stopped only when a proposal could not fit
    assert res.generate_calls == len(be.sizes)

def test_round_learns_and_batches(tmp_path):
    g, task, be = _gepa(tmp_path, reader, budget=1000, proposals_per_step=4)
    res = g.round(task.examples())
    assert res.stop == 'perfect' and set(WORDS) <= set(res.top[0]['system_prompt'].split())
    assert max(be.sizes) >= 4 * 3                                 # four proposals' minibatches in one call
    assert res.calls == sum(be.sizes)
    assert len(res.top) == 4 and res.prompts[0] == res.top[0]['system_prompt']

def test_max_proposals_and_skip_perfect(tmp_path):
    g, task, be = _gepa(tmp_path, reader, budget=1000, proposals_per_step=3, max_proposals=5, stop_at_perfect=False)
    res = g.round(task.examples())
    assert res.stop == 'max_proposals' and res.proposals == 5
    g.cfg = g.cfg.replace(max_proposals=30)
    g.round(task.examples())
    skipped = [r for r in g.rundir.read('pool.jsonl') if r['event'] == 'skipped']
    assert skipped and all(sum(r['parent_scores']) == len(r['minibatch']) for r in skipped)

def test_malformed_replies_are_logged_and_round_goes_on(tmp_path):
    lm = ScriptedLM(['', 'no block here', '```\n\n```', '```\nSay:\n```', '```\n' + 'x' * 99 + '\n```', lambda p: 1 / 0, reader])
    g, task, be = _gepa(tmp_path, lm, words=WORDS[:4], budget=200, proposals_per_step=7, max_text_chars=50)
    res = g.round(task.examples())
    crit = g.rundir.read('critiques.jsonl')
    reasons = [r['reason'] for r in crit[:7]]
    assert reasons[:6] == ['empty reply', 'no ``` block with a new text', 'empty new text',
                           'new text identical to the current one', 'new text too long (99 > 50 chars)',
                           'reflection LM error: ZeroDivisionError: division by zero']
    assert [r['status'] for r in crit[:7]] == ['malformed'] * 5 + ['error', 'ok']
    assert res.accepted >= 1                                     # the one good reply still made progress
    pool_rows = g.rundir.read('pool.jsonl')
    assert sum(r['event'] == 'malformed' for r in pool_rows) >= 6

def test_records_schema(tmp_path):
    g, task, be = _gepa(tmp_path, reader, budget=300, merge=True)
    g.round(task.examples(), cycle=2)
    for f, keys in {'scores.jsonl': {'candidate', 'example', 'version', 'score', 'split', 'proposal', 'n'},
                    'critiques.jsonl': {'proposal', 'parent', 'child', 'component', 'critique', 'new_text', 'status',
                                        'reason', 'lm', 'tokens_in', 'tokens_out', 'cost', 'seconds'},
                    'pool.jsonl': {'event'}}.items():
        rows = g.rundir.read(f)
        assert rows and all(keys <= set(r) and r['round'] == 1 and r['cycle'] == 2 for r in rows), f
    acc = [r for r in g.rundir.read('pool.jsonl') if r['event'] == 'accepted']
    assert acc and all(r['child_sum'] > r['parent_sum'] for r in acc)

def test_pool_persists_and_is_pruned(tmp_path):
    g, task, be = _gepa(tmp_path, reader, budget=400, pool_size=3, top_k=2)
    g.round(task.examples())
    assert len(g.pool) == 3
    g.pool.save(tmp_path/'pool.json')
    p2 = Pool.load(tmp_path/'pool.json')
    assert p2.active == g.pool.active and len(p2.scores) == len(g.pool.scores)
    g2 = Gepa(task, be, reader, pool=p2, cfg=g.cfg)
    res = g2.round(task.examples())
    assert res.round == 2 and be.sizes[-1] >= 0

# ---- the gepa package runs on our adapter

def test_gepa_optimize_with_our_adapter():
    import gepa
    task = ToyTask(WORDS[:6]); ex = task.examples()
    lm = ScriptedLM([reader])
    class Quiet:
        def log(self, message): pass
    out = gepa.optimize(seed_candidate={'system_prompt': 'Say:'}, trainset=ex, valset=ex, adapter=FSTAdapter(task, EchoBackend()),
                        reflection_lm=lm, max_metric_calls=80, reflection_minibatch_size=3, logger=Quiet(), seed=0)
    assert lm.prompts, 'the reflection LM was never called (propose_new_texts missing?)'
    assert out.total_metric_calls <= 80 + 3 + 3 + len(ex)        # gepa checks the budget only between iterations
    best = out.best_candidate['system_prompt'].split()
    assert sum(w in best for w in WORDS[:6]) >= 4
