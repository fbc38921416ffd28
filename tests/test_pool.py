"Prompt pool: frontier, sampling, acceptance, budget, merge and the per-version score table on hand-made tables."
import random
import pytest
from hypothesis import given, settings, strategies as hs
from fst_nb.pool import (Budget, Candidate, ScoreTable, common_ancestor, frontier_wins, improves, merge_texts, pareto_fronts,
                         rank_candidates, remove_dominated, sample_parent)

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
