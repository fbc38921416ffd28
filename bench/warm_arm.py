"""Why the warm start's arm is slow: the `tiny-star-rules-v2` loop with the changes tried on it, and where its answers fail.

Runs the v2 recipe's training loop (same draws as `warm_start`, so with no change it trains the same model) and, every
`--check` steps, the criterion's greedy check (64 held-out graphs, held-out wordings) of the raw weights and, with `--ema`,
of an exponential moving average of them. When the arm is below 0.97 once the source is in, it prints where the second
node went: `ok` (a neighbour of the source), `notnbr` (a node off the graph), `notnbr_ingraph` (in the graph, not a
neighbour: mostly the source again), `len1`, `long`, `nosource`, `noids`, with three failing answers (a second greedy pass over the
same 64 graphs: `rules_compliance` returns rates, not texts).
Changes: `--ema D`; `--nogoal P --nogoal-from S` (drop the user message's `Goal N` line from a share P of the examples
after step S: the goal is always a neighbour, a shortcut the prompt names as it names the source); `--resume CKPT`
(a checkpoint this script wrote every 300 steps with `--out`) with `--anneal N` (learning rate from the schedule's value
at that step to 0 over N steps, cosine); `--wd W --wd-from S` (AdamW weight decay after step S, 0 in the warm start); `--set k=v` for any WarmStart field (e.g. `model=tiny-numbers-l4`, the
`tiny-numbers` model with 4 layers, or `tiny-numbers-h8` with 8 heads of 32, registered here only);
`--prompt-loss W [--user-only]` (add W times the next-token loss of the prompt's tokens, or of the user message's only:
edges, source, goal, where predicting `Goal N` is the neighbour look-up the arm needs); `--fixed-until S [--fixed-set R]`
(a curriculum: for the first S steps one rule set, never stated, so the path is the only thing to learn); `--data-seed D`
(the examples drawn from seed D, the initialisation still from `--seed`: which of the two decides a plateau).
One JSON line per check.

    PYTHONPATH=. OMP_NUM_THREADS=1 python bench/warm_arm.py --seed 4 --steps 1000 [--ema 0.99] [--out /tmp/w/s4]
    ... --seed 4 --steps 1000 --resume /tmp/w/s4.s300.pt --nogoal 0.5
    ... --seed 3 --steps 900 --resume /tmp/w/s3.s600.pt --anneal 300 --check 50
    ... --seed 4 --steps 1000 --prompt-loss 1.0 [--user-only];  ... --seed 3 --fixed-until 200;  ... --seed 4 --data-seed 0

Measured 2026-12-03 (2 cores, avx512_bf16, no amx; two 1-thread runs at a time): see 03d, "Where the arm fails". In short:
the plateau (arm 0.4-0.85 with every rule at 1.00) is a stable partial solution, not noise: the EMA's arm is no higher,
annealing the learning rate from the plateau leaves it there, three-hop graphs throughout, a fourth layer and eight heads
do not lift it. Dropping the goal line (0.4 -> 0.83) and weight decay 1.0 (0.4 -> 0.91 by step 1,400) lifted seed 4; neither
lifted seed 3 (0.73-0.84), and dropping the goal line delayed seed 3's separator past the end of the run. Weight decay from
step 600, seed 4, run twice: the same checks at every step.
Fourth session (03d, "Three more changes, and which draw decides"): the prompt loss lifted seed 4 (0.92 at 1,000) and
stalled seed 3's source; the fixed-format start lifted seed 3 (0.91 at 1,000) and not seed 4 (0.67); both together gave
seed 3 an arm of 0.92-0.94 with its node style at ~0.5, and held seed 4's separator at chance; weight decay from step 0
held the source back on both to step 700. Swapped draws (`--data-seed`): neither initialisation nor example order decides alone.
"""
import argparse, copy, json, math, random, re, time
from collections import Counter
import torch
import fst_nb.warmstart as W
from fst_nb import models as M
from fst_nb.models import load_policy
from fst_nb.rollout import make_backend, Sampling
from fst_nb.rules import read_answer, rule_set
from fst_nb.tasks import get_task
from server_rollout import cpu_flags   # the same CPU line as the other benches
from fst_nb.warmstart import WarmStart, rules_compliance, rules_prompt, sft_batch, sft_loss, _adjacency, _attempt_model, _pairs

M.BUILTIN_MODELS.setdefault('tiny-numbers-l4', M.TinySpec(numbers=True, num_hidden_layers=4))
M.BUILTIN_MODELS.setdefault('tiny-numbers-h8', M.TinySpec(numbers=True, num_attention_heads=8, num_key_value_heads=4))

def where_it_fails(pol, task) -> tuple[dict, list]:
    "Counts of where the second node of greedy answers went (the criterion's 64 graphs), and three failing answers."
    exs = task.examples('test', n=64, seed=1)
    r = random.Random(1); sets = [r.choice(W._ALL_RULE_SETS) for _ in exs]
    ro = make_backend('hf', pol).generate([task.messages(e, rules_prompt(s, r, 1.0, held_out=True)) for e, s in zip(exs, sets)],
                                          1, Sampling(temperature=1e-6, max_new_tokens=40, seed=1))
    cat, bad = Counter(), []
    for t, i in zip(ro.texts, ro.prompt_index):
        e = exs[i]; adj = _adjacency(e['graph']); ids = read_answer(t).get('ids') or []
        c = ('noids' if not ids else 'nosource' if ids[0] != e['source'] else 'len1' if len(ids) == 1 else
             ('notnbr_ingraph' if ids[1] in adj else 'notnbr') if ids[1] not in adj[e['source']] else 'long' if len(ids) > 2 else 'ok')
        cat[c] += 1
        if c != 'ok' and len(bad) < 3: bad.append((e['graph'], e['source'], t[:60]))
    return dict(cat), bad

def prompt_and_answer_loss(model, ids, attn, pos, labels, w, im_start: int | None = None):
    """The answer's mean cross-entropy plus `w` times the prompt tokens' (next-token loss on the prompt too); with
    `im_start` (the chat template's `<|im_start|>` id) only the user message's tokens count (edges, source, goal)."""
    T = labels.shape[1]
    logits = model(input_ids=ids, attention_mask=attn, position_ids=pos).logits[:, :-1].float()   # [B, L-1, V]
    tgt = ids[:, 1:].masked_fill(attn[:, 1:] == 0, -100)
    ce = torch.nn.functional.cross_entropy(logits.transpose(1, 2), tgt, reduction='none')          # [B, L-1]
    ans = torch.zeros_like(tgt, dtype=torch.bool); ans[:, -T:] = labels != -100
    pr = (tgt != -100) & ~ans
    if im_start is not None:   # the span after '<|im_start|>user\n', up to the assistant's '<|im_start|>'
        user = torch.zeros_like(pr)
        for b, row in enumerate(tgt.tolist()):
            s = [i for i, t in enumerate(row) if t == im_start]
            if len(s) >= 2: user[b, s[-2] + 3:s[-1]] = True   # the last two: the system message is optional
        pr &= user
    return ce[ans].mean() + w * ce[pr].mean()

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seed', type=int, default=0); ap.add_argument('--steps', type=int, default=1000)
    ap.add_argument('--recipe', default='tiny-star-rules-v2'); ap.add_argument('--set', nargs='*', default=[])
    ap.add_argument('--check', type=int, default=100); ap.add_argument('--ema', type=float, default=0.0)
    ap.add_argument('--nogoal', type=float, default=0.0); ap.add_argument('--nogoal-from', type=int, default=0)
    ap.add_argument('--resume'); ap.add_argument('--anneal', type=int, default=0); ap.add_argument('--out')
    ap.add_argument('--wd', type=float, default=0.0); ap.add_argument('--wd-from', type=int, default=0)
    ap.add_argument('--data-seed', type=int, help="draw the examples from this seed (the init stays the --seed's)")
    ap.add_argument('--fixed-until', type=int, default=0); ap.add_argument('--fixed-set', default='comma-brackets-bare-dot')
    ap.add_argument('--prompt-loss', type=float, default=0.0); ap.add_argument('--user-only', action='store_true')
    a = ap.parse_args()
    kw = {**W.WARM_MODELS[a.recipe], 'seed': a.seed}
    for s in a.set:
        k, v = s.split('=', 1); kw[k] = json.loads(v) if v[:1].isdigit() or v in ('true', 'false') else v
    spec = WarmStart(**kw)
    task, pol = get_task('star_rules', graphs=spec.preset), load_policy(spec.model)
    tok, rng, train = pol.tokenizer, random.Random(spec.seed if a.data_seed is None else a.data_seed), task.examples('train')
    im_start = tok.convert_tokens_to_ids('<|im_start|>') if a.user_only else None
    mt = get_task('star_rules', graphs=spec.mix_preset) if spec.mix else None
    mixed = mt and (mt, mt.examples('train'))
    model = _attempt_model(pol, spec, 0)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, betas=(0.9, 0.999), weight_decay=0.0)
    f = lambda s: min(1.0, (s + 1) / 20) * max(0.1, 1 - s / spec.steps)   # the warm start's own schedule
    sched, start, now = torch.optim.lr_scheduler.LambdaLR(opt, f), 1, [0]
    if a.resume:
        st = torch.load(a.resume, weights_only=False)
        model.load_state_dict(st['model']); opt.load_state_dict(st['opt']); sched.load_state_dict(st['sched']); rng.setstate(st['rng'])
        start = st['step'] + 1
        if a.anneal:
            f0 = f(start - 1)
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: f0 * 0.5 * (1 + math.cos(math.pi * min(s, a.anneal) / a.anneal)))
    if a.nogoal:
        orig = W.rules_example
        def no_goal(task_, ex, rng_, stated=0.75, silent=0.25):
            msgs, target = orig(task_, ex, rng_, stated, silent)
            if now[0] > a.nogoal_from and rng_.random() < a.nogoal:
                msgs = [dict(m, content=re.sub(r'\nGoal \d+', '', m['content'])) if m['role'] == 'user' else m for m in msgs]
            return msgs, target
        W.rules_example = no_goal   # `_pairs` looks it up at call time
    if a.fixed_until:   # a curriculum: one rule set, never stated, for the first steps (the path alone), then the recipe's examples
        orig2, fixed = W.rules_example, rule_set(a.fixed_set)
        def fixed_first(task_, ex, rng_, stated=0.75, silent=0.25):
            if now[0] > a.fixed_until: return orig2(task_, ex, rng_, stated, silent)
            return task_.messages(ex, context=None), W.render(W.random_arm_path(ex, rng_).split(','), fixed)
        W.rules_example = fixed_first
    ema = copy.deepcopy(model).eval() if a.ema else None
    print(json.dumps({'cpu': cpu_flags(), 'threads': torch.get_num_threads(), 'spec': spec.to_dict(), 'args': vars(a)}), flush=True)
    t0 = time.perf_counter()
    for step in range(start, a.steps + 1):
        now[0] = step
        for g in opt.param_groups: g['weight_decay'] = a.wd if step > a.wd_from else 0.0   # AdamW's decoupled decay (the warm start's is 0)
        batch = sft_batch(_pairs(task, tok, train, spec, rng, {}, mixed, step - 1), tok.pad_token_id)
        loss = sft_loss(model, *batch) if not a.prompt_loss else prompt_and_answer_loss(model, *batch, a.prompt_loss, im_start)
        loss.backward(); torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(); sched.step(); opt.zero_grad(set_to_none=True)
        if ema is not None:
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), model.parameters()): pe.lerp_(pm, 1 - a.ema)
        if step % a.check == 0:
            row, trained = {'step': step, 's': round(time.perf_counter() - t0), 'loss': round(loss.item(), 3)}, pol.model
            for name, m in [('raw', model)] + [('ema', ema)] * (ema is not None):
                pol.model = m.eval()
                c = rules_compliance(pol, spec.preset, n=64, samples=1, temperature=1e-6, silent_n=0, seed=1)['stated']
                row[name] = {k: round(v, 3) for k, v in c.items() if k != 'reward'}
                if c['arm'] < 0.97 and c['source'] > 0.8: row[name + '_fails'] = where_it_fails(pol, task)
            pol.model = trained; model.train()
            print(json.dumps(row), flush=True)
        if a.out and step % 300 == 0:
            torch.save({'model': model.state_dict(), 'opt': opt.state_dict(), 'sched': sched.state_dict(), 'rng': rng.getstate(),
                        'step': step}, f'{a.out}.s{step}.pt')

if __name__ == '__main__': main()
