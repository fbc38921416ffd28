"""Proposals per GEPA round when the pool it carries must be re-scored under a new policy version.

The setting of issue 12, part 4, on a model-free toy (tests/_gepa_toys.py: the policy echoes its system prompt, an
example is solved when its secret word is in it): a carried pool of 6 prompts, 3 rounds, each under a new policy
version and on a new lookahead batch of 16 examples, a Pareto set of 8 or 16 of them, minibatch 3, and a reflector
that adds one word the feedback asks for. Prints proposals, accepted and metric calls per round at budgets 24/48/64.
Runs on any version of fst_nb (it uses only Gepa, GepaConfig and Pool), so it measures a change before and after:

    PYTHONPATH=. .venv/bin/python bench/gepa_rescore.py

Measured 2026-11-30 (per round, rounds 1-3: proposals, and metric calls used; the budget is per round):
                      before (no cap on re-scoring)            after (rescore_share=0.25)
  Pareto 8,  24       0,0,0   calls 48,48,48 (over budget)     1,1,1   calls 18,18,18 (Pareto set cut to 6)
  Pareto 8,  48       0,0,0   calls 48,48,48                   2,2,2   calls 36,36,36
  Pareto 8,  64       1,0,0   calls 62,56,56                   3,3,3   calls 58,58,58
  Pareto 16, 24/48/64 0,0,0   calls 96,96,96 (over budget)     1,1,1 / 2,2,2 / 2,2,2   calls 18 / 48 / 60
Every proposal here was accepted after the change (the reflector always adds a missing word).
"""
import os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'tests'))
from _gepa_toys import ToyTask, EchoBackend
from fst_nb.gepa import Gepa, GepaConfig, Pool

WORDS = [f'w{i}' for i in range(48)]

def one_word(prompt):
    "A reflector that adds the first word the feedback asks for."
    cur = re.search(r"```\n(.*?)\n```", prompt, re.S).group(1)
    want = re.findall(r"expected the word '(\w+)'", prompt)
    return f"Missing {want[0] if want else 'nothing'}.\n```\n{cur} {want[0] if want else 'more'}\n```"

def run(budget, pareto, rounds=3, carried=6):
    task, be = ToyTask(WORDS), EchoBackend()
    pool = Pool([f'Say: w{2 * i + 1}' for i in range(carried)])
    g = Gepa(task, be, one_word, pool=pool, cfg=GepaConfig(budget=budget, minibatch=3, pareto_size=pareto, top_k=4,
                                                           pool_size=8, progress=False, verbose=False))
    out = []
    for r in range(rounds):
        be.version = r + 1
        res = g.round(task.examples()[16 * r:16 * (r + 1)], cycle=r + 1)
        out.append((res.proposals, res.accepted, res.calls))
    return out

if __name__ == '__main__':
    for pareto in (8, 16):
        for budget in (24, 48, 64):
            rows = run(budget, pareto)
            print(f"Pareto {pareto:2d}  budget {budget:2d}: proposals {[p for p, _, _ in rows]}  accepted "
                  f"{[a for _, a, _ in rows]}  calls {[c for _, _, c in rows]}")
