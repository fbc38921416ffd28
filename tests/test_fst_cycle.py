"""A fast end-to-end FST cycle on the house-rules task, with a scripted policy.

Everything is real — FSTRun, the GEPA round with the `feedback` reflector and its acceptance test, the CISPO step on the
tiny model, the evaluation with the pool's prompt, the checkpoint — except the policy's choices: each answer is the
right path written under the conventions its system prompt states (rule set B where it states none), scored by the
tiny model's own log-probs so CISPO's ratio is exact. The real policy runs the same loop in tests/test_fst_vs_rl.py.
"""
import re
from fst_nb.fst import FSTConfig, FSTRun
from fst_nb.rollout import ScriptedBackend, register_backend
from fst_nb.rules import DIMENSIONS, PRESETS, RULES_SEED, TEMPLATES, RuleSet, render

def stated(system: str, dim: str) -> str:
    "The value of `dim` the system prompt states with the verifier's sentence, else rule set B's."
    return next((v for v, lit in DIMENSIONS[dim].items() if TEMPLATES[dim].format(lit) in system), getattr(PRESETS['B'], dim))

def answer(conv) -> str:
    system = next((m['content'] for m in conv if m['role'] == 'system'), '')
    src, goal = (re.search(rf'{k} (\d+)', conv[-1]['content']).group(1) for k in ('Source', 'Goal'))
    return render([src, goal], RuleSet(**{d: stated(system, d) for d in DIMENSIONS}))

@register_backend('scripted-rules')
class ScriptedRules(ScriptedBackend):
    "Completions that follow the rules the system prompt states, with the tiny model's real behaviour log-probs."
    def __init__(self, policy): super().__init__(policy, answer)

def test_scripted_policy_follows_its_prompt():
    conv = [{'role': 'system', 'content': RULES_SEED + " Separate the nodes with ';'."}, {'role': 'user', 'content': 'Edges 3 4 | 3 5\nSource 3\nGoal 4'}]
    assert answer(conv) == '\\boxed{3;4}.'

def test_fst_cycle_accepts_a_proposal_and_rl_uses_it(tmp_path):
    cfg = FSTConfig(task='star_rules', preset='A', model='tiny', backend='scripted-rules', seed_prompt=RULES_SEED,
                    reflection_lm='feedback', cycles=1, rl_steps=2, problems=2, G=4, pool_k=2, gepa_budget=32, minibatch=3,
                    max_new_tokens=16, eval_problems=4, decompose=False, verbose=False)
    run = FSTRun.create(cfg, root=tmp_path).train()
    rows = run.run_dir.read()
    gepa = [r for r in rows if r['kind'] == 'gepa']
    assert gepa and gepa[0]['accepted'] >= 1, gepa
    best = run.prompts[0]
    assert len(set(run.prompts)) == len(run.prompts) == 2, run.prompts   # siblings with the same text are one candidate
    assert best != RULES_SEED and all(s in best for s in PRESETS['A'].instructions() if "'.'" not in s), best
    train = [r for r in rows if r['kind'] == 'train']
    assert len(train) == 2 and all(r['n_prompts'] == 2 and r['groups_kept'] >= 1 for r in train)   # seed and evolved prompt disagree
    final = {r['prompt']: r['reward_mean'] for r in rows if r['kind'] == 'eval' and r['cycle'] == 1}
    assert final == {'seed': 0.0, 'pool': 1.0}, final
    assert [p.name for p in run.run_dir.checkpoints()] == ['ckpt-00000001']
