"""`fst serve` off loopback: refused without an API key before anything starts; the guard loads the way vLLM's
`--middleware` option loads it (vllm 0.33.0 `serve/middleware/register.py`) and covers the routes vLLM's key does not."""
import asyncio, importlib, inspect, subprocess, sys
from fst_nb.serve import API_KEY_ENV, ApiKeyGuard, key_args

def test_fst_serve_refuses_a_public_address_without_a_key(monkeypatch, capsys):
    from fst_nb.cli import main
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    assert main(['serve', 'tiny', '--host', '0.0.0.0']) == 2
    err = capsys.readouterr().err
    assert "refusing to serve on '0.0.0.0' without an API key" in err and API_KEY_ENV in err

def test_module_entry_point_refuses_too(monkeypatch):
    env = {k: v for k, v in __import__('os').environ.items() if k != API_KEY_ENV}
    r = subprocess.run([sys.executable, '-m', 'fst_nb.serve', 'tiny', '--host', '10.1.2.3'], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and 'without an API key' in r.stderr

def test_guard_loads_like_vllm_middleware_and_guards_dev_routes(monkeypatch):
    args, env = key_args('k3y')
    module_path, name = args[args.index('--middleware') + 1].rsplit('.', 1)   # what vLLM does with the option
    cls = getattr(importlib.import_module(module_path), name)
    assert cls is ApiKeyGuard and inspect.isclass(cls)                        # -> app.add_middleware(cls): cls(app)
    monkeypatch.setenv(API_KEY_ENV, env[API_KEY_ENV])                         # the server process's environment
    reached = []
    async def app(scope, receive, send): reached.append(scope['path']); await send({'type': 'http.response.start', 'status': 200})
    guard = cls(app)
    def status(path, auth=None):
        out = []
        async def send(m): out.append(m)
        async def receive(): return {'type': 'http.request', 'body': b''}
        hs = [(b'authorization', auth.encode())] if auth else []
        asyncio.run(guard({'type': 'http', 'path': path, 'method': 'POST', 'headers': hs}, receive, send))
        return out[0]['status']
    # vLLM's AuthenticationMiddleware guards only /v1, /v2, /inference, /cohere: these are outside them
    for path in ('/collective_rpc', '/reset_prefix_cache', '/sleep', '/wake_up', '/update_weights', '/pause'):
        assert status(path) == 401 and status(path, 'Bearer nope') == 401 and status(path, 'Bearer k3y') == 200
    assert status('/health') == 200
    assert reached == ['/collective_rpc', '/reset_prefix_cache', '/sleep', '/wake_up', '/update_weights', '/pause', '/health']
