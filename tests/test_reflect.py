"Reflection LMs: the litellm wrapper with a fake transport."
import pytest

# ---- litellm wrapper: retries, backoff and usage, with a fake transport (the real server test is in test_gepa_slow.py)

def test_litellm_retries_and_tracks_usage(monkeypatch):
    import fst_nb.reflect as G
    from types import SimpleNamespace as NS
    calls, sleeps = [], []
    def fake_request(self, prompt):
        calls.append(prompt)
        if len(calls) < 3: raise ConnectionError('refused')
        return NS(choices=[NS(message=NS(content='ok\n```\nnew\n```'))], usage=NS(prompt_tokens=11, completion_tokens=4))
    monkeypatch.setattr(G.LiteLLM, '_request', fake_request)
    monkeypatch.setattr(G, '_cost', lambda resp: 0.002)
    monkeypatch.setattr(G.time, 'sleep', sleeps.append)
    lm = G.LiteLLM('openai/x', retries=3, backoff=0.5)
    r = lm.complete(['p'])[0]
    assert (r.text, r.tokens_in, r.tokens_out, r.cost, r.error) == ('ok\n```\nnew\n```', 11, 4, 0.002, None)
    assert sleeps == [0.5, 1.0] and len(calls) == 3                      # exponential backoff between attempts
    calls.clear(); sleeps.clear()
    lm2 = G.LiteLLM('openai/x', retries=1, backoff=0.1)
    monkeypatch.setattr(G.LiteLLM, '_request', lambda self, p: (_ for _ in ()).throw(TimeoutError('slow')))
    r2 = lm2.complete(['a', 'b'])
    assert all(x.text == '' and x.error == 'TimeoutError: slow' for x in r2) and lm2.errors == 2
    assert (lm.calls, lm.tokens_in, lm.cost) == (1, 11, 0.002)

# ---- FeedbackLM on recorded reflective datasets (hand-written in the rules verifier's sentence forms, CONTRACT.md)

import re
from hypothesis import given, settings, strategies as hs
from fst_nb.core import ConfigError
from fst_nb.reflect import (NO_CHANGE, FeedbackLM, check_reflection_lm, make_reflector, parse_reply, rank_instructions,
                            read_reflection_prompt, reflection_prompt, split_sentences)

def rec(inp, out, score, fb): return {'Inputs': inp, 'Generated Outputs': out, 'Feedback': f'Score {score:.2f}. {fb}'.strip()}

SEP, WRAP, NODE, END = ("Separate the nodes with ' then '.", "Write the final answer as '[[...]]'.",
                        "Write each node as 'node 7'.", "End the answer with '!'.")
STAR = [   # rule set: ' then ', [[...]], 'node N', '!'; the parent states ';' and nothing else
    rec('Edges 7 2 | 7 9 | 9 4\nSource 7\nGoal 4', '\\boxed{7;9;4}', 0,
        f"The answer breaks 4 house rules. {SEP} {WRAP} {NODE} {END}"),
    rec('Edges 7 2 | 7 9 | 9 4\nSource 7\nGoal 4', '[[7 then 2]]', 0,          # a second rollout of the same example
        f"The answer breaks 2 house rules. {NODE} {END} Node 2 is a dead end; go from 7 to 9 instead."),
    rec('Edges 1 6 | 6 2 | 1 4\nSource 1\nGoal 2', '[[node 1 then node 6 then node 2]]!', 1, 'Correct.'),
    rec('Edges 3 5 | 5 8 | 3 0\nSource 3\nGoal 8', '\\boxed{3;0;8}', 0,
        f"The answer breaks 4 house rules. {SEP} {WRAP} {NODE} {END} The edge 0-8 is not in the graph. "
        "Go from 3 to 5 instead."),
    rec('Edges 8 0 | 0 5\nSource 8\nGoal 5', '[[node 8 ; node 0 ; node 5]]!', 0,
        f"The answer breaks 1 house rule. {SEP}")]
PARENT = "Find the path from the source to the goal. Separate the nodes with ';'."

def test_feedback_lm_rewrites_house_rules():
    lm = FeedbackLM()
    reply = lm(reflection_prompt('system_prompt', PARENT, STAR))
    new, critique, why = parse_reply(reply, PARENT)
    assert why == 'ok', reply
    # ';' replaced in place by the recurring separator; the others appended, most frequent first, ties in order seen
    assert new == f"Find the path from the source to the goal. {SEP} {WRAP} {NODE} {END}"
    for content in ('dead end', 'Node 2', 'not in the graph', 'Go from', 'house rule'):   # example-specific or descriptive
        assert content not in new
    assert '4 of 5 attempts failed' in critique and f'"{SEP}" (3 of 3 failed inputs)' in critique
    assert lm.errors == 0 and lm.calls == 1

def test_rank_counts_inputs_not_rollouts():
    _, recs = read_reflection_prompt(reflection_prompt('system_prompt', PARENT, STAR))
    ranked = dict(rank_instructions(recs))
    assert ranked == {SEP: 3, NODE: 2, END: 2, WRAP: 2}           # the repeated example counts once
    twice = [rec('same input', 'a', 0, 'Go from 3 to 5 instead. Separate the nodes with x.')] * 2 + \
            [rec('other input', 'b', 0, 'Go from 3 to 5 instead.')]
    _, r2 = read_reflection_prompt(reflection_prompt('p', 'T.', twice))
    assert dict(rank_instructions(r2)) == {'Go from 3 to 5 instead.': 2}   # recurrence is what makes an instruction

MATH = [   # math house rules: wrapper 'Answer: ...', terminator '.'
    rec('What is 17 + 25?', '\\boxed{42}', 0, "Write the final answer as 'Answer: ...'. End the answer with '.'."),
    rec('What is 6 * 7 - 3?', '\\boxed{40}', 0, "Write the final answer as 'Answer: ...'. End the answer with '.'. "
        "The result 40 is wrong; 6 * 7 - 3 = 39. Compute the product first."),
    rec('What is 9 - 4?', 'Answer: 5', 0, "End the answer with '.'.")]

def test_feedback_lm_math_and_a_conflicting_parent():
    parent = "Solve the problem. Write the final answer as '\\boxed{...}'."
    new, _, why = parse_reply(FeedbackLM()(reflection_prompt('system_prompt', parent, MATH)), parent)
    assert why == 'ok' and new == "Solve the problem. Write the final answer as 'Answer: ...'. End the answer with '.'."
    assert 'Compute the product first' not in new          # imperative but given for one input only

def test_feedback_lm_says_no_change_with_the_current_text():
    "Nothing to change: the reply repeats the current text in a block (NO_CHANGE, not malformed); no text: no block."
    lm, ok, stated = FeedbackLM(), rec('x', 'y', 1, 'Correct.'), f'{SEP} {NODE} {END} {WRAP}'
    cases = {'no failed record': (PARENT, [ok, ok]),
             'no instruction': (PARENT, [rec('a', 'b', 0, 'The answer is wrong.'), rec('c', 'd', 0, 'It does not parse.')]),
             'already stated': (stated, STAR), 'no records': (PARENT, [])}
    for name, (text, recs) in cases.items():
        r = lm.complete([reflection_prompt('system_prompt', text, recs)])[0]
        assert r.error is None and r.text.rstrip().endswith(f'```\n{text}\n```'), (name, r.text)
        new, critique, why = parse_reply(r.text, text)
        assert (new, why) == (None, NO_CHANGE) and critique.endswith('no change.'), (name, r.text)
    for name, prompt in {'not a reflection prompt': 'hello', 'empty': ''}.items():
        r = lm.complete([prompt])[0]
        assert r.error is None and parse_reply(r.text, PARENT)[2] == 'no ``` block with a new text', name

def test_feedback_lm_reads_the_gepa_package_prompt():
    "gepa's own reflection prompt (records as markdown in a fenced block) gives the same new text, parsed by gepa's extractor."
    from gepa.strategies.instruction_proposal import InstructionProposalSignature as Sig
    theirs = Sig.prompt_renderer({'current_instruction_doc': PARENT, 'dataset_with_feedback': STAR})
    text, recs = read_reflection_prompt(theirs)
    assert text == PARENT and [r['score'] for r in recs] == [0, 0, 1, 0, 0]
    ours = parse_reply(FeedbackLM()(reflection_prompt('system_prompt', PARENT, STAR)), PARENT)[0]
    assert Sig.output_extractor(FeedbackLM()(theirs))['new_instruction'] == ours
    # gepa's adapter docs suggest dicts for Inputs (rendered as '### key' sections): read the same way
    as_dicts = [{**r, 'Inputs': {'graph': r['Inputs']}, 'Generated Outputs': {'answer': r['Generated Outputs']}} for r in STAR]
    theirs2 = Sig.prompt_renderer({'current_instruction_doc': PARENT, 'dataset_with_feedback': as_dicts})
    assert Sig.output_extractor(FeedbackLM()(theirs2))['new_instruction'] == ours

@settings(max_examples=80, deadline=None)
@given(hs.lists(hs.tuples(hs.text(max_size=30), hs.text(max_size=30), hs.sampled_from([0.0, 0.5, 1.0]),
                          hs.text(alphabet=hs.sampled_from(list("Ab '.!?x\n`#:Score0")), max_size=80)), max_size=5),
       hs.text(max_size=40))
def test_feedback_lm_never_raises(records, parent):
    prompt = reflection_prompt('system_prompt', parent, [rec(*r) for r in records])
    r = FeedbackLM().complete([prompt])[0]
    assert r.error is None
    new, _, why = parse_reply(r.text, parent)
    assert new is None or why == 'ok'

def test_split_sentences_keeps_quoted_literals():
    assert split_sentences("End the answer with '.'. Use '<answer>...</answer>'! Don't stop") == \
        ["End the answer with '.'.", "Use '<answer>...</answer>'!", "Don't stop"]

def test_reflection_lm_is_checked_up_front():
    from fst_nb.fst import FSTConfig
    for bad in ('scripted', 'gpt4', ''):
        with pytest.raises(ConfigError, match=r"'self'.*'feedback'.*'provider/model'"): FSTConfig(reflection_lm=bad)
        with pytest.raises(ConfigError, match='provider/model'): make_reflector(bad)
    assert FSTConfig(reflection_lm='feedback').reflection_lm == 'feedback'
    assert check_reflection_lm('openai/gpt-4.1-mini') == 'openai/gpt-4.1-mini'
    assert isinstance(make_reflector('feedback'), FeedbackLM)

# ---- a rule broken in only some failures still reaches the prompt (issue 19.2); advice about one example does not

from fst_nb.rules import DIMENSIONS, PRESETS, RuleSet, instruction, render, rules_verdict

def test_every_rule_sentence_is_kept_from_one_failed_input():
    "Each verifier template sentence (all 4 dimensions, every value) ranks from a single failed input of three."
    for d, vs in DIMENSIONS.items():
        for v in vs:
            s = instruction(d, v)
            recs = [{'input': 'a', 'score': 0.0, 'feedback': f'The answer breaks 1 house rule. {s}'},
                    {'input': 'b', 'score': 0.0, 'feedback': 'The path 3 5 is not the path from 3 to 8; it is 3 9 8.'},
                    {'input': 'c', 'score': 0.0, 'feedback': 'The path starts at 4 but must start at the source 3.'}]
            assert rank_instructions(recs) == [(s, 1)], (d, v)

def test_real_verifier_prefix_broken_once_reaches_the_prompt():
    "Preset B, separator and wrapper stated; of three failed inputs only one writes 'node N': the prefix rule is added."
    from fst_nb.tasks import get_task
    task, rs = get_task('star_rules', preset='B', graphs='easy'), PRESETS['B']
    exs = task.examples('train', n=3)
    def wrong(ex):   # the other arm of a two-armed 'easy' graph
        ends = [b if a == ex['source'] else a for a, b in (map(int, e.split(',')) for e in ex['graph'].split()) if ex['source'] in (a, b)]
        return [ex['source'], next(x for x in ends if x != ex['goal'])]
    node = RuleSet(rs.sep, rs.wrap, 'node')
    outs = [render(wrong(exs[0]), node), render(wrong(exs[1]), rs), render(wrong(exs[2]), rs)]   # one breaks the prefix
    recs = []
    for ex, out in zip(exs, outs):
        v = rules_verdict(out, ex, rs)
        recs.append(rec(task.prompt(ex), out, v.score, v.feedback))
    assert [r['Feedback'].count("Write each node as") for r in recs] == [1, 0, 0]
    parent = f"Solve the problem. {instruction('sep', rs.sep)} {instruction('wrap', rs.wrap)}"
    new, critique, why = parse_reply(FeedbackLM()(reflection_prompt('system_prompt', parent, recs)), parent)
    assert why == 'ok' and new == f"{parent} {instruction('prefix', 'bare')}", (why, critique)
    assert '(1 of 3 failed inputs)' in critique
    assert not re.search(r'\d', new.replace("'7'", ''))              # no node numbers from the content feedback

def test_one_off_advice_and_changing_literals_stay_out():
    "Content advice from one input (numbers, or no literal) and a template whose literal changes with the input are not rules."
    recs = [{'input': 'a', 'score': 0.0, 'feedback': "Write the final answer as '42'. Compute the product first."},
            {'input': 'b', 'score': 0.0, 'feedback': "Write the final answer as '39'. Go from 3 to 5 instead."},
            {'input': 'c', 'score': 0.0, 'feedback': "Use 'node 7' for node 12."}]
    assert rank_instructions(recs) == []
    recs[2]['feedback'] = "Write the final answer as '39'."                      # the same literal recurring is a rule again
    assert rank_instructions(recs) == [("Write the final answer as '39'.", 2)]

def test_gepa_states_a_rule_the_policy_mostly_follows_by_itself():
    """bench/reflect_recurrence.py's scripted policy writes the hidden prefix right 90% of the time unprompted: within 8 real
    GEPA rounds the best prompt states all three rules in most runs (before the change: 5 of 12 runs)."""
    import importlib.util, pathlib
    path = pathlib.Path(__file__).parents[1] / 'bench' / 'reflect_recurrence.py'
    spec = importlib.util.spec_from_file_location('reflect_recurrence', path)
    bench = importlib.util.module_from_spec(spec); spec.loader.exec_module(bench)
    runs = [bench.run(PRESETS['B'], s, rounds=8, bias=0.9, bias_dims=['prefix']) for s in range(12)]
    assert sum(r['done'] for r in runs) >= 10, [r['rounds'] for r in runs]
    assert all(r['first'].get('sep') == 1 and r['first'].get('wrap') == 1 for r in runs)   # the others come at once
