"""Slow learning test: CISPO raises the held-out star-graph reward of the warm-started tiny model, seed fixed.

The tiny random-init model never writes `\\boxed{...}`; `fst_nb.warmstart.warm_start()` (cached after the first build)
teaches it the answer format with paths along random arms (chance on preset 'tiny' is ~50%). Then STEPS CISPO steps
(PROBLEMS problems x G=8 rollouts, 20 new tokens, full fine-tuning on CPU) must raise the held-out reward (50 test
prompts x 2 samples, fixed sampling seed) by at least MARGIN.

STATUS (measured 2026-11-22 on the shared 2-core machine): NOT MET. The default warm start (200 SFT steps, batch 16,
lr 3e-3) teaches the `\\boxed{...}` format but not edge-following: held-out reward 0.0, so every RL group has equal
rewards and is dropped. A further 300 SFT steps (lr 2e-3, loss 0.81 -> ~0.65) still gave 0.0. The test is therefore skipped unless
FST_LEARNING_TEST=1; it needs a stronger warm start (more SFT steps, or an easier preset) before it can pass.
"""
import os
import pytest, torch
from fst_nb.cispo import CISPOTrainer, TrainConfig
from fst_nb.models import load_policy
from fst_nb.tasks import get_task
from fst_nb.warmstart import WarmStart, warm_start

STEPS, PROBLEMS, LR, MARGIN = 30, 4, 1e-4, 0.10

@pytest.mark.slow
@pytest.mark.skipif(os.environ.get('FST_LEARNING_TEST') != '1',
                    reason='warm start does not yet reach a non-zero star-graph reward (measured 0.0); set FST_LEARNING_TEST=1')
def test_cispo_raises_heldout_star_graph_reward():
    task = get_task('star_graph', preset='tiny')
    cfg = TrainConfig(steps=STEPS, problems=PROBLEMS, G=8, lr=LR, warmup_steps=2, max_new_tokens=20, beta=0.001,
                      eval_every=STEPS, eval_problems=50, eval_n=2, seed=0)
    tr = CISPOTrainer(load_policy(str(warm_start(WarmStart()))), task, cfg)
    rows = tr.train()
    ev = [r for r in rows if r['kind'] == 'eval']
    before, after = ev[0]['eval_reward'], ev[-1]['eval_reward']
    print(f"held-out reward {before:.3f} -> {after:.3f} after {STEPS} steps")
    assert 0.0 < before < 0.9, 'the warm start should leave room to learn'
    assert sum(r['groups_kept'] for r in rows if r['kind'] == 'train') > STEPS, 'most steps should carry signal'
    assert after - before >= MARGIN
