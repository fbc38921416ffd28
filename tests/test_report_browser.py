"""Real-browser test of the comparison report: report.html opened in headless Debian chromium (Playwright drives it
through `executable_path`; `make browser-setup` installs it). Every figure must render (a plotly SVG with its traces
drawn), every table must be there, and the page must raise no JavaScript error. Screenshots go to tests/artifacts/
(git-ignored): look at them. Run with `make test-slow`.
"""
import json, os
from pathlib import Path
import pytest
from fst_nb.analysis import synthetic_run
from fst_nb.report import write_report

ROOT = Path(__file__).resolve().parent.parent
ART = ROOT/'tests'/'artifacts'
CHROMIUM = os.environ.get('FST_NB_CHROMIUM', '/usr/bin/chromium')
ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync']

def _write(run, root: Path) -> Path:
    d = root/run.name; d.mkdir(parents=True)
    (d/'config.json').write_text(json.dumps(run.config))
    (d/'metrics.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in run.rows))
    return d

def _continual(mode, seed, gain):
    "A two-phase run whose phase-B reward depends on `gain` (the forgetting matrix has two rows and two columns)."
    run = synthetic_run(lambda s: min(1.0, s / 300), mode=mode, cycles=6, per_cycle=64, seed=seed, noise=0.03,
                        pool=mode == 'fst', gepa_per_cycle=16 if mode == 'fst' else 0, kl=lambda s: s / (4000 if mode == 'fst' else 800))
    for r in list(run.rows):
        if r['cycle'] > 3:
            r['after_phase'], r['after_task'] = 1, 't'
            run.rows.append({**r, 'preset': 'q', 'reward_mean': gain * (r['cycle'] - 3) / 3})
    run.config['sequence'] = 't:p:12,t:q:12'
    run.rows += [dict(kind='decomp', task='t', weights=w, prompt=p, reward_mean=0.2 + 0.3 * (w == 'trained') + gain / 3 * (p == 'evolved'))
                 for w in ('start', 'trained') for p in ('seed', 'evolved')]
    return run

@pytest.fixture
def report(tmp_path):
    runs = [_continual('fst', s, 0.9) for s in range(3)] + [_continual('rl', s, 0.3) for s in range(3)]
    return write_report([_write(r, tmp_path/'runs') for r in runs], tmp_path/'report', n_boot=100)

@pytest.mark.slow
def test_report_renders_in_chromium(report):
    if not Path(CHROMIUM).exists(): pytest.fail(f"{CHROMIUM} is missing: run `make browser-setup`")
    from playwright.sync_api import sync_playwright
    ART.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = b.new_page(viewport={'width': 1200, 'height': 900})
        errors = []
        page.on('pageerror', lambda e: errors.append(str(e)))
        page.goto((report/'report.html').as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 8", timeout=60_000)
        n_div = page.locator('.plotly-graph-div').count()
        drawn = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(
            d => d.querySelectorAll('.scatterlayer .trace, .heatmaplayer image, .hm').length)""")
        page.screenshot(path=str(ART/'report-top.png'))
        page.locator('h2', has_text='Forgetting matrix').first.scroll_into_view_if_needed()
        page.screenshot(path=str(ART/'report-forgetting.png'))
        page.screenshot(path=str(ART/'report-full.png'), full_page=True)
        headings = page.locator('h2').all_inner_texts()
        b.close()
    assert errors == [], errors
    assert n_div == 5 and len(drawn) == 5, (n_div, drawn)          # 2 reward curves, KL vs reward, 2 forgetting heatmaps
    assert all(k > 0 for k in drawn), drawn                         # every figure drew its traces
    for h in ('Configuration', 'Summary', 'Held-out reward per cycle', '2×2 decomposition: fst', 'Where the wall time went'):
        assert any(x.startswith(h) for x in headings), (h, headings)
