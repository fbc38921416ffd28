"Every registered task's verifier survives adversarial completions: a score in [0, 1], feedback, no exception, bounded time."
import time
from pathlib import Path
import pytest
from fst_nb.tasks import get_task, list_tasks, Verdict

HOVER_FILES = Path(__file__).parent/'data'/'hover'
TASKS = {'star_graph': dict(preset='tiny'), 'star_rules': dict(preset='A'), 'codeio': dict(preset='small'), 'math': dict(preset='small'),
         'hover': dict(preset='small'), 'physics': dict(preset='easy'),
         'hover_files': dict(corpus=str(HOVER_FILES/'corpus.jsonl'), test=str(HOVER_FILES/'claims.json'), k=2)}

def test_every_registered_task_is_covered():
    assert sorted(TASKS) == list_tasks(), "add the new task to TASKS so its verifier is tested adversarially"

ADVERSARIAL = {
    'empty': '',
    'none': None,
    'one_mb_text': 'x' * 1_000_000,
    'one_mb_boxed': '\\boxed{' + '1,' * 500_000 + '}',
    'unclosed_boxes': '\\boxed{' * 50_000,
    'stray_closers': '}' * 50_000 + '\\boxed{}' + '{' * 50_000,
    'deep_nesting': '\\boxed{' + '{' * 100_000 + '}' * 100_000 + '}',
    'json_deep_nesting': '\\boxed{' + '[' * 100_000 + ']' * 100_000 + '}',
    'many_boxed': '\\boxed{1} ' * 100_000,
    'unicode': 'Ünïcödé ∞ 😀 \\boxed{𝔘∞，３} \x00 \ud800 \\boxed{é}',
    'latex_junk': '\\boxed{\\frac{\\frac{1}{0}}{\\sqrt{-}}^{^{^}}}',
    'huge_number': '\\boxed{' + '9' * 5000 + '}',
    'control_chars': '\\boxed{\r\n\t\x0b}' * 1000,
}

_tasks, _examples = {}, {}

def task_and_example(name):
    if name not in _tasks:
        _tasks[name] = get_task(name, **TASKS[name])
        exs = _tasks[name].examples('test')
        # for retrieval, an example whose first hop misses a gold document (so that no query scores 0)
        _examples[name] = next((e for e in exs if not set(e.get('gold', [])) <= set(e.get('hop1', [None]))), exs[0])
    return _tasks[name], _examples[name]

@pytest.mark.parametrize('case', list(ADVERSARIAL))
@pytest.mark.parametrize('name', list(TASKS))
def test_verifier_survives(name, case):
    task, ex = task_and_example(name)
    t0 = time.time()
    v = task.score(ADVERSARIAL[case], ex)
    dt = time.time() - t0
    assert isinstance(v, Verdict) and 0.0 <= v.score <= 1.0
    assert isinstance(v.feedback, str) and v.feedback.strip()
    assert dt < 10, f"{name}/{case} took {dt:.1f}s"

@pytest.mark.parametrize('name', list(TASKS))
def test_batch_matches_single_and_gold_scores_one(name):
    task, ex = task_and_example(name)
    comps = [task.reference(ex), 'nothing', '\\boxed{' * 3]
    vs = task.score_batch(comps, [ex] * 3)
    assert [v.score for v in vs] == [task.score(c, ex).score for c in comps]
    assert vs[0].score == 1.0 and vs[1].score == 0.0

def test_messages_protocol():
    for name in TASKS:
        task, ex = task_and_example(name)
        m = task.messages(ex, context='CTX')
        assert m[0] == {'role': 'system', 'content': 'CTX'} and m[1]['role'] == 'user' and m[1]['content']
        assert task.messages(ex)[0]['role'] == 'user'
        ids = [e['id'] for e in task.examples('test')]
        assert len(ids) == len(set(ids)) and all(isinstance(i, str) for i in ids)

@pytest.mark.parametrize('name', list(TASKS))
def test_scoring_from_threads(name):
    "Rollout code may score from worker threads: same verdicts as sequential scoring (math-verify's signals never used)."
    from concurrent.futures import ThreadPoolExecutor
    task, _ = task_and_example(name)
    exs = task.examples('test')[:6]
    comps = [task.reference(e) if i % 2 == 0 else 'no answer \\boxed{0}' for i, e in enumerate(exs)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda ce: task.score(*ce).score, zip(comps, exs)))
    assert got == [task.score(c, e).score for c, e in zip(comps, exs)]
