"GEPA fast loop: frontier, sampling, acceptance, merge, budget accounting and stale scores on hand-made tables and toys."
import json, random, re
import pytest
from hypothesis import given, settings, strategies as hs
from fst_nb.core import RunDir
from fst_nb.gepa import (Budget, Candidate, Gepa, GepaConfig, Pool, ScoreTable, ScriptedLM, FSTAdapter, common_ancestor,
                         frontier_wins, improves, merge_texts, pareto_fronts, parse_reply, rank_candidates, remove_dominated,
                         sample_parent)
from _gepa_toys import ToyTask, EchoBackend, reader, useless

WORDS = 'apple pear plum fig kiwi lime date lemon mango peach grape melon'.split()

# ---- frontier and sampling on hand-made tables

def test_frontier_hand_made():
    m = {'s': [0, 0, 0, 0], 'a': [1, 0, 1, 0], 'b': [0, 1, 0, 0], 'c': [1, 0, 0, 0]}
    assert pareto_fronts(m) == [{'a', 'c'}, {'b'}, {'a'}, {'s', 'a', 'b', 'c'}]
    assert remove_dominated(m) == ['a', 'b']           # c's wins are a subset of a's; s only ties
    assert frontier_wins(m) == {'a': 3, 'b': 2}
    assert rank_candidates(m)[:2] == ['a', 'b']

def test_sampling_proportional_to_wins():
    m = {'a': [1, 1, 0, 0, 0], 'b': [0, 0, 1, 1, 1], 'd': [0, 0, 0, 0, 0]}
    rng = random.Random(1)
    draws = [sample_parent(m, rng) for _ in range(5000)]
    assert 'd' not in draws
    assert abs(draws.count('b') / len(draws) - 0.6) < 0.03

@settings(max_examples=60, deadline=None)
@given(hs.integers(1, 6).flatmap(lambda n: hs.dictionaries(hs.sampled_from('abcdefg'),
       hs.lists(hs.sampled_from([0.0, 0.5, 1.0]), min_size=n, max_size=n), min_size=1, max_size=7)))
def test_frontier_properties(m):
    keep, fronts = remove_dominated(m), pareto_fronts(m)
    assert keep and all(f & set(keep) for f in fronts)          # every example keeps a best candidate
    wins = frontier_wins(m)
    assert set(wins) == set(keep) and all(v >= 1 for v in wins.values())
    assert sample_parent(m, random.Random(0)) in keep
    assert sorted(rank_candidates(m)) == sorted(m)
    for j, f in enumerate(fronts):
        if len(f) == 1: assert next(iter(f)) in keep              # a unique best on any example always survives

# ---- acceptance, budget, merge

def test_acceptance_is_strict():
    assert improves([0, 0, 1], [0, 1, 1]) and not improves([0, 1, 1], [1, 1, 0]) and not improves([1, 1], [0.5, 1.5])
    with pytest.raises(ValueError): improves([1], [1, 1])

def test_budget_planning():
    b = Budget(50); b.spend(10)
    assert b.affordable(12, 4) == 3 and b.affordable(41, 4) == 0 and b.fits(40) and not b.fits(41)

def test_merge_through_ancestor():
    cands = {'s': Candidate('s', {'system_prompt': 'S', 'fmt': 'F'}),
             'a': Candidate('a', {'system_prompt': 'S1', 'fmt': 'F'}, ('s',)),
             'b': Candidate('b', {'system_prompt': 'S', 'fmt': 'F1'}, ('s',)),
             'c': Candidate('c', {'system_prompt': 'S2', 'fmt': 'F2'}, ('b',))}
    assert common_ancestor(cands, 'a', 'c') == 's' and common_ancestor(cands, 'b', 'c') is None
    assert merge_texts(cands['a'].texts, cands['b'].texts, cands['s'].texts) == {'system_prompt': 'S1', 'fmt': 'F1'}
    # both changed system_prompt: the preferred side wins there; fmt changed only in c
    assert merge_texts(cands['a'].texts, cands['c'].texts, cands['s'].texts, prefer='a') == {'system_prompt': 'S1', 'fmt': 'F2'}
    assert merge_texts(cands['a'].texts, cands['c'].texts, cands['s'].texts, prefer='b') is None    # equals c

# ---- stale scores

def test_stale_scores_are_never_mixed():
    t = ScoreTable()
    for e in 'xy': t.set('a', e, 0, 1.0)
    t.set('b', 'x', 1, 0.0)
    assert t.matrix(['a', 'b'], ['x', 'y'], 1) == {}            # a has only old scores, b is incomplete
    assert t.matrix(['a', 'b'], ['x', 'y'], 0) == {'a': [1.0, 1.0]}
    assert t.drop_stale(1) == 2 and t.versions() == {1}

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
