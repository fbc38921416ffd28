"""The starting weights without a copy: the reflection LM 'self' and the 2×2 on the run's engine (no LoRA request) or on the
policy with its adapter disabled; engines are fakes that record what they were asked."""
import copy, sys, types
from types import SimpleNamespace as NS
import pytest, torch
from fst_nb.fst import FSTConfig, FSTRun
from fst_nb.models import LoraSpec, load_policy
from fst_nb.reflect import SelfLM, make_reflector
from fst_nb.rollout import HFBackend, Sampling, UnslothBackend

SMALL = dict(cycles=1, rl_steps=1, problems=2, G=4, pool_k=2, gepa_budget=4, minibatch=2, max_new_tokens=6,
             eval_problems=4, eval_samples=2, verbose=False, decompose=False)

class FakeEngine:
    "A vLLM `LLM` stand-in: records each generate call's lora_request and answers every prompt with token 5 then eos."
    def __init__(self, eos): self.eos, self.calls = eos, []
    def generate(self, prompts, sampling_params=None, *a, lora_request=None, use_tqdm=False, **kw):
        self.calls.append(lora_request)
        return [NS(prompt_token_ids=p['prompt_token_ids'],
                   outputs=[NS(token_ids=[5, self.eos], logprobs=[{5: NS(logprob=-0.5)}, {self.eos: NS(logprob=-0.1)}],
                               text='', finish_reason='stop')]) for p in prompts]

@pytest.fixture
def fake_vllm(monkeypatch):
    "Just enough of `vllm` for the backends' generate (SamplingParams and TokensPrompt as dicts)."
    vllm, inputs = types.ModuleType('vllm'), types.ModuleType('vllm.inputs')
    vllm.SamplingParams, inputs.TokensPrompt = dict, dict
    monkeypatch.setitem(sys.modules, 'vllm', vllm); monkeypatch.setitem(sys.modules, 'vllm.inputs', inputs)

@pytest.fixture
def no_deepcopy(monkeypatch):
    "Any deep copy of a model fails the test (configs may still be deep-copied)."
    real = copy.deepcopy
    def guarded(x, *a, **k):
        if isinstance(x, torch.nn.Module): raise AssertionError(f'copy.deepcopy of a {type(x).__name__}')
        return real(x, *a, **k)
    monkeypatch.setattr(copy, 'deepcopy', guarded)

def _unsloth_backend(policy, engine):
    "An UnslothBackend on a fake engine (its constructor needs CUDA), after some syncs: its own LoRA request is set."
    be = UnslothBackend.__new__(UnslothBackend)
    be.engine, be.SamplingParams, be.policy, be.lora_dir, be.version = engine, dict, policy, '/nonexistent', 3
    be.lora_request = NS(lora_int_id=4, lora_path='/nonexistent/v3')
    return be

def test_self_on_the_unsloth_engine_sends_no_lora_request(fake_vllm, no_deepcopy):
    pol = load_policy('tiny', lora=LoraSpec(r=4, alpha=8))
    engine = FakeEngine(pol.tokenizer.eos_token_id)
    be = _unsloth_backend(pol, engine)
    lm = make_reflector('self', policy=pol, backend=be, max_new_tokens=8)
    assert (lm.how, lm.extra_bytes) == ('engine', 0)
    reps = lm.complete(['Improve the prompt.', 'Again.'])
    assert [r.error for r in reps] == [None, None] and [r.tokens_out for r in reps] == [2, 2]
    assert engine.calls == [None]                                   # the reflector: exactly the starting weights
    be.generate([[{'role': 'user', 'content': 'hi'}]], 1, Sampling(max_new_tokens=4))
    assert engine.calls[-1] is be.lora_request                      # the run's rollouts keep their adapter
    with pytest.raises(RuntimeError, match='never takes new ones'): lm.gen.update_weights(pol.model)
    engine.model_config = NS(max_model_len=40)                     # the engine's context, not the model's 2,048
    short = SelfLM(pol, backend=be, max_new_tokens=8)
    r = short.complete(['word ' * 40])[0]
    assert (r.text, engine.calls[-1] is be.lora_request) == ('', True) and 'does not fit the context of 40' in r.error

def test_self_on_the_vllm_engine_sends_no_lora_request(fake_vllm, no_deepcopy):
    from fst_nb.vllm_backend import VLLMBackend, VLLMConfig
    pol = load_policy('tiny', lora=LoraSpec(r=4, alpha=8))
    be = VLLMBackend.__new__(VLLMBackend)
    be.llm, be.cfg, be.policy, be.tok = FakeEngine(pol.tokenizer.eos_token_id), VLLMConfig(), pol, pol.tokenizer
    be.lora, be.version, be.lora_request, be.inprocess = True, 2, NS(lora_int_id=3, lora_path='/nonexistent'), False
    lm = SelfLM(pol, backend=be, max_new_tokens=8)
    assert lm.how == 'engine' and lm.complete(['p'])[0].error is None
    assert be.llm.calls == [None] and be.lora_request is not None and be.version == 2
    lm.gen.close()                                                  # closing the view closes nothing
    assert 'llm' in be.__dict__
    be.lora = False                                                 # full fine-tuning: the engine's weights move
    assert be.start_weights() is None

def test_self_with_peft_shares_the_frozen_base(no_deepcopy):
    pol = load_policy('tiny', lora=LoraSpec(r=4, alpha=8))
    n_before = sum(p.numel() for p in pol.model.parameters())
    lm = make_reflector('self', policy=pol, max_new_tokens=12, temperature=1e-6)      # greedy
    assert (lm.how, lm.extra_bytes, lm.gen.model is pol.model) == ('adapter-off', 0, True)
    with torch.no_grad():
        for n, p in pol.model.named_parameters():
            if 'lora_B' in n: p.normal_(0, 0.5)                    # a trained, nonzero adapter
    base = HFBackend(load_policy('tiny'), max_batch=8)              # the same weights without LoRA
    greedy = Sampling(1e-6, 1.0, 12)
    conv = [[{'role': 'user', 'content': 'Rewrite: be exact.'}]]
    assert [r.text for r in lm.complete(['Rewrite: be exact.'])] == base.generate(conv, 1, greedy).texts
    assert HFBackend(pol).generate(conv, 1, greedy).texts != base.generate(conv, 1, greedy).texts   # the adapter matters
    assert sum(p.numel() for p in pol.model.parameters()) == n_before and pol.model.training is True

def test_self_in_a_run_never_copies(tmp_path):
    lora = FSTRun.create(FSTConfig(lora_r=4, **SMALL), root=tmp_path, name='lora')
    assert (lora.reflector.how, lora.reflector.gen.model is lora.policy.model) == ('adapter-off', True)
    full = FSTRun.create(FSTConfig(**SMALL), root=tmp_path, name='full')
    assert (full.reflector.how, full.reflector.extra_bytes) == ('reference', 0)
    assert full.reflector.gen.model is full.trainer.ref          # the KL reference the trainer keeps anyway

def test_two_by_two_reuses_the_run_backend_or_bounds_hf_decoding(tmp_path, monkeypatch):
    rows = []
    real = HFBackend._generate_rows
    def spy(self, r, s): rows.append(len(r)); return real(self, r, s)
    monkeypatch.setattr(HFBackend, '_generate_rows', spy)
    lora = FSTRun.create(FSTConfig(lora_r=4, gen_batch=3, **SMALL), root=tmp_path, name='lora')
    bs = lora._decomp_backends()
    assert bs['trained'] is lora.backend and bs['start'].model is lora.policy.model and not bs['start'].adapter
    full = FSTRun.create(FSTConfig(gen_batch=3, **SMALL), root=tmp_path, name='full')
    full.backend.max_batch = None                                   # even an unbounded run backend: the 2×2 is bounded
    bs = full._decomp_backends()
    assert bs['start'].model is full.trainer.ref and bs['trained'].model is full.trainer.model
    assert {b.max_batch for b in bs.values()} == {3} and full.backend.max_batch is None
    rows.clear()
    out = full.decomposition()                                      # 4 problems × 2 samples = 8 rows per cell
    assert len(out) == 4 and rows and max(rows) <= 3 and sum(rows) == 4 * 8

def test_unsloth_config_errors_come_before_the_run_folder(tmp_path):
    from fst_nb.core import ConfigError
    from fst_nb.presets import load_config
    with pytest.raises(ConfigError, match=r"backend='unsloth' needs lora_r > 0"):
        FSTRun.create(load_config('gpu-star', {'backend': 'unsloth', 'lora_r': 0}), root=tmp_path/'r')
    with pytest.raises(ConfigError, match='CUDA_VISIBLE_DEVICES=1'): FSTConfig(backend='unsloth', lora_r=8, device='cuda:1')
    assert not (tmp_path/'r').exists()

def test_unsloth_device_map_without_the_engine(monkeypatch):
    "Without fast inference a 'cuda:N' reaches FastLanguageModel.from_pretrained as device_map (unsloth 2026.10.9)."
    import fst_nb.models as M
    seen = {}
    class FLM:
        @staticmethod
        def from_pretrained(**kw): seen.update(kw); return NS(), NS(padding_side='right')
    monkeypatch.setitem(sys.modules, 'unsloth', types.SimpleNamespace(FastLanguageModel=FLM))
    M._load_unsloth('m', torch.bfloat16, None, fast_inference=False, device='cuda:1')
    assert seen['device_map'] == 'cuda:1' and seen['fast_inference'] is False
    seen.clear(); M._load_unsloth('m', torch.bfloat16, None, fast_inference=True, device='cuda')
    assert 'device_map' not in seen

def test_backend_checks_import_instead_of_find_spec(monkeypatch):
    import fst_nb.core as core, fst_nb.rollout as R
    monkeypatch.setattr(R.torch.cuda, 'is_available', lambda: True)
    monkeypatch.setitem(core._IMPORT_PROBLEMS, 'unsloth', None)
    monkeypatch.setitem(core._IMPORT_PROBLEMS, 'vllm', "vllm is installed but `import vllm` fails: ImportError: torch 2.13")
    monkeypatch.delitem(sys.modules, 'vllm', raising=False)
    assert 'cannot use vllm' in R.backend_problem('unsloth') and 'torch 2.13' in R.backend_problem('vllm')
    used, note = R.resolve_backend('auto')
    assert used == 'hf' and note.count('torch 2.13') == 2
    monkeypatch.setitem(core._IMPORT_PROBLEMS, 'vllm', None)
    assert R.resolve_backend('auto') == ('unsloth', '')
    assert R.resolve_backend('auto', device='cuda:1')[0] == 'vllm'   # the engine cannot go there: skipped, said why
    assert 'CUDA_VISIBLE_DEVICES=1' in R.resolve_backend('auto', device='cuda:1')[1]

def test_make_backend_resolves_for_the_policy_device(monkeypatch):
    "make_backend('auto') passes the policy's device on, so Unsloth is skipped for a policy on cuda:1 as FSTRun decided."
    import fst_nb.rollout as R
    seen, real = [], R.resolve_backend
    monkeypatch.setattr(R, 'resolve_backend', lambda *a, **k: seen.append(k.get('device')) or real(*a, **k))
    monkeypatch.setattr(R, '_backend_class', lambda name: lambda policy, **kw: NS(note=''))
    R.make_backend('hf', NS(device=torch.device('cuda', 1), lora=None))
    R.make_backend('hf', None)
    assert seen == ['cuda:1', None]
