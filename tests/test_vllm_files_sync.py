"The vllm backend's multiprocess path (sync='files': safetensors + collective_rpc reload) follows weight updates."
import os, subprocess, sys, textwrap
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent('''
    import torch
    from fst_nb.models import load_policy
    from fst_nb.rollout import Sampling, make_backend

    @torch.no_grad()
    def gap(model, p, c):
        ids = torch.tensor([p + c])
        lp = model(input_ids=ids).logits[0, len(p) - 1:-1].float().log_softmax(-1)
        return (lp.max(-1).values - lp.gather(-1, ids[0, len(p):, None])[:, 0]).max().item()

    if __name__ == '__main__':   # the engine runs in a spawned process
        pol = load_policy('tiny')
        be = make_backend('vllm', pol, sync='files', max_model_len=512)
        assert not be.inprocess
        convs = [[{'role': 'user', 'content': 'Find a path from 3 to 7.'}], [{'role': 'user', 'content': 'hi'}]]
        greedy = Sampling(temperature=1e-6, max_new_tokens=12)
        before = be.generate(convs, sampling=greedy)
        assert max(gap(pol.model, p, c) for p, c in zip(before.prompt_ids, before.completion_ids)) < 1e-4
        torch.manual_seed(0)
        with torch.no_grad():
            for q in pol.model.parameters(): q.add_(torch.randn_like(q) * 0.5 * q.std())
        be.update_weights(pol.model)
        after = be.generate(convs, sampling=greedy)
        gaps = [gap(pol.model, p, c) for p, c in zip(after.prompt_ids, after.completion_ids)]
        assert max(gaps) < 1e-4, gaps
        assert after.completion_ids != before.completion_ids and after.policy_version == 1
        be.close()
        print('FILES SYNC OK')
''')

@pytest.mark.slow
def test_files_sync_follows_updates(tmp_path):
    pytest.importorskip('vllm')
    script = tmp_path/'files_sync.py'
    script.write_text(SCRIPT)
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'VLLM_CPU_KVCACHE_SPACE': '1'}
    res = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0 and 'FILES SYNC OK' in res.stdout, res.stdout[-3000:] + res.stderr[-5000:]
