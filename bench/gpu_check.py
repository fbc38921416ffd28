"""The GPU check a GPU owner runs (`make gpu-check`, under 10 minutes): Unsloth + its vLLM engine + LoRA on a small Qwen3.

Stages, each printed PASS/FAIL with its figures:
  load    FSTRun with backend='unsloth' (bf16, LoRA, fast_inference): the policy carries Unsloth's vLLM engine
  sample  rollouts on star-graph 'small' through the engine: tokens/s
  rho     the trainer's log-probs of fresh samples (sampling_logprobs at the sampling temperature/top-p) vs the
          engine's processed_logprobs: mean |log rho| small (bf16 kernels differ, so not 0)
  sync    a LoRA perturbation + update_weights changes the engine's greedy outputs, and rho stays ~1 afterwards
  cycle   one FST cycle (a GEPA round with a scripted reflector, T CISPO steps, evaluation): it must keep informative
          groups (> 0: some group had different rewards) and sync the engine (its weights version goes up); train rows
          alone pass nothing, since a step with no kept group takes no optimizer step and syncs nothing
then peak GPU memory. First, `fst plan` of each GPU preset (on this card's memory; with no GPU, on the card each preset
is sized for). Exit code: 0 all passed, or no GPU at all here (nothing run, the stack and the plans are printed);
1 a stage failed; 2 `nvidia-smi` lists a GPU that torch cannot use (e.g. a driver too old for torch's CUDA build).

    python bench/gpu_check.py                          # Qwen/Qwen3-0.6B from the hub (needs HF_HUB_OFFLINE unset)
    python bench/gpu_check.py --model /models/qwen3-1.7b --lora-r 16
"""
import argparse, shutil, subprocess, sys, tempfile, time, traceback

GPU_MISSING = 0    # no GPU at all: a clean skip, exit 0 with what would run and why it did not
GPU_UNUSABLE = 2   # nvidia-smi lists a GPU that torch cannot use: a broken stack, not a missing GPU

def nvidia_smi_gpus(run=subprocess.run) -> list:
    "The GPUs `nvidia-smi -L` lists ('GPU 0: ...' lines); [] when nvidia-smi is absent or fails."
    exe = shutil.which('nvidia-smi')
    if exe is None: return []
    try: p = run([exe, '-L'], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired): return []
    return [l.strip() for l in p.stdout.splitlines() if l.strip().startswith('GPU ')] if p.returncode == 0 else []

def cycle_verdict(rows: list, synced: int, steps: int) -> tuple:
    "(ok, info) of the cycle stage from its train rows and how often the engine's weights version went up."
    kept = sum(r.get('groups_kept', 0) for r in rows)
    ok = len(rows) == steps and all(r.get('backend') == 'unsloth' for r in rows) and kept > 0 and synced > 0
    info = f"{len(rows)} CISPO steps, {kept} informative groups kept, engine synced {synced}x"
    if rows and not kept:
        info += (" -- every group had a single reward, so no optimizer step and no sync happened (answers cut off? "
                 "check `thinking` and max_new_tokens)")
    elif kept and not synced: info += " -- optimizer steps happened but the engine's weights version never went up"
    return ok, info

def _args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default='Qwen/Qwen3-0.6B', help='local Qwen3 folder or hub name')
    ap.add_argument('--lora-r', type=int, default=16)
    ap.add_argument('--steps', type=int, default=2, help='CISPO steps in the cycle')
    ap.add_argument('--max-new-tokens', type=int, default=256)
    ap.add_argument('--gpu-memory-utilization', type=float, default=0.45)
    ap.add_argument('--rho-tol', type=float, default=0.05, help='largest mean |log rho| that passes (bf16)')
    return ap.parse_args(argv)

PLAN = ("would run: FSTRun(backend='unsloth', dtype bf16, LoRA) on star-graph 'small'; sample through Unsloth's vLLM "
        "engine (tokens/s); rho of fresh samples (trainer vs engine log-probs); a LoRA update changes the engine's "
        "greedy outputs; one FST cycle (GEPA round + CISPO steps + eval); peak GPU memory")

class Check:
    "Runs stages in order, prints one PASS/FAIL line each, remembers failures."
    def __init__(self): self.failed = []
    def stage(self, name, fn):
        t0 = time.time()
        try: ok, info = fn()
        except Exception as e:
            ok, info = False, f"{type(e).__name__}: {e}"
            traceback.print_exc()
        print(f"[{'PASS' if ok else 'FAIL'}] {name:7s} {time.time() - t0:7.1f}s  {info}", flush=True)
        if not ok: self.failed.append(name)
        return ok

def _rho(run, ro, s):
    "Mean and max |log rho| of rollouts `ro` sampled with `s`: trainer log-probs minus the engine's."
    from fst_nb.cispo import make_batch, score_logprobs
    tr = run.trainer
    b = make_batch(ro.prompt_ids, ro.completion_ids, ro.logprobs, [0.0] * len(ro), ro.prompt_index, tr.tok.pad_token_id,
                   tr.device)
    # score_rows sequences per pass, LOGP_CHUNK logit elements per float32 copy: a whole [32, 257, V] top-p sort was ~37 GB
    lp = score_logprobs(tr.model, b, s.temperature, s.top_p, tr.cfg.score_rows, tr.cfg.logp_chunk)
    d = (lp - b.old_logp)[b.mask.bool()].abs()
    return d.mean().item(), d.max().item()

PRESET_CARDS = {'gpu-star': 24, 'gpu-star-8b': 80, 'gpu-math': 24}   # GiB of the card each GPU preset is sized for

def print_plans(gpu_gb=None):
    "`fst plan` of each GPU preset, on this card's memory (`gpu_gb`) or the card the preset is sized for."
    from fst_nb.memory import plan
    for name, gb in PRESET_CARDS.items():
        try: print(plan(name, gpu_gb or gb), flush=True)
        except Exception as e: print(f"plan {name}: {type(e).__name__}: {e}", flush=True)

def main(argv=None) -> int:
    a = _args(argv)
    import torch
    from fst_nb.rollout import doctor
    print(doctor(), flush=True)
    print_plans(torch.cuda.mem_get_info()[1] / 2**30 if torch.cuda.is_available() else None)
    if not torch.cuda.is_available():
        gpus = nvidia_smi_gpus()
        if gpus:
            print(f"gpu-check: FAILED, nvidia-smi lists {len(gpus)} GPU(s) ({gpus[0]}) but torch {torch.__version__} "
                  f"(CUDA build {torch.version.cuda or 'none: a CPU build'}) cannot use them. The driver must support "
                  f"that CUDA version (plain `nvidia-smi` prints the highest CUDA version its driver supports): update "
                  f"the driver, or install a torch built for the CUDA the driver has. Nothing was run.\n  {PLAN}")
            return GPU_UNUSABLE
        print(f"gpu-check: SKIPPED, no CUDA GPU here (torch {torch.__version__}, CUDA build {torch.version.cuda or 'none'}); "
              f"nothing was run.\n  {PLAN}")
        return GPU_MISSING
    from fst_nb.presets import load_config
    from fst_nb.fst import FSTRun
    from fst_nb.gepa import CallableLM
    from fst_nb.rollout import Sampling, unsloth_engine
    cfg = load_config(None, dict(mode='fst', task='star_graph', preset='small', model=a.model, backend='unsloth',
                                 lora_r=a.lora_r, gpu_memory_utilization=a.gpu_memory_utilization, cycles=1,
                                 rl_steps=a.steps, problems=2, G=4, pool_k=2, gepa_budget=16, minibatch=2,
                                 max_new_tokens=a.max_new_tokens, eval_problems=8, lr=5e-5, warmup_steps=0,
                                 reflection_lm='openai/not-called', decompose=False, verbose=False))
    ck, st = Check(), {}
    torch.cuda.reset_peak_memory_stats()

    def load():
        st['run'] = run = FSTRun.create(cfg, root=tempfile.mkdtemp(prefix='fst_gpu_check_'))
        run.reflector = CallableLM(lambda p: "Be exact.\n```\nList the path from source to goal as \\boxed{a,b,c}.\n```")
        unsloth_engine(run.policy.model)
        return (run.backend_used == 'unsloth' and run.policy.dtype in (torch.bfloat16, torch.float16),
                f"backend {run.backend_used}, {run.policy}, dtype {run.policy.dtype}, device {run.policy.device}")
    if not ck.stage('load', load): return 1
    run = st['run']
    exs = run.task.examples('test', n=8, seed=0)
    convs = [run.task.messages(e, cfg.seed_prompt) for e in exs]
    s = Sampling(temperature=0.8, top_p=0.95, max_new_tokens=a.max_new_tokens, seed=0)

    def sample():
        t0 = time.time(); ro = run.backend.generate(convs, 4, s); dt = time.time() - t0
        st['ro'] = ro
        return len(ro) == 32, f"{ro}, {ro.n_tokens / dt:.0f} tokens/s"
    ck.stage('sample', sample)

    def rho():
        mean, mx = _rho(run, st['ro'], s)
        return mean < a.rho_tol, f"mean |log rho| {mean:.4f} (tol {a.rho_tol}), max {mx:.3f}"
    if 'ro' in st: ck.stage('rho', rho)

    def sync():
        greedy = Sampling(temperature=1e-6, max_new_tokens=32)   # sent to vLLM as greedy
        before = run.backend.generate(convs[:4], 1, greedy).completion_ids
        with torch.no_grad():
            for n, p in run.policy.model.named_parameters():
                if 'lora_B' in n: p.add_(torch.randn_like(p) * 0.02)
        run.backend.update_weights(run.policy.model)
        after = run.backend.generate(convs[:4], 1, greedy).completion_ids
        mean, _ = _rho(run, run.backend.generate(convs, 2, s), s)
        return after != before and mean < a.rho_tol, f"greedy outputs changed: {after != before}; mean |log rho| after {mean:.4f}"
    ck.stage('sync', sync)

    def cycle():
        v0 = run.backend.version
        out = run.cycle()
        rows = [r for r in run.run_dir.read() if r.get('kind') == 'train']
        t = sum(r['step_time'] for r in rows) / max(len(rows), 1)
        ok, info = cycle_verdict(rows, run.backend.version - v0, a.steps)
        return ok, (f"{info}, {t:.1f} s/step, reward {rows[-1]['reward_mean'] if rows else float('nan'):.3f}, "
                    f"cycle {out['seconds']} s")
    ck.stage('cycle', cycle)
    free, total = torch.cuda.mem_get_info()
    print(f"peak torch memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB; device in use now "
          f"{(total - free) / 2**30:.2f} of {total / 2**30:.1f} GiB (vLLM's share included)")
    print('gpu-check: ' + ('all stages passed' if not ck.failed else f"FAILED: {', '.join(ck.failed)}"))
    return 1 if ck.failed else 0

if __name__ == '__main__': sys.exit(main())
