"Verdicts per second for each task's verifier, on a realistic mix of completions (correct, wrong, no answer, junk)."
import json, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from fst_nb.tasks import get_task

TASKS = {'star_graph/tiny': ('star_graph', dict(preset='tiny')), 'star_graph/paper': ('star_graph', dict(preset='paper')),
         'codeio/small': ('codeio', dict(preset='small')), 'math/small': ('math', dict(preset='small')),
         'hover/small': ('hover', dict(preset='small')), 'physics/tiny': ('physics', dict(preset='tiny')),
         'physics/paper': ('physics', dict(preset='paper'))}

def completions(task, ex, i):
    "Four kinds of completion, chosen by i: correct, wrong, no boxed answer, junk."
    ref = task.reference(ex)
    kind = i % 4
    if kind == 0: return "Let me think step by step. ... " + ref
    if kind == 1: i = ref.rfind('\\boxed{') + 7; return ref[:i] + '9' + ref[i:]   # a perturbed boxed answer
    if kind == 2: return "I think the answer is something, but I am not sure. " * 20
    return "\\boxed{" + "{[(" * 200 + "}"

def bench(label, name, params, n=400):
    task = get_task(name, **params)
    t0 = time.time(); task.examples('train'); exs = task.examples('test'); load = time.time() - t0
    exs = [exs[i % len(exs)] for i in range(n)]
    comps = [completions(task, e, i) for i, e in enumerate(exs)]
    task.score_batch(comps[:24], exs[:24])                    # warm-up (starts workers, builds indexes)
    t0 = time.time(); vs = task.score_batch(comps, exs); dt = time.time() - t0
    acc = sum(v.score for v in vs) / n
    print(f"{label:18} {n / dt:9.0f} verdicts/s  ({n} in {dt:.2f}s; mean score {acc:.2f}; loading both splits {load:.2f}s)")

if __name__ == '__main__':
    only = sys.argv[1:]
    for label, (name, params) in TASKS.items():
        if not only or any(o in label for o in only): bench(label, name, params)
