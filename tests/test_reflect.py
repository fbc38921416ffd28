"Reflection LMs: the litellm wrapper with a fake transport."
import pytest

# ---- litellm wrapper: retries, backoff and usage, with a fake transport (the real server test is in test_gepa_slow.py)

def test_litellm_retries_and_tracks_usage(monkeypatch):
    import fst_nb.reflect as G
    from types import SimpleNamespace as NS
    calls, sleeps = [], []
    def fake_request(self, prompt):
        calls.append(prompt)
        if len(calls) < 3: raise ConnectionError('refused')
        return NS(choices=[NS(message=NS(content='ok\n```\nnew\n```'))], usage=NS(prompt_tokens=11, completion_tokens=4))
    monkeypatch.setattr(G.LiteLLM, '_request', fake_request)
    monkeypatch.setattr(G, '_cost', lambda resp: 0.002)
    monkeypatch.setattr(G.time, 'sleep', sleeps.append)
    lm = G.LiteLLM('openai/x', retries=3, backoff=0.5)
    r = lm.complete(['p'])[0]
    assert (r.text, r.tokens_in, r.tokens_out, r.cost, r.error) == ('ok\n```\nnew\n```', 11, 4, 0.002, None)
    assert sleeps == [0.5, 1.0] and len(calls) == 3                      # exponential backoff between attempts
    calls.clear(); sleeps.clear()
    lm2 = G.LiteLLM('openai/x', retries=1, backoff=0.1)
    monkeypatch.setattr(G.LiteLLM, '_request', lambda self, p: (_ for _ in ()).throw(TimeoutError('slow')))
    r2 = lm2.complete(['a', 'b'])
    assert all(x.text == '' and x.error == 'TimeoutError: slow' for x in r2) and lm2.errors == 2
    assert (lm.calls, lm.tokens_in, lm.cost) == (1, 11, 0.002)
