"Toy task, backend and reflection functions for the GEPA tests (no model needed)."
import re
from types import SimpleNamespace as NS

class ToyTask:
    "An example is solved when its secret word appears in the answer; the feedback names the word."
    name = 'toy'
    def __init__(self, words): self.words = list(words)
    def examples(self, split='train', n=None, seed=0):
        return [{'id': f'e{i}', 'word': w} for i, w in enumerate(self.words)][:n]
    def messages(self, ex, context=None):
        return ([{'role': 'system', 'content': context}] if context else []) + [{'role': 'user', 'content': f"Secret word of {ex['id']}?"}]
    def score(self, completion, ex):
        ok = ex['word'] in completion.split()
        return NS(score=float(ok), feedback='Correct.' if ok else f"Wrong: expected the word '{ex['word']}'.", info={})
    def score_batch(self, completions, examples): return [self.score(c, e) for c, e in zip(completions, examples)]

class EchoBackend:
    "Answers every conversation with its system prompt; records the size of every generate call."
    name = 'echo'
    def __init__(self, version=0): self.version, self.sizes = version, []
    def generate(self, convs, n=1, sampling=None):
        self.sizes.append(len(convs) * n)
        texts = [next((m['content'] for m in c if m['role'] == 'system'), '') for c in convs for _ in range(n)]
        return NS(prompt_index=[i for i in range(len(convs)) for _ in range(n)], texts=texts,
                  finish_reasons=['stop'] * len(texts), policy_version=self.version)

def current_text(prompt): return re.search(r"```\n(.*?)\n```", prompt, re.S).group(1)

def reader(prompt):
    "A reflection 'LM' that adds the words the feedback asked for."
    want = re.findall(r"expected the word '(\w+)'", prompt)
    return f"Missing {', '.join(want) or 'nothing'}.\n```\n{current_text(prompt)} {' '.join(want)}\n```"

def useless(prompt):
    "Well-formed replies that never help: a new, harmless text each time."
    useless.n = getattr(useless, 'n', 0) + 1
    return f"Try again.\n```\n{current_text(prompt)} filler{useless.n}\n```"
