"""Rollouts from a vLLM server over HTTP vs the in-process vLLM engine, on the same model and sampling, in one run.

Built-in `small` model (~20M, fp32; `--model tiny` for 2.3M), 64 conversations x 64 new tokens (end-of-turn ignored so
every row has the full length), temperature 1, top-p 1, the same seeds. The server (`serve_for_training`: the
policy's weights and dtype, dev routes, processed log-probs) and the in-process engine (`VLLMBackend`, sync
'inprocess') are both up; they alternate each round (which goes first flips) and the medians of the timed rounds give
completion tokens/s and the server/in-process ratio. Then the weight sync after an optimizer step: the server backend's
`update_weights` (safetensors snapshot + `POST /collective_rpc reload_weights` + `POST /reset_prefix_cache` + the
version probe) vs the in-process `update_weights` (worker `reload_weights` from the live state dict + prefix-cache
reset). Finally ρ's spread on fresh server samples (trainer fp32 log-probs vs the server's). With `--bf16-server` a
second server in bfloat16 (what vLLM's dtype 'auto' picks for an fp32 checkpoint on a CPU with avx512_bf16) shows the
ρ spread of a bf16 engine feeding an fp32 trainer, the regime where τ matters.

Run: `PYTHONPATH=. OMP_NUM_THREADS=1 .venv/bin/python bench/server_rollout.py [--rounds 3] [--bf16-server]`.

Measured 2026-11-30 on the 2-core machine (AMD EPYC, avx512_bf16, no AMX), quiet (load average 1.3, nothing else running), `--rounds 5 --bf16-server`:
  server 997.0 tok/s, in-process 1068.9 tok/s -> 0.93x (64/64 completions identical every round); start-up 34.7 s vs
  8.1 s; weight sync 384 ms = 136 ms send + 249 ms probe vs 64 ms in-process -> 6.0x (send alone 2.1x); rho: fp32
  server std 6.5e-7; bf16 server std 4.8e-3, [0.984, 1.019] at T=1, [0.974, 1.024] at T=0.7 top-p 0.9; CISPO train rows
  ratio_std 0.0048 / 0.0041 / 0.0035, clip_frac 0.
Measured 2026-11-30 on the shared 2-core machine (AMD EPYC, avx512_bf16, no AMX; load average 3-5 from other jobs,
so single rounds swing by +-25%), engine threads 1, `--rounds 5`:
  server 828.6 tok/s, in-process 906.7 tok/s -> 0.91x (rounds 0.97, 0.90, 1.13, 0.79, 0.66); `--rounds 3` earlier:
  0.87x. Every round the 64 completions were identical across the two (same engine, same seeds).
  weight sync, 80 MiB fp32: server 483 ms = 158 ms send (snapshot + reload_weights RPC + cache reset) + 324 ms probe,
  in-process 73 ms -> 6.6x (send alone 2.2x).
  rho on fresh samples: fp32 server |log rho| mean 4.8e-7, max 2.4e-6 (float noise); bf16 server (`--bf16-server`)
  mean 3.9e-3, max 2.0e-2, rho in [0.981, 1.016] at T=1; at T=0.7 top-p 0.9 mean 5.5e-3, rho in [0.975, 1.022].
  CISPO train rows on bf16-server rollouts (4 problems x 8, lr 1e-4, weights pushed and probed every step): ratio_std
  0.0050 / 0.0037 / 0.0034, ratio_min 0.985-0.990, ratio_max 1.011-1.017, clip_frac 0 (tau 4).
  A second run (`--rounds 3 --bf16-server`, load ~3): 0.89x rollouts, sync 457 vs 97 ms (send alone 1.6x).
What it means here: both paths run the same vLLM engine on the same 2 cores, so the server can only lose: its API
server process (request parsing, per-token log-prob JSON, detokenized text) takes CPU from the engine, and every
request crosses a socket. The loss is ~10% on a 20M model with 64 tokens per row. The sync costs more than the
in-process reload because the weights go through a safetensors file instead of memory, and the probe (16 decode
steps of one request plus a local forward) is the larger part.
On GPUs it should become ~1x for rollouts: decode runs on the GPU, the HTTP cost per request is fixed and small against
seconds of generation, and the API server's CPU work no longer competes with the engine. The point of the server
there is not speed per token but placement: the engine on its own GPU (or machine) decodes while the trainer steps.
A full-weight file sync of a 1.7B bf16 model (3.4 GB) costs seconds per step (shared disk or /dev/shm); LoRA
adapters (tens of MB, `/v1/load_lora_adapter`) or vLLM's NCCL weight-transfer routes are the way to sync at scale,
and the probe's 16 steps are milliseconds.
"""
import argparse, os, statistics, subprocess, time

def cpu_flags() -> str:
    try: out = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
    except OSError: return '?'
    name = next((l.split(':', 1)[1].strip() for l in out.splitlines() if l.startswith('Model name')), '?')
    flags = sorted({f for f in out.split() if f.startswith(('amx', 'avx512_bf16'))})
    return f"{name}, {os.cpu_count()} cores, flags: {' '.join(flags) or 'no avx512_bf16/amx'}"

def rho_spread(pol, ro, s) -> str:
    import torch
    from fst_nb.rollout import sequence_logprobs
    with torch.no_grad():
        lr = torch.cat([sequence_logprobs(pol.model, p, c, s.temperature, s.top_p) - torch.tensor(l)
                        for p, c, l in zip(ro.prompt_ids, ro.completion_ids, ro.logprobs)])
    r = lr.exp()
    return (f"|log ρ| mean {lr.abs().mean():.2e}, p99 {lr.abs().quantile(0.99):.2e}, max {lr.abs().max():.2e}; "
            f"ρ std {r.std():.2e}, min {r.min():.4f}, max {r.max():.4f} ({len(lr)} tokens)")

def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', default='small')
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--new', type=int, default=64)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--threads', type=int, default=int(os.environ.get('OMP_NUM_THREADS') or 1))
    ap.add_argument('--bf16-server', action='store_true', help='also measure ρ against a bfloat16 server')
    a = ap.parse_args()
    import torch
    from fst_nb.models import load_policy
    from fst_nb.rollout import Sampling
    from fst_nb.serve import serve_for_training
    from fst_nb.server_backend import ServerBackend
    from fst_nb.vllm_backend import VLLMBackend, vllm_available
    if not vllm_available():
        print("server_rollout: vllm is not installed (run `make vllm-setup`); skipped"); return
    print(f"CPU: {cpu_flags()}; engine threads {a.threads}")
    pol = load_policy(a.model)
    convs = [[{'role': 'user', 'content': f'Find a path from node {i} to node {(7 * i) % 50}. Put it in \\boxed{{}}.'}]
             for i in range(a.batch)]
    s = Sampling(temperature=1.0, top_p=1.0, max_new_tokens=a.new, seed=0)
    t0 = time.perf_counter()
    with serve_for_training(pol, threads=a.threads, max_model_len=512) as srv:
        t_srv = time.perf_counter() - t0
        server = ServerBackend(pol, srv.base_url, ignore_eos=True, tol=1e-3)
        t0 = time.perf_counter()
        inproc = VLLMBackend(pol, ignore_eos=True, max_model_len=512, threads=a.threads)
        print(f"start: server {t_srv:.1f} s (until /v1/models answers), in-process engine {time.perf_counter() - t0:.1f} s")
        backends = {'server': server, 'inprocess': inproc}
        for be in backends.values(): be.generate(convs[:4], 1, s)   # warm-up
        times = {k: [] for k in backends}
        for r in range(a.rounds):
            order = list(backends) if r % 2 == 0 else list(backends)[::-1]
            outs = {}
            for name in order:
                t = time.perf_counter()
                outs[name] = ro = backends[name].generate(convs, 1, s.replace(seed=r))
                dt = time.perf_counter() - t
                assert ro.n_tokens == a.batch * a.new, (name, ro.n_tokens)
                times[name].append(dt)
                print(f"round {r} {name:9s} {dt:7.2f} s  {ro.n_tokens / dt:8.1f} tok/s")
            same = sum(x == y for x, y in zip(outs['server'].completion_ids, outs['inprocess'].completion_ids))
            print(f"round {r}: {same}/{a.batch} completions identical across the two (same engine, same seeds)")
        med = {k: statistics.median(v) for k, v in times.items()}
        tps = {k: a.batch * a.new / v for k, v in med.items()}
        print(f"{a.model} {a.batch}x{a.new}: server {tps['server']:.1f} tok/s, in-process {tps['inprocess']:.1f} tok/s "
              f"(medians of {a.rounds}); server/in-process = {tps['server'] / tps['inprocess']:.2f}x")
        print(f"ρ, fp32 server vs fp32 trainer: {rho_spread(pol, outs['server'], s.replace(seed=a.rounds - 1))}")
        # weight sync after a (fake) optimizer step, 3 times each
        sync = {'server': [], 'send': [], 'probe': [], 'inprocess': []}
        for k in range(3):
            with torch.no_grad():
                for p in pol.model.parameters(): p.add_(torch.randn_like(p) * 1e-3)
            for name, be in backends.items():
                t = time.perf_counter(); be.update_weights(pol.model); sync[name].append(time.perf_counter() - t)
            for part in ('send', 'probe'): sync[part].append(server.last_sync[part])
        mb = sum(v.numel() * v.element_size() for v in pol.model.state_dict().values()) / 2**20
        ms = {k: 1e3 * statistics.median(v) for k, v in sync.items()}
        print(f"weight sync ({mb:.0f} MiB fp32): server {ms['server']:.0f} ms = send {ms['send']:.0f} (snapshot + "
              f"reload_weights RPC + prefix-cache reset) + probe {ms['probe']:.0f}; in-process {ms['inprocess']:.0f} ms; "
              f"server/in-process = {ms['server'] / ms['inprocess']:.1f}x, send alone {ms['send'] / ms['inprocess']:.1f}x "
              "(medians of 3)")
        inproc.close(); server.close()
    if a.bf16_server:
        with serve_for_training(pol, dtype='bfloat16', threads=a.threads, max_model_len=512) as srv:
            be = ServerBackend(pol, srv.base_url, tol=0.1)
            ro = be.generate(convs, 1, s)
            print(f"ρ, bf16 server vs fp32 trainer: {rho_spread(pol, ro, s)}")
            s2 = s.replace(temperature=0.7, top_p=0.9)
            print(f"  at T=0.7, top-p 0.9: {rho_spread(pol, be.generate(convs, 1, s2), s2)}")
            from fst_nb.cispo import CISPOTrainer, TrainConfig
            cfg = TrainConfig(steps=3, problems=4, G=8, lr=1e-4, warmup_steps=0, max_new_tokens=32, eval_every=0, beta=0.0)
            tr = CISPOTrainer(pol, Parity(), cfg, backend=be, verbose=False)
            for _ in range(cfg.steps):
                r = tr.train_step()
                print(f"  CISPO train row {r['step']} (bf16 server rollouts): " +
                      ', '.join(f"{k} {r[k]:.4f}" for k in ('ratio_mean', 'ratio_std', 'ratio_min', 'ratio_max', 'clip_frac')) +
                      f", groups kept {r['groups_kept']}")
            be.close()

class Parity:
    "Stand-in task: reward 1 when the completion's character count is even (informative groups on any model)."
    def __init__(self): self.data = [{'id': str(i), 'q': f'Say {i} things.'} for i in range(32)]
    def examples(self, split='train', n=None, seed=0): return self.data[:n]
    def messages(self, ex, context=None): return [{'role': 'user', 'content': ex['q']}]
    def score_batch(self, comps, exs):
        from types import SimpleNamespace
        return [SimpleNamespace(score=float(len(c) % 2 == 0), feedback='') for c in comps]

if __name__ == '__main__':   # vLLM may spawn processes: keep the entry point guarded
    main()
