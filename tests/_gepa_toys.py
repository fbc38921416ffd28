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

# ---- house rules: conventions the verifier names in template sentences (CONTRACT.md), a policy that follows them

SEP, WRAP, END = "Separate the nodes with '{}'.", "Write the final answer as '{}'.", "End the answer with '{}'."
DEFAULT_RULE = {'sep': ',', 'wrap': '\\boxed{...}', 'end': ''}

class RulesToyTask:
    "Write the nodes of an example's path under a hidden rule set; every broken convention gets one template sentence."
    def __init__(self, rule, name='rules_toy', key=None, n=24, slip_every=4):
        self.rule, self.name, self.key, self.n, self.slip_every = {**DEFAULT_RULE, **rule}, name, key, n, slip_every
    def examples(self, split='train', n=None, seed=0):
        return [{'id': f'e{i}', 'path': [i % 10, (3 * i + 1) % 10, (7 * i + 2) % 10], 'slip': i % self.slip_every == 3}
                for i in range(self.n)][:n]
    def messages(self, ex, context=None):
        user = f"Nodes {' '.join(map(str, ex['path']))}" + (' (hard)' if ex['slip'] else '')
        return ([{'role': 'system', 'content': context}] if context else []) + [{'role': 'user', 'content': user}]
    def score(self, completion, ex):
        r, path, fb = self.rule, [str(x) for x in ex['path']], []
        body = completion[:len(completion) - len(r['end'])] if r['end'] and completion.endswith(r['end']) else completion
        pre, post = r['wrap'].split('...')
        if not (body.startswith(pre) and body.endswith(post)): fb.append(WRAP.format(r['wrap']))
        nodes, inner = re.findall(r'\d+', body), re.search(r'\d.*\d|\d', body)
        if inner is None or inner.group() != r['sep'].join(nodes): fb.append(SEP.format(r['sep']))
        if r['end'] and not completion.endswith(r['end']): fb.append(END.format(r['end']))
        if nodes != path: fb.append(f"The path stops at {nodes[-1] if nodes else 'nothing'}. "
                                    f"Continue from {path[-2]} to {path[-1]} before you stop.")
        ok, broken = not fb, len(fb) - (nodes != path)
        if broken > 1: fb.insert(0, f"The answer breaks {broken} house rules.")
        return NS(score=float(ok), feedback='Correct.' if ok else ' '.join(fb), info={})
    def score_batch(self, completions, examples): return [self.score(c, e) for c, e in zip(completions, examples)]

def stated(system, template, default):
    "The last literal the system prompt states for `template` (a policy warm-started to read its context)."
    pat = re.escape(template).replace(re.escape("'{}'"), "'([^'\\n]*)'")
    found = re.findall(pat, system or '')
    return found[-1] if found else default

class RuleFollowingBackend(EchoBackend):
    "Writes each path under the conventions its system prompt states (defaults otherwise); slips on 'hard' examples."
    def generate(self, convs, n=1, sampling=None):
        self.sizes.append(len(convs) * n)
        texts = [self._answer(c) for c in convs for _ in range(n)]
        return NS(prompt_index=[i for i in range(len(convs)) for _ in range(n)], texts=texts,
                  finish_reasons=['stop'] * len(texts), policy_version=self.version)
    def _answer(self, conv):
        sys = next((m['content'] for m in conv if m['role'] == 'system'), '')
        user = conv[-1]['content']
        nodes = re.findall(r'\d+', user)[:-1] if '(hard)' in user else re.findall(r'\d+', user)
        sep, wrap, end = (stated(sys, SEP, DEFAULT_RULE['sep']), stated(sys, WRAP, DEFAULT_RULE['wrap']),
                          stated(sys, END, DEFAULT_RULE['end']))
        return wrap.replace('...', sep.join(nodes)) + end
