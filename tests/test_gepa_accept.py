"GEPA's bookkeeping on the house-rules toy: 'no change' replies, perfect parents, critiques agreeing with pool.jsonl, and acceptance under a sparse reward (simulated against the binomial odds)."
import random, re
from collections import Counter
from types import SimpleNamespace as NS
import pytest
from fst_nb.core import ConfigError, RunDir
from fst_nb.gepa import Gepa, GepaConfig, Pool, ScriptedLM, FeedbackLM, acceptance_odds
from _gepa_toys import RulesToyTask, RuleFollowingBackend, EchoBackend, SEP, WRAP, END

RULE_B = {'sep': ';', 'wrap': '<answer>...</answer>', 'end': '!'}
ALL_RULES = f"Find the path. {SEP.format(';')} {WRAP.format('<answer>...</answer>')} {END.format('!')}"

def _tally(g):
    "Count the metric calls of `g` by split ('pareto', 'minibatch', 'confirm', 'merge')."
    calls, orig = Counter(), g._score
    def score(pairs, st, split, tags=None):
        calls[split] += len(pairs) * g.cfg.n_per_pair
        return orig(pairs, st, split, tags)
    g._score = score
    return calls

class CountingLM(FeedbackLM):
    "FeedbackLM that counts the prompts it is asked."
    def __init__(self): super().__init__(); self.asked = 0
    def _one(self, prompt): self.asked += 1; return super()._one(prompt)

# ---- 1. a 'no change' reply ends the proposal and, once every frontier candidate said so, the round

def test_no_change_is_not_malformed_and_ends_the_round(tmp_path):
    "The prompt states every rule; the only failures are slips: FeedbackLM keeps the text and the round stops early."
    task, be, lm = RulesToyTask(RULE_B, n=16), RuleFollowingBackend(), CountingLM()
    g = Gepa(task, be, lm, seeds=[ALL_RULES], rundir=RunDir.create({}, root=tmp_path, name='r'),
             cfg=GepaConfig(budget=48, minibatch=3, pareto_size=12, progress=False, verbose=False))
    calls = _tally(g)
    res = g.round(task.examples(), cycle=2)
    crit, pool = g.rundir.read('critiques.jsonl'), g.rundir.read('pool.jsonl')
    assert res.stop == 'no_change' and res.accepted == 0 and len(g.pool) == 1
    assert crit and {r['status'] for r in crit} == {'no_change'} and lm.asked == len(crit)
    assert all(r['reason'] == 'the reflection LM kept the text' and r['new_text'] is None for r in crit)
    events = [r['event'] for r in pool if 'proposal' in r]
    assert 'malformed' not in events and events.count('no_change') == len(crit)
    # no child was ever scored: the calls are the re-score and the parents' minibatches (none for a table skip)
    scored = sum('proposal' in r and not r['reason'].endswith('(score table)') for r in pool)
    assert calls == Counter(pareto=12, minibatch=3 * scored) and res.calls == 12 + 3 * scored
    assert res.calls < 33                                            # before: 7 proposals, 33 calls, 0 accepted

def test_no_change_settles_only_that_component(tmp_path):
    "A parent with two components: 'no change' on one, the next proposal of that parent rewrites the other."
    task, be = RulesToyTask(RULE_B, n=16), RuleFollowingBackend()
    lm = ScriptedLM([lambda p: re.search(r"```\n(.*?)\n```", p, re.S).group(0),           # keeps the text
                     lambda p: "Add the rule.\n```\n" + END.format('!') + "\n```"])
    g = Gepa(task, be, lm, seeds=[{'system_prompt': 'Find the path.', 'format': 'Answer.'}],
             rundir=RunDir.create({}, root=tmp_path, name='r'),
             cfg=GepaConfig(budget=200, minibatch=3, pareto_size=8, proposals_per_step=1, max_proposals=2,
                            progress=False, verbose=False))
    g.round(task.examples())
    crit = g.rundir.read('critiques.jsonl')
    assert [(r['component'], r['status']) for r in crit][:2] == [('system_prompt', 'no_change'),
                                                                  ('format', crit[1]['status'])]
    assert crit[1]['status'] in ('accepted', 'rejected')

# ---- 2. a parent perfect on its minibatch: no reflection, no metric call when the table already knows

def test_perfect_parent_is_skipped_without_calls(tmp_path):
    "Every example solved by the seed (slip_every=3: i % 3 is never 3, no slips): no reflection LM call and no metric call after the re-score."
    task, be, lm = RulesToyTask(RULE_B, n=12, slip_every=3), RuleFollowingBackend(), CountingLM()
    g = Gepa(task, be, lm, seeds=[ALL_RULES], rundir=RunDir.create({}, root=tmp_path, name='r'),
             cfg=GepaConfig(budget=60, minibatch=3, stop_at_perfect=False, progress=False, verbose=False))
    calls = _tally(g)
    res = g.round(task.examples())
    skipped = [r for r in g.rundir.read('pool.jsonl') if r['event'] == 'skipped']
    assert res.stop == 'skipped' and lm.asked == 0 and not g.rundir.read('critiques.jsonl')
    assert calls == Counter(pareto=12) and res.calls == 12          # the re-score only
    assert skipped and all(r['parent_sum'] == 3 and r['reason'].endswith('(score table)') for r in skipped)

def test_perfect_parent_on_fresh_minibatch_skips_the_reflection(tmp_path):
    "Minibatch examples outside the Pareto set: the parent is scored (3 calls), then skipped with no reflection and no child."
    task, be, lm = RulesToyTask(RULE_B, n=12, slip_every=3), RuleFollowingBackend(), CountingLM()
    g = Gepa(task, be, lm, seeds=[ALL_RULES], rundir=RunDir.create({}, root=tmp_path, name='r'),
             cfg=GepaConfig(budget=60, minibatch=3, pareto_size=1, proposals_per_step=1, max_proposals=4,
                            stop_at_perfect=False, progress=False, verbose=False))
    calls = _tally(g)
    g.round(task.examples())
    rows = [r for r in g.rundir.read('pool.jsonl') if 'proposal' in r]
    assert {r['event'] for r in rows} == {'skipped'} and lm.asked == 0
    scored = sum(r['reason'] == 'parent is perfect on its minibatch' for r in rows)
    assert scored >= 1 and calls == Counter(pareto=1, minibatch=3 * scored)   # parents only: no child, no confirm

# ---- 3. critiques.jsonl and pool.jsonl record the same decision

@pytest.mark.parametrize('acceptance', ['strict', 'confirm'])
def test_critique_status_is_the_pool_decision(tmp_path, acceptance):
    lm = ScriptedLM([FeedbackLM(), 'no block', lambda p: 1 / 0, FeedbackLM(),
                     lambda p: re.search(r"```\n(.*?)\n```", p, re.S).group(0)])
    task, be = RulesToyTask(RULE_B, n=24), RuleFollowingBackend()
    g = Gepa(task, be, lm, seeds=["Find the path. Separate the nodes with ','."], rundir=RunDir.create({}, root=tmp_path, name='r'),
             cfg=GepaConfig(budget=200, minibatch=3, pareto_size=8, acceptance=acceptance, stop_at_perfect=False,
                            progress=False, verbose=False))
    g.round(task.examples())
    crit, pool = g.rundir.read('critiques.jsonl'), g.rundir.read('pool.jsonl')
    decision = {r['proposal']: (r['event'], r['reason'], r['candidate']) for r in pool if 'proposal' in r}
    assert len(crit) >= 5
    for r in crit:
        event, reason, cand = decision[r['proposal']]
        assert (r['status'], r['reason']) == (event, reason), r
        if event in ('accepted', 'rejected'): assert r['child'] == cand
    assert {'accepted', 'malformed', 'error', 'no_change'} <= {r['status'] for r in crit}
    assert 'ok' not in {r['status'] for r in crit}

# ---- 4. acceptance under a sparse reward: the config, and the odds checked by simulation

def test_acceptance_is_a_validated_setting():
    with pytest.raises(ConfigError, match="GepaConfig.acceptance='loose' is not valid; choose one of 'strict', 'confirm'"):
        GepaConfig(acceptance='loose')
    with pytest.raises(ConfigError, match='confirm_size'): GepaConfig(confirm_size=0)
    assert GepaConfig().acceptance == 'confirm' and GepaConfig().confirm_size == 3

class CoinTask:
    "Every example is the same coin: 'pass' scores 1."
    name = 'coin'
    def __init__(self, n): self.n = n
    def examples(self, split='train', n=None, seed=0): return [{'id': f'e{i}'} for i in range(self.n)]
    def messages(self, ex, context=None): return [{'role': 'system', 'content': context}, {'role': 'user', 'content': ex['id']}]
    def score_batch(self, completions, examples):
        return [NS(score=float(c == 'pass'), feedback='Correct.' if c == 'pass' else 'Say pass.') for c in completions]

class CoinBackend(EchoBackend):
    "Passes with the rate its system prompt names ('rate 0.2'), from a seeded generator: a scripted evaluator."
    def __init__(self, seed): super().__init__(); self.rng = random.Random(seed)
    def generate(self, convs, n=1, sampling=None):
        self.sizes.append(len(convs) * n)
        rates = [float(re.search(r'rate ([\d.]+)', c[0]['content']).group(1)) for c in convs for _ in range(n)]
        texts = ['pass' if self.rng.random() < r else 'fail' for r in rates]
        return NS(prompt_index=[i for i in range(len(convs)) for _ in range(n)], texts=texts,
                  finish_reasons=['stop'] * len(texts), policy_version=0)

def simulate(p, q, acceptance, trials, seed=0, pareto=9):
    "(acceptance rate, mean minibatch + confirm calls) of one proposal 'rate p' -> 'rate q' over `trials` rounds."
    be, task = CoinBackend(seed), CoinTask(pareto)
    lm = ScriptedLM([f"Try.\n```\nrate {q} (child)\n```"])
    cfg = GepaConfig(budget=60, minibatch=3, acceptance=acceptance, confirm_size=3, proposals_per_step=1, max_proposals=1,
                     skip_perfect=False, stop_at_perfect=False, progress=False, verbose=False, seed=seed)
    acc, spent = 0, 0
    for t in range(trials):
        g = Gepa(task, be, lm, seeds=[f'rate {p}'], cfg=cfg.replace(seed=seed * 100_000 + t))
        calls = _tally(g)
        acc += g.round(task.examples()).accepted
        spent += calls['minibatch'] + calls['confirm']
    return acc / trials, spent / trials

@pytest.mark.parametrize('p,q', [(0.0, 0.2), (0.2, 0.5)])
@pytest.mark.parametrize('acceptance,confirm', [('strict', 0), ('confirm', 3)])
def test_acceptance_odds_match_simulated_rounds(p, q, acceptance, confirm):
    "Real GEPA rounds on a coin-flip evaluator accept as often, and spend as many calls, as the binomial says."
    want_acc, want_calls = acceptance_odds(p, q, 3, confirm)
    got_acc, got_calls = simulate(p, q, acceptance, trials=1200, seed=1)
    assert abs(got_acc - want_acc) < 0.045, (got_acc, want_acc)     # 3 standard errors at n=1200
    assert abs(got_calls - want_calls) < 0.15, (got_calls, want_calls)

def test_confirm_beats_strict_on_a_sparse_improvement():
    "The same seeded rounds: 0 -> 0.2 is accepted less than half the time under 'strict' and about 3 in 4 under 'confirm'."
    strict, confirm = simulate(0, .2, 'strict', 600, seed=2)[0], simulate(0, .2, 'confirm', 600, seed=2)[0]
    assert strict < 0.53 and confirm > 0.68 and confirm > strict + 0.15

def test_confirm_scores_are_reused_for_an_accepted_child(tmp_path):
    "An accepted child costs 3 + 3 + confirm + (Pareto - confirm) calls: the confirm scores fill its Pareto row."
    be, task = CoinBackend(3), CoinTask(9)
    for t in range(200):
        g = Gepa(task, be, ScriptedLM(["```\nrate 0.5 (child)\n```"]), seeds=['rate 0.0'],
                 cfg=GepaConfig(budget=60, minibatch=3, proposals_per_step=1, max_proposals=1, skip_perfect=False,
                                stop_at_perfect=False, progress=False, verbose=False, seed=t))
        calls = _tally(g)
        res = g.round(task.examples())
        if res.accepted and calls['confirm']: break
    else: pytest.fail('no child was accepted through a confirm in 200 rounds')
    assert calls == Counter(pareto=9 + 9 - 3, minibatch=6, confirm=3) and res.calls == 24
