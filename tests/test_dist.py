"""Data-parallel CISPO under torchrun: 2 gloo ranks on CPU train the same weights as one process.

Both runs use a scripted backend: each completion is a fixed function of its conversation (some problems answer the same
whatever the system prompt says, so their groups are uninformative and some rank-steps run no backward at all), and its
behaviour log-probs come from the model itself, so the CISPO ratio is exact. The rollouts are then identical however
the problems are split, and the final weights must agree to 1e-5. The policy runs in float64: in float32 the two runs pad
their batches differently (2 problems per rank vs 4), which changes the rounding of every logit, and Adam's division by
sqrt(v) amplifies those differences for the weights whose gradients are tiny; float64 makes the check about the
algorithm (normalisation, all-reduce, clipping), not about rounding. The tolerance is not loosened.
"""
import json, os, signal, subprocess, sys, textwrap, time
from pathlib import Path
import pytest
import torch
from fst_nb.dist import torchrun_cmd

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]

CISPO = textwrap.dedent('''
    import json, hashlib, sys
    from pathlib import Path
    from types import SimpleNamespace
    import torch
    torch.set_num_threads(1)
    from fst_nb import dist
    from fst_nb.models import load_policy
    from fst_nb.cispo import CISPOTrainer, TrainConfig
    from fst_nb.rollout import HFBackend, Rollouts, Sampling, chat_prompt_ids, sequence_logprobs

    WORDS = ['yes', 'no no', 'maybe so', 'ok', 'fine then', 'sure', 'a b c d', 'nope']

    class Scripted(HFBackend):
        "Completion = a fixed function of the conversation ('flat' problems ignore the system prompt); exact log-probs."
        @torch.no_grad()
        def generate(self, convs, n=1, sampling=Sampling()):
            r = Rollouts([], [], [], [], [], [], self.version)
            for i, c in enumerate(convs):
                key = c[-1]['content'] if 'flat' in c[-1]['content'] else json.dumps(c)
                text = WORDS[int(hashlib.md5(key.encode()).hexdigest(), 16) % len(WORDS)]
                p = chat_prompt_ids(self.tok, c)
                ids = self.tok(text, add_special_tokens=False)['input_ids'] + [self.eos]
                lp = sequence_logprobs(self.model, p, ids, sampling.temperature, sampling.top_p).float().tolist()
                for _ in range(n):
                    for f, v in zip(('prompt_index', 'prompt_ids', 'completion_ids', 'logprobs', 'texts', 'finish_reasons'),
                                    (i, p, ids, lp, text, 'stop')): getattr(r, f).append(v)
            return r

    class Parity:
        "Reward 1 for an even number of characters; problems 0, 3, 6, ... are 'flat' (always uninformative)."
        data = [{'id': str(i), 'q': f'Say {i} things.' + (' flat' if i % 3 == 0 else '')} for i in range(12)]
        def examples(self, split='train', n=None, seed=0): return self.data[:n]
        def messages(self, ex, context=None):
            return ([{'role': 'system', 'content': context}] if context else []) + [{'role': 'user', 'content': ex['q']}]
        def score_batch(self, comps, exs): return [SimpleNamespace(score=float(len(c) % 2 == 0), feedback='') for c in comps]

    out = Path(sys.argv[1]); out.mkdir(exist_ok=True)
    dist.init_distributed()
    tag = 'ddp' if dist.active() else 'single'
    try:
        for norm, acc in (('group', 1), ('token', 2)):
            pol = load_policy('tiny'); pol.model.double()
            cfg = TrainConfig(steps=3, problems=4, G=4, lr=3e-3, warmup_steps=0, max_new_tokens=8, beta=0.01, norm=norm,
                              grad_accum=acc, eval_every=0, seed=int(sys.argv[2]))
            tr = CISPOTrainer(pol, Parity(), cfg, backend=Scripted(pol), pool=['Be brief.', 'Count.', 'Go.'], verbose=False)
            start = {k: v.clone() for k, v in pol.model.state_dict().items()}
            calls, micro = [], tr.micro_loss
            def counted(b, w): calls[-1] += 1; return micro(b, w)
            tr.micro_loss = counted
            rows = []
            for _ in range(cfg.steps): calls.append(0); rows.append(tr.train_step())
            (out/f'{tag}-{norm}-calls{dist.rank()}.json').write_text(json.dumps(calls))
            if dist.is_main():
                torch.save({'start': start, 'end': pol.model.state_dict()}, out/f'{tag}-{norm}.pt')
                (out/f'{tag}-{norm}-rows.json').write_text(json.dumps(rows))
    finally: dist.shutdown()
''')

ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(ROOT), 'TOKENIZERS_PARALLELISM': 'false'}

def test_two_ranks_train_the_weights_one_process_trains(tmp_path):
    script = tmp_path/'cispo_ranks.py'; script.write_text(CISPO)
    single = subprocess.run([sys.executable, str(script), str(tmp_path), '1'], env={**ENV, 'WORLD_SIZE': '1'}, capture_output=True,
                            text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]
    ddp = subprocess.run(torchrun_cmd(2, script, tmp_path, 1), env=ENV, capture_output=True, text=True, timeout=300)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    for norm in ('group', 'token'):
        a, b = (torch.load(tmp_path/f'{t}-{norm}.pt') for t in ('single', 'ddp'))
        moved = max((a['end'][k] - a['start'][k]).abs().max().item() for k in a['end'])
        diff = max((a['end'][k] - b['end'][k]).abs().max().item() for k in a['end'])
        assert moved > 1e-3, (norm, moved)               # the weights moved by much more than the tolerance
        assert diff <= 1e-5, (norm, diff, moved)
        ra, rb = (json.loads((tmp_path/f'{t}-{norm}-rows.json').read_text()) for t in ('single', 'ddp'))
        for x, y in zip(ra, rb):   # rank 0's row describes the whole step
            assert (y['ranks'], x['samples_seen'], x['groups_kept']) == (2, y['samples_seen'], y['groups_kept'])
            assert abs(x['reward_mean'] - y['reward_mean']) < 1e-12 and abs(x['loss'] - y['loss']) < 1e-6, (x, y)
            assert abs(x['completion_len'] - y['completion_len']) < 1e-12 and abs(x['grad_norm'] - y['grad_norm']) < 1e-6
        calls = [json.loads((tmp_path/f'ddp-{norm}-calls{r}.json').read_text()) for r in range(2)]
        assert all(x > 0 for x in json.loads((tmp_path/f'single-{norm}-calls0.json').read_text()))
        assert any(c == 0 for cs in calls for c in cs), calls   # a rank with no informative group took part by zeros
