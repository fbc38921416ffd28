"Thinking mode: the Qwen3-shaped template's switch reaches every prompt, and verifiers read only the text after </think>."
import copy, pytest, torch
from fst_nb.models import load_policy, qwen3_chat_template, CHAT_TEMPLATE
from fst_nb.rollout import chat_prompt_ids, make_backend, Sampling
from fst_nb.tasks import get_task, after_thinking

HI = [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi'}]

@pytest.fixture(scope='module')
def pol(): return load_policy('tiny')

@pytest.fixture(scope='module')
def q3(pol):
    t = copy.deepcopy(pol.tokenizer); t.chat_template = qwen3_chat_template()
    return t

def test_qwen3_template_switch(q3, pol):
    off = q3.apply_chat_template(HI, tokenize=False, add_generation_prompt=True, enable_thinking=False)
    on = q3.apply_chat_template(HI, tokenize=False, add_generation_prompt=True, enable_thinking=True)
    assert off.endswith('<|im_start|>assistant\n<think>\n\n</think>\n\n') and off == on + '<think>\n\n</think>\n\n'
    assert on.endswith('<|im_start|>assistant\n') and '<think>' not in on
    assert q3.decode(chat_prompt_ids(q3, HI)) == off                      # chat_prompt_ids: thinking off by default
    assert q3.decode(chat_prompt_ids(q3, HI, thinking=True)) == on
    assert pol.tokenizer.chat_template == CHAT_TEMPLATE                   # the default tiny template is unchanged
    assert chat_prompt_ids(pol.tokenizer, HI, True) == chat_prompt_ids(pol.tokenizer, HI, False)

def test_backends_render_with_their_switch(pol, q3):
    p = copy.copy(pol); p.tokenizer = q3
    be = make_backend('hf', p)
    assert be.thinking is False
    s = Sampling(max_new_tokens=2, seed=0)
    off = be.generate([HI], 1, s).prompt_ids[0]
    be.thinking = True
    on = be.generate([HI], 1, s).prompt_ids[0]
    assert q3.decode(off).endswith('</think>\n\n') and off[:len(on)] == on and len(off) > len(on)

def test_config_fields_default_off_and_reach_the_backend(pol):
    from fst_nb.fst import FSTConfig
    from fst_nb.cispo import CISPOTrainer, TrainConfig
    assert FSTConfig().thinking is False and TrainConfig().thinking is False
    t = CISPOTrainer(pol, get_task('star_graph'), TrainConfig(thinking=True, eval_every=0, beta=0), verbose=False)
    assert t.backend.thinking is True

def test_after_thinking():
    assert after_thinking('\\boxed{1}') == '\\boxed{1}'
    assert after_thinking('<think>\\boxed{2}</think>\n\\boxed{1}') == '\n\\boxed{1}'
    assert after_thinking('<think>\\boxed{2}') is None
    assert after_thinking('<think>a</think> b <think> c') is None
    assert after_thinking('</think>x') == 'x'

def _cases(name, **kw):
    "A task and an example whose reference answer scores 1 and an empty answer 0."
    try: task = get_task(name, **kw); exs = task.examples('test', n=20, seed=0)
    except Exception as e: pytest.skip(f"{name}: {e}")
    for ex in exs:
        ref = task.reference(ex)
        if ref is not None and task.score(ref, ex).score == 1 and task.score('', ex).score == 0: return task, ex, ref
    pytest.skip(f"{name}: no example with a reference answer scoring 1")

@pytest.mark.parametrize('name', ['star_graph', 'math', 'codeio', 'hover', 'star_rules', 'physics'])
def test_verifiers_read_only_after_think(name):
    task, ex, ref = _cases(name)
    texts = [ref,                                          # no thinking: as before
             f"<think>let me see\n{ref}</think>\n",        # the right answer only inside the thoughts: does not count
             f"<think>hmm \\boxed{{0}}</think>\n{ref}",     # a wrong box in the thoughts, the right answer after
             f"<think>long thoughts {ref} and more",       # never closed: ran out of tokens
             f"{ref}<think>and again"]                      # reopened and cut
    vs = task.score_batch(texts, [ex] * len(texts))
    assert [v.score for v in vs] == [1.0, 0.0, 1.0, 0.0, 0.0], [(v.score, v.feedback) for v in vs]
    for v in vs[3:]:
        assert 'ran out of tokens while thinking' in v.feedback and v.info['error'] == 'thinking'
    assert 'ran out of tokens' not in vs[1].feedback
    assert [task.score(t, ex).score for t in texts] == [v.score for v in vs]   # score and score_batch agree
