"""A resume from a version-0 checkpoint must not save a LoRA adapter over the one in use and then delete it (issue 20).

Replays what `CISPOTrainer.load_state` does to a backend (sync, then `version` set back to the checkpoint's) on each
backend's real adapter code, with fakes for vLLM / Unsloth / the HTTP server (none is needed or launched)."""
import sys, types
from pathlib import Path
from types import SimpleNamespace
import pytest
from fst_nb.rollout import UnslothBackend
from fst_nb.vllm_backend import VLLMBackend
from fst_nb.server_backend import ServerBackend

class FakeModel:
    "Writes an adapter file naming the save; counts Unsloth-style load_lora requests."
    def __init__(self): self.saves, self.loads = 0, 0
    def save_pretrained(self, path):
        self.saves += 1
        Path(path).mkdir(parents=True, exist_ok=True); (Path(path)/'adapter_model.safetensors').write_text(f'save {self.saves}')
    save_lora = save_pretrained
    def load_lora(self, path):   # unsloth_zoo: a new request id per call
        self.loads += 1
        return SimpleNamespace(lora_path=str(path), lora_int_id=self.loads)

def _resume_from_version_0(be, model):
    "The backend's life in a resumed run: built (adapter saved), load_state's sync + rewind to 0, then one optimizer step."
    be.update_weights(model)   # load_state -> sync_engine
    be.version = 0             # load_state: the checkpoint's backend_version
    be.update_weights(model)   # the first optimizer step after the resume
    return be

def _check(path, model, older):
    p = Path(path)
    assert (p/'adapter_model.safetensors').exists(), f'the adapter in use ({p}) was deleted'
    assert (p/'adapter_model.safetensors').read_text() == f'save {model.saves}', 'the adapter in use is not the last save'
    for o in older: assert not Path(o).exists(), f'old adapter {o} left behind'

@pytest.fixture
def fake_vllm(monkeypatch):
    "`vllm.lora.request.LoRARequest` without vllm."
    class LoRARequest:
        def __init__(self, lora_name, lora_int_id, lora_path):
            assert lora_int_id >= 1
            self.lora_name, self.lora_int_id, self.lora_path = lora_name, lora_int_id, lora_path
    mods = {'vllm': types.ModuleType('vllm'), 'vllm.lora': types.ModuleType('vllm.lora'),
            'vllm.lora.request': types.ModuleType('vllm.lora.request')}
    mods['vllm.lora.request'].LoRARequest = LoRARequest
    for k, m in mods.items(): monkeypatch.setitem(sys.modules, k, m)

def test_vllm_backend_resume_keeps_new_adapter(tmp_path, fake_vllm):
    removed = []
    be = object.__new__(VLLMBackend)
    be.workdir, be.version, be.lora, be.inprocess = tmp_path, 0, True, False
    be.llm = SimpleNamespace(llm_engine=SimpleNamespace(remove_lora=removed.append), reset_prefix_cache=lambda: None)
    m = FakeModel()
    be.lora_request = be._save_adapter(m)          # what __init__ does
    seen = [be.lora_request]
    be.update_weights(m); seen.append(be.lora_request)
    be.version = 0
    be.update_weights(m); seen.append(be.lora_request)
    _check(be.lora_request.lora_path, m, [r.lora_path for r in seen[:-1]])
    assert len({r.lora_int_id for r in seen}) == 3 and len({r.lora_name for r in seen}) == 3   # vLLM caches by id
    assert removed == [r.lora_int_id for r in seen[:-1]]                                      # the old ones only
    assert be.version == 1

def test_unsloth_backend_resume_keeps_new_adapter(tmp_path):
    be = object.__new__(UnslothBackend)
    be.policy, be.lora_dir, be.version, be.lora_request = SimpleNamespace(lora=object()), str(tmp_path), 0, None
    m = FakeModel()
    be.update_weights(m); first = be.lora_request
    be.version = 0
    be.update_weights(m)
    _check(be.lora_request.lora_path, m, [first.lora_path])

def test_server_backend_resume_keeps_new_adapter(tmp_path):
    calls = []
    be = object.__new__(ServerBackend)
    be.shared, be.run_id, be.base_model, be.served, be.version, be.lora = tmp_path, 'abc123', 'base', 'base', 0, True
    be.sync_times = []
    be._dev_post = lambda path, body, need: calls.append((path, body)) or {}
    be.probe = lambda model=None, check=True: 0.0
    m = FakeModel()
    be._load_adapter(m)                            # what __init__ does
    first = be.served
    _resume_from_version_0(be, m)
    _check(tmp_path/be.served, m, [tmp_path/first])
    loads = [b['lora_name'] for p, b in calls if p.endswith('/load_lora_adapter')]
    unloads = [b['lora_name'] for p, b in calls if p.endswith('/unload_lora_adapter')]
    assert len(set(loads)) == 3, f'an adapter name was reused: {loads}'   # the server refuses a loaded name
    assert be.served not in unloads and unloads == loads[:-1]
