"""A cheaper fast loop (issue 22, item 3): one generate call for independent scoring stages, re-scoring skipped under
unchanged weights, and GEPA's rollouts reused by the next RL step when weights version and sampling match."""
import re
from collections import Counter
import pytest
from fst_nb.core import RunDir
from fst_nb.gepa import Evaluator, Gepa, GepaConfig, Pool, RolloutReuse, ScriptedLM, Candidate
from fst_nb.rollout import Rollouts, Sampling
from _gepa_toys import ToyTask, EchoBackend, current_text

WORDS = 'apple pear plum fig kiwi lime date lemon mango peach grape melon'.split()

# ---- 1. the tied children's confirm examples and the outright accepted children's Pareto rows: one generate call

def test_confirm_and_pareto_share_a_generate_call(tmp_path):
    "Step 1: child 0 knows every word (accepted outright), child 1 adds a useless word (a tie, re-tested on 3 more)."
    task, be = ToyTask(WORDS), EchoBackend()
    lm = ScriptedLM([lambda p: f"All.\n```\n{current_text(p)} {' '.join(WORDS)}\n```",
                     lambda p: f"Hm.\n```\n{current_text(p)} filler\n```"])
    g = Gepa(task, be, lm, seeds=['Say:'], rundir=RunDir.create({}, root=tmp_path, name='r'),
             cfg=GepaConfig(budget=200, minibatch=3, proposals_per_step=2, max_proposals=2, acceptance='confirm',
                            progress=False, verbose=False))
    res = g.round(task.examples())
    P = len(WORDS)
    assert res.accepted == 1 and res.proposals == 2
    # re-score, parents (2 x 3), children (2 x 3), then the accepted child's Pareto row next to the tie's 3 confirm examples
    assert be.sizes == [P, 6, 6, P + 3] and res.generate_calls == 4   # before: [P, 6, 6, 3, P], five calls
    rows = g.rundir.read('scores.jsonl')
    assert Counter(r['split'] for r in rows[-(P + 3):]) == Counter(pareto=P, confirm=3)
    crit = {r['proposal']: r for r in g.rundir.read('critiques.jsonl')}
    assert crit[0]['status'] == 'accepted' and crit[1]['status'] == 'rejected' and 'tie' in crit[1]['reason']

def test_scores_of_a_generate_call_are_written_with_one_fsync(tmp_path, monkeypatch):
    "scores.jsonl gets one write and one fsync per generate call (it was one per pair: ~1.6 s of fsync in a 188-call round)."
    import os
    synced, real = Counter(), os.fsync
    def fsync(fd):
        synced[os.path.basename(os.readlink(f'/proc/self/fd/{fd}'))] += 1
        return real(fd)
    monkeypatch.setattr(os, 'fsync', fsync)
    task, be = ToyTask(WORDS), EchoBackend()
    g = Gepa(task, be, ScriptedLM([lambda p: f"Hm.\n```\n{current_text(p)} filler\n```"]), seeds=['Say:'],
             rundir=RunDir.create({}, root=tmp_path, name='r'),
             cfg=GepaConfig(budget=100, minibatch=3, proposals_per_step=2, progress=False, verbose=False))
    res = g.round(task.examples())
    rows = g.rundir.read('scores.jsonl')
    assert len(rows) == res.calls > res.generate_calls == len(be.sizes)
    assert synced['scores.jsonl'] == res.generate_calls
    assert all({'round', 'cycle', 'candidate', 'example', 'version', 'score', 'split', 'time'} <= set(r) for r in rows)

# ---- 3. re-scoring is skipped while the weights version is unchanged

def test_rescore_skipped_when_weights_unchanged(tmp_path):
    "A second round on the same batch: no re-score under the same version; a full one after the version moves."
    task, be = ToyTask(WORDS[:6]), EchoBackend()
    pool = Pool(['Say: apple', 'Say: pear plum', 'Say: fig'])
    g = Gepa(task, be, ScriptedLM(['no block']), pool=pool, rundir=RunDir.create({}, root=tmp_path, name='r'),
             cfg=GepaConfig(budget=40, minibatch=3, proposals_per_step=1, max_proposals=1, rescore_share=0.5,
                            progress=False, verbose=False))
    g.round(task.examples(), cycle=1)
    assert be.sizes[0] == 3 * 6                                   # the carried pool scored once
    n = len(be.sizes)
    res = g.round(task.examples(), cycle=2)                       # same weights version (0)
    start = [r for r in g.rundir.read('scores.jsonl') if r['round'] == 2 and r['split'] == 'pareto']
    assert start == [] and be.sizes[n] == 3 and res.calls == 3     # straight to the parent's minibatch
    assert len(g.pool) == 3 and res.version == 0                  # nobody retired for lack of scores
    be.version, n = 1, len(be.sizes)
    g.round(task.examples(), cycle=3)
    assert be.sizes[n] == 3 * 6                                   # a new version: every carried candidate re-scored

# ---- 2. reuse: only rollouts of the same conversation, weights version and sampling, each once

class NumberedRollouts(EchoBackend):
    "Real `Rollouts` with behaviour log-probs; every completion numbered so a reused one is recognisable."
    def __init__(self): super().__init__(); self.k = 0
    def generate(self, convs, n=1, sampling=None):
        self.sizes.append(len(convs) * n)
        idx = [i for i in range(len(convs)) for _ in range(n)]
        texts = [f"{convs[i][0]['content']} #{self.k + j}" for j, i in enumerate(idx)]
        self.k += len(idx)
        return Rollouts(idx, [[1]] * len(idx), [[2, 3]] * len(idx), [[-0.1, -0.2]] * len(idx), texts, ['stop'] * len(idx),
                        self.version)

def test_reuse_matches_version_and_sampling():
    task, be = ToyTask(WORDS[:4]), NumberedRollouts()
    s = Sampling(1.0, 1.0, 16)
    reuse = RolloutReuse(be)
    ex = task.examples()
    Evaluator(task, be, s, n=2, sink=reuse)([(Candidate('a', {'system_prompt': 'A'}), ex[0]),
                                              (Candidate('b', {'system_prompt': 'B'}), ex[1])])   # #0 #1 (A), #2 #3 (B)
    assert reuse.kept == 4
    for other in (Sampling(0.5, 1.0, 16), Sampling(1.0, 0.9, 16), Sampling(1.0, 1.0, 8)):   # temperature, top_p, length
        ro = reuse.generate([task.messages(ex[0], 'A')], 1, other)
        assert not ro.texts[0].endswith(('#0', '#1')) and reuse.reused == 0
    ro = reuse.generate([task.messages(ex[0], 'A'), task.messages(ex[2], 'A'), task.messages(ex[1], 'B')], 3, s.replace(seed=5))
    assert ro.texts[:2] == ['A #0', 'A #1'] and ro.texts[6:8] == ['B #2', 'B #3'] and reuse.reused == 4
    assert ro.prompt_index == [0, 0, 0, 1, 1, 1, 2, 2, 2] and ro.logprobs[0] == [-0.1, -0.2] and len(ro) == 9
    assert be.sizes[-1] == 5                                      # one call for the five it did not have
    assert reuse.generate([task.messages(ex[0], 'A')], 1, s).texts[0] not in ('A #0', 'A #1')   # each used once
    Evaluator(task, be, s, sink=reuse)([(Candidate('a', {'system_prompt': 'A'}), ex[3])])
    be.version = 1                                                # the weights moved: the kept rollout is stale
    assert reuse.generate([task.messages(ex[3], 'A')], 1, s).policy_version == 1 and reuse.reused == 4 and not reuse.store
    plain = EchoBackend()                                         # no log-probs (a toy): nothing is kept
    r2 = RolloutReuse(plain)
    Evaluator(task, plain, s, sink=r2)([(Candidate('a', {'system_prompt': 'A'}), ex[0])])
    assert r2.kept == 0

# ---- 2. in a run: the first RL step after a round trains on the round's rollouts, counted once

def _rules_run(tmp_path, name, **kw):
    from fst_nb.fst import FSTConfig, FSTRun
    from fst_nb.rules import RULES_SEED
    from test_fst_cycle import ScriptedRules   # registers the 'scripted-rules' backend (tiny model's real log-probs)
    cfg = FSTConfig(task='star_rules', preset='A', model='tiny', backend='scripted-rules', seed_prompt=RULES_SEED,
                    reflection_lm='feedback', cycles=1, rl_steps=2, problems=2, G=4, pool_k=2, gepa_budget=32, minibatch=3,
                    max_new_tokens=16, eval_problems=4, decompose=False, verbose=False, **kw)
    run = FSTRun.create(cfg, root=tmp_path, name=name)
    rows, gen = [], run.backend.generate
    def counted(convs, n=1, sampling=None):
        rows.append(len(convs) * n); return gen(convs, n, sampling)
    run.backend.generate = counted
    return run, rows

def test_rl_step_reuses_gepa_rollouts_counted_once(tmp_path):
    "Two runs of one GEPA round + two RL steps (tiny model, scripted policy: ~3 s), reuse off and on."
    from fst_nb.core import ConfigError
    from fst_nb.fst import FSTConfig
    from fst_nb.track import rollouts
    with pytest.raises(ConfigError, match='reuse_rollouts'): FSTConfig(reuse_rollouts='yes')
    out = {}
    for reuse in (False, True):
        run, rows = _rules_run(tmp_path, f'reuse{reuse}', reuse_rollouts=reuse)
        run.gepa_round()
        steps = [run.rl_step(), run.rl_step()]
        out[reuse] = (run, rows, steps)
    (off, rows_off, s_off), (on, rows_on, s_on) = out[False], out[True]
    assert on.prompts == off.prompts and on.gepa_calls == off.gepa_calls          # the same round either way
    assert 'step_reused' not in s_off[0] and off.rollouts_reused == 0
    k = s_on[0]['step_reused']
    assert 0 < k <= 2 * 4 and s_on[0]['groups_kept'] >= 1                     # some of step 1's 2 x 4 rollouts reused
    assert s_on[1]['step_reused'] == 0                                         # step 1 moved the weights: nothing matches
    assert on.rollouts_reused == k and on.samples_seen == off.samples_seen == 2 * 2 * 4
    # every completion generated once and counted once: RL samples + GEPA metric calls - the reused ones
    assert sum(rows_on) == sum(rows_off) - k == on.gepa_calls + on.samples_seen - k
    last = on.run_dir.read()[-1]
    assert last['rollouts_reused'] == k and rollouts(last) == sum(rows_on)
    # the scripted policy is deterministic: the reused rollouts are the ones RL would have drawn, so the step is the same
    for a, b in zip(s_off, s_on):
        assert a['loss'] == pytest.approx(b['loss'], abs=1e-6) and a['reward_mean'] == b['reward_mean']

# ---- 4. a litellm reflector's calls run concurrently; replies are matched to proposals by order, not completion time

def test_litellm_reflections_are_concurrent_and_in_proposal_order(tmp_path, monkeypatch):
    import time
    from types import SimpleNamespace as NS
    import fst_nb.reflect as R
    started = []
    def fake_request(self, prompt):                    # the first prompt answers last
        started.append(time.perf_counter()); k = len(started)
        time.sleep(0.5 - 0.1 * k)
        ids = sorted(set(re.findall(r'Secret word of (e\d+)\?', prompt)))
        return NS(choices=[NS(message=NS(content=f"Saw {ids}.\n```\n{current_text(prompt)} {'-'.join(ids)}\n```"))], usage=None)
    monkeypatch.setattr(R.LiteLLM, '_request', fake_request)
    monkeypatch.setattr(R, '_cost', lambda resp: 0.0)
    task, be = ToyTask(WORDS), EchoBackend()
    lm = R.LiteLLM('openai/fake', workers=4)
    g = Gepa(task, be, lm, seeds=['Say:'], rundir=RunDir.create({}, root=tmp_path, name='r'),
             cfg=GepaConfig(budget=200, minibatch=3, proposals_per_step=4, max_proposals=4, progress=False, verbose=False))
    t0 = time.perf_counter()
    g.round(task.examples())
    assert time.perf_counter() - t0 < 0.4 + 0.3 + 0.2 + 0.1          # the four calls overlapped
    assert max(started) - min(started) < 0.2                          # all four in flight at once
    crit = g.rundir.read('critiques.jsonl')
    assert [r['proposal'] for r in crit] == [0, 1, 2, 3]
    for r in crit: assert r['new_text'].endswith('-'.join(sorted(r['minibatch'])))   # each reply on its own proposal
