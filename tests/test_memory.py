"fst plan's arithmetic (fast) and the CPU memory model of gpu-star against it (slow)."
import json, pytest
from fst_nb.core import ConfigError
from fst_nb.fst import FSTConfig
from fst_nb.memory import GiB, LOGP_CHUNK, _stages, measure, model_shape, phase_bytes, plan

def _hand_model(tmp_path):
    "A model folder small enough to count by hand: hidden 8, 1 layer, 1 head of 8, intermediate 16, vocabulary 100."
    cfg = dict(hidden_size=8, num_hidden_layers=1, num_attention_heads=1, num_key_value_heads=1, head_dim=8,
               intermediate_size=16, vocab_size=100, tie_word_embeddings=True)
    (tmp_path/'config.json').write_text(json.dumps(cfg))
    return str(tmp_path)

def test_plan_by_hand(tmp_path):
    s = model_shape(_hand_model(tmp_path))
    assert s.n_params == 8 * 32 + 3 * 8 * 16 + 2 * 8 + 2 * 8 + 100 * 8 + 8 == 1480   # q,k,v,o; MLP; norms; embedding
    assert s.lora_params(2) == 2 * (16 + 16 + 16 + 16 + 24 + 24 + 24) == 272
    cfg = FSTConfig(model=_hand_model(tmp_path), backend='auto', lora_r=2, gpu_memory_utilization=0.5, problems=4, G=8,
                    grad_accum=2, score_rows=4, max_new_tokens=9, beta=0.0)
    p = plan(cfg, 4.0, prompt_len=11)                  # L = 11 + 9 = 20 positions, T + 1 = 10 logits rows per sequence
    assert p.shape['mb'] == 16                          # 4 problems / 2 parts = 2 groups of 8
    assert p.static == dict(engine=2.0, weights=0.0, optimizer=272 * 16 / GiB, overhead=1.0)   # Unsloth shares the weights
    held = (1 * 8 + 2 * 8) * 16 * 20 * 2                            # checkpointed layer inputs + the final norm's, bf16
    layer = (4 * 8 + 4 * 8 + 3 * 8 + 4 * 16) * 16 * 20 * 2          # one layer's saved tensors, recomputed in the backward
    st = _stages(s, 'loss', 16, 11, 9, 4, 2, LOGP_CHUNK, 1.0, True)
    assert st['backward'] == dict(activations=held, logits=3 * 16 * 10 * 100 * 2)   # logits, gradient, padded gradient
    assert st['logprobs_backward'] == dict(activations=held, logits=2 * 16 * 10 * 100 * 2,
                                           chunks=4 * 16 * 9 * 100 * 4)   # the whole [16, 9, 100] is below one chunk
    assert st['recompute'] == dict(activations=held + 2 * layer)
    assert st['forward'] == dict(activations=held + layer, mask=16 * 20 * 20)
    loss = p.phases['loss'][1]                                       # the phase's peak: its largest stage
    assert sum(loss.values()) * GiB == max(sum(d.values()) for d in st.values()) == held + 2 * 16 * 10 * 100 * 2 + 4 * 16 * 9 * 100 * 4
    assert p.phases['score'][1]['logits'] * GiB == 4 * 10 * 100 * 2
    assert 'ref' not in p.phases                                     # beta = 0: no reference pass
    assert abs(p.peak - (3.0 + 272 * 16 / GiB + max(v for v, _ in p.phases.values()))) < 1e-12
    assert p.fits and 'fits' in str(p)
    assert not plan(cfg, 2.0, prompt_len=11).fits                    # 1 GiB engine + 1 GiB overhead leave nothing

def test_chunks_are_bounded():
    s = model_shape('Qwen/Qwen3-8B')
    small, big = (phase_bytes(s, 'score', r, 100, 1024)['chunks'] for r in (8, 64))
    assert small == big == 4 * LOGP_CHUNK * 4                        # 64 MiB chunks, whatever the rows
    assert phase_bytes(s, 'score', 8, 100, 1024, top_p=0.95)['chunks'] == 2 * small

@pytest.mark.parametrize('preset,gb', [('gpu-star', 24), ('gpu-star-8b', 80), ('gpu-math', 24)])
def test_gpu_presets_fit(preset, gb):
    p = plan(preset, gb)
    assert p.fits, str(p)
    assert p.shape['kv_seqs'] >= 1                                   # the engine holds at least one whole sequence

def test_oversize_says_what_to_change():
    p = plan('gpu-star', 24, {'micro_batch': 32})
    assert not p.fits and 'does not fit' in str(p)
    adv = next(a for a in p.advice if 'set micro_batch=' in a)
    mb = int(adv.split('set micro_batch=')[1].split()[0])
    assert 1 <= mb < 32 and plan('gpu-star', 24, {'micro_batch': mb}).fits    # the advice is a config that fits
    assert not plan('gpu-star', 24, {'micro_batch': mb + 1}).fits              # and the largest one
    p = plan('gpu-star', 24, {'score_rows': 64, 'gen_batch': 64})
    assert not p.fits and any('set score_rows=' in a for a in p.advice) and any('set gen_batch=' in a for a in p.advice)

def test_checkpointing_off_counts_every_layer():
    on, off = plan('gpu-star', 24), plan('gpu-star', 24, {'grad_ckpt': 'off'})
    assert off.phases['loss'][0] > 2 * on.phases['loss'][0]          # 28 layers' saved tensors instead of their inputs
    assert on.fits and not off.fits and any('set micro_batch=' in a for a in off.advice)

def test_engine_and_full_finetuning():
    p = plan('gpu-star-8b', 80, {'gpu_memory_utilization': 0.15})             # 12 GiB < 15.3 GiB of bf16 weights
    assert not p.fits and any(a.startswith('engine') and 'raise it to' in a for a in p.advice)
    p = plan('gpu-star', 24, {'lora_r': 0})                                    # 16 B/param fp32 master + Adam: 27 GiB
    assert not p.fits and p.static['optimizer'] > 24 and any('lora_r > 0' in a for a in p.advice)

def test_bad_names():
    with pytest.raises(ConfigError, match='gpu-star-8b'): plan('gpu-stra', 24)
    with pytest.raises(ConfigError, match='Qwen/Qwen3-1.7B'): plan('gpu-star', 24, {'model': 'Qwen/Qwen3-14B'})
    with pytest.raises(ConfigError, match='gpu_mem_gb'): plan('gpu-star', 0)
    with pytest.raises(ConfigError, match='phases are'): measure('train', 1, 1, 1)

# The CPU memory model of gpu-star: each phase at the preset's prompt length (the task's longest held-out prompt +
# PROMPT_HEADROOM), completion length (512) and vocabulary (151,936), with tiny-qwen3 (hidden 64). The micro-batch is
# the preset's (4). The HF decode (the 2×2 without an engine, gen_batch rows) runs 64 of the 512 new tokens: decoding
# adds ~nothing per token here (tiny-qwen3's KV cache is 256 B a token; the real one is in plan's estimate). Bounds:
# the estimate of each phase (tiny-qwen3's shape, no checkpointing) within a factor 1.35 of the measured peak, and
# each peak under its stated MiB. ~2.2 min, < 2.5 GB of RSS on 1 thread (measured 2026-12-03).
BOUND_MB = dict(score=1800, loss=2300, ref=2700, eval_kl=1800, decomp=600)

@pytest.mark.slow
def test_memory_model_gpu_star():
    p = plan('gpu-star', 24)
    P, T, mb, rows, gen = (p.shape[k] for k in ('P', 'T', 'mb', 'rows', 'gen'))
    s = model_shape('tiny-qwen3')
    runs = dict(score=(rows, T, rows), loss=(mb, T, rows), ref=(mb, T, rows), eval_kl=(rows, T, rows), decomp=(gen, 64, gen))
    out = {}
    for ph, (B, t, r) in runs.items():             # B rows in all, r of them per pass
        m = measure(ph, B, P, t, r)
        est = sum(phase_bytes(s, ph, B if ph in ('loss', 'ref') else r, P, t, score_rows=r,
                              checkpointing=False).values()) / 2**20
        out[ph] = (m['delta_mb'], est)
        print(f"{ph:8s} B={B} P={P} T={t} V={m['V']}: peak +{m['delta_mb']} MB (estimate {est:.0f} MB), {m['seconds']} s")
    for ph, (got, est) in out.items():
        assert got < BOUND_MB[ph], (ph, got)
        assert 1 / 1.35 < est / got < 1.35, (ph, got, est)
