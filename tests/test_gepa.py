"GEPA rounds on toy tasks: budget accounting, stale scores, learning, batching, records, pool persistence, the gepa package adapter."
import json, random, re
from types import SimpleNamespace as NS
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
             cfg=GepaConfig(budget=18 + 2 * 6 + 6, minibatch=3, proposals_per_step=1, rescore_share=0.5, progress=False,
                            verbose=False))
    res = g.round(task.examples(), cycle=5)
    assert be.sizes[0] == 3 * 6                                   # the whole pool, one call, before any proposal
    assert pool.scores.versions() == {3} and res.version == 3
    m = pool.matrix([e['id'] for e in task.examples()], 3, task='toy')
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
                           'the reflection LM kept the text', 'new text too long (99 > 50 chars)',
                           'reflection LM error: ZeroDivisionError: division by zero']
    assert [r['status'] for r in crit[:7]] == ['malformed'] * 3 + ['no_change', 'malformed', 'error', 'accepted']
    assert res.accepted >= 1                                     # the one good reply still made progress
    pool_rows = g.rundir.read('pool.jsonl')
    assert [r['event'] for r in pool_rows if r['event'] in ('malformed', 'no_change', 'error')][:6] == [
        'malformed'] * 3 + ['no_change', 'malformed', 'error']

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

# ---- bounded re-scoring, the budget as a hard limit, proposals in every round, the task in the score key

from hypothesis import given, settings, strategies as hs
from fst_nb.gepa import FeedbackLM, task_key
from _gepa_toys import RulesToyTask, RuleFollowingBackend, SEP, WRAP, END

RULE_B = {'sep': ';', 'wrap': '<answer>...</answer>', 'end': '!'}

def _carried_pool(task, n, version=0):
    "A pool of `n` carried prompts (ranked c0 best) with scores from an older policy version."
    pool = Pool([f'Say the path, version {i}.' for i in range(n)])
    pool.ranked = list(pool.active)
    for c in pool.active:
        for e in task.examples(): pool.scores.set(c, e['id'], version, 0.5, task=task_key(task))
    return pool

def test_rescoring_is_bounded_by_its_share(tmp_path):
    task, be = RulesToyTask(RULE_B, n=16), RuleFollowingBackend(version=1)
    pool = _carried_pool(task, 8)
    g = Gepa(task, be, FeedbackLM(), pool=pool, rundir=RunDir.create({}, root=tmp_path, name='r'),
             cfg=GepaConfig(budget=48, minibatch=3, rescore_share=0.25, progress=False, verbose=False))
    res = g.round(task.examples(), cycle=2)
    assert be.sizes[0] <= 0.25 * 48                                   # the start's single generate call
    start = [r for r in g.rundir.read('scores.jsonl') if r['split'] == 'pareto'][:be.sizes[0]]
    assert {r['candidate'] for r in start} == {'c0'}                  # the previous frontier's best first
    retired = [r['candidate'] for r in g.rundir.read('pool.jsonl') if r['event'] == 'retired']
    assert retired == [f'c{i}' for i in range(1, 8)]
    assert res.calls <= 48 and res.proposals >= 1 and res.version == 1

@settings(max_examples=40, deadline=None)
@given(budget=hs.integers(1, 80), mb=hs.integers(1, 4), pps=hs.integers(1, 8), pareto=hs.integers(0, 16),
       n=hs.integers(1, 3), seeds=hs.integers(1, 8), share=hs.sampled_from([0.05, 0.25, 0.5, 1.0]))
def test_budget_is_never_exceeded(tmp_path_factory, budget, mb, pps, pareto, n, seeds, share):
    task, be = RulesToyTask(RULE_B, n=16), RuleFollowingBackend()
    cfg = GepaConfig(budget=budget, minibatch=mb, proposals_per_step=pps, pareto_size=pareto, n_per_pair=n,
                     rescore_share=share, merge=True, progress=False, verbose=False)
    g = Gepa(task, be, FeedbackLM(), pool=_carried_pool(task, seeds), cfg=cfg)
    for v in range(3):
        be.version, before = v + 1, sum(be.sizes)
        res = g.round(task.examples()[4 * v:4 * v + 12], cycle=v + 1)
        assert res.calls == sum(be.sizes) - before <= budget
        if budget >= (2 * mb + 2) * n and res.stop != 'perfect': assert res.proposals >= 1, (res, cfg)

@pytest.mark.parametrize('budget', [24, 48, 64])
@pytest.mark.parametrize('pareto', [8, 16])
def test_every_round_makes_proposals(tmp_path, budget, pareto):
    "Three rounds with a new policy version each, a carried pool of 6, as in the continual preset."
    task, be = RulesToyTask(RULE_B, n=48), RuleFollowingBackend()
    g = Gepa(task, be, FeedbackLM(), pool=_carried_pool(task, 6), rundir=RunDir.create({}, root=tmp_path, name='r'),
             cfg=GepaConfig(budget=budget, minibatch=3, pareto_size=pareto, top_k=4, pool_size=8, progress=False,
                            verbose=False))
    for v in range(3):
        be.version = v + 1
        res = g.round(task.examples()[16 * v:16 * (v + 1)], cycle=v + 1)
        assert res.proposals >= 1 and res.calls <= budget, res

def test_task_key_separates_scores(tmp_path):
    "Two tasks with the same example ids and the same policy version: the second round scores its own task."
    a = RulesToyTask(RULE_B, name='rules_toy', key='rules_toy:B', n=8)
    b = RulesToyTask({'sep': '-'}, name='rules_toy', key='rules_toy:C', n=8)
    assert (task_key(a), task_key(b), task_key(NS(name='math'))) == ('rules_toy:B', 'rules_toy:C', 'math')
    be, pool = RuleFollowingBackend(), Pool(["Separate the nodes with ';'."])
    cfg = GepaConfig(budget=40, minibatch=2, max_proposals=1, progress=False, verbose=False)
    best = Gepa(a, be, FeedbackLM(), pool=pool, cfg=cfg).round(a.examples()).top[0].id
    n0 = len(be.sizes)
    Gepa(b, be, FeedbackLM(), pool=pool, cfg=cfg).round(b.examples())
    assert be.sizes[n0] == 8                                  # the best prompt re-scored on task C: nothing reused from B
    assert (pool.scores.get(best, 'e0', 0, task='rules_toy:B'), pool.scores.get(best, 'e0', 0, task='rules_toy:C')) == (1, 0)

def test_old_pool_checkpoints_still_load(tmp_path):
    old = {'archive': [{'id': 'c0', 'texts': {'system_prompt': 'Hi.'}, 'parents': [], 'round': 1, 'cycle': 1,
                        'origin': 'seed', 'component': None}],
           'active': ['c0'], 'scores': [['c0', 'train-0', 2, 1.0]], 'round': 1, 'n': 1, 'rr': {}}
    (tmp_path/'pool.json').write_text(json.dumps(old))
    p = Pool.load(tmp_path/'pool.json')
    assert p.scores.get('c0', 'train-0', 2) == 1.0 and p.scores.get('c0', 'train-0', 2, task='star_graph') is None
    assert p.ranked == [] and p.carry_order() == ['c0']
    p.save(tmp_path/'new.json'); assert Pool.load(tmp_path/'new.json').scores.rows() == [['c0', '', 'train-0', 2, 1.0]]

# ---- end to end: FeedbackLM's proposals are accepted and the prompt evolves

def test_feedback_lm_evolves_the_prompt(tmp_path):
    task, be = RulesToyTask(RULE_B, n=16), RuleFollowingBackend()
    seed = "Find the path. Separate the nodes with ','."
    g = Gepa(task, be, 'feedback', seeds=[seed], rundir=RunDir.create({}, root=tmp_path, name='r'),
             cfg=GepaConfig(budget=48, minibatch=3, pareto_size=8, progress=False, verbose=False))
    res = g.round(task.examples(), cycle=1)
    best = res.top[0]['system_prompt']
    assert res.accepted >= 1 and best != seed and res.best_mean > 0
    assert best.startswith("Find the path. Separate the nodes with ';'.")          # the conflicting sentence replaced
    assert WRAP.format('<answer>...</answer>') in best and END.format('!') in best
    assert 'Continue from' not in best and 'stops at' not in best                 # content errors never recur
    crit = g.rundir.read('critiques.jsonl')
    assert all(r['lm'] == 'feedback' for r in crit) and any(r['status'] == 'accepted' for r in crit)

def test_gepa_optimize_with_feedback_lm():
    "The gepa package's own loop, its own reflection prompt, our adapter and FeedbackLM as its reflection LM."
    import gepa
    task = RulesToyTask(RULE_B, n=8); ex = task.examples()
    class Quiet:
        def log(self, message): pass
    out = gepa.optimize(seed_candidate={'system_prompt': 'Find the path.'}, trainset=ex, valset=ex,
                        adapter=FSTAdapter(task, RuleFollowingBackend()), reflection_lm=FeedbackLM(), max_metric_calls=60,
                        reflection_minibatch_size=3, logger=Quiet(), seed=0)
    best = out.best_candidate['system_prompt']
    assert best.startswith('Find the path. ') and SEP.format(';') in best and WRAP.format('<answer>...</answer>') in best
