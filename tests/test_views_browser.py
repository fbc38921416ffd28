"""Real-browser test of the views: JupyterLab on 127.0.0.1, a generated notebook run in headless Debian chromium.

Playwright drives /usr/bin/chromium through `executable_path` (`make browser-setup` installs it with apt-get; never
`playwright install`). Screenshots go to tests/artifacts/ (git-ignored). Run with `make test-slow`.
"""
import contextlib, json, os, secrets, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
ART = ROOT/'tests'/'artifacts'
CHROMIUM = os.environ.get('FST_NB_CHROMIUM', '/usr/bin/chromium')
ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync']

# The notebook the browser runs: every view on a short run. `past` is a finished synthetic run opened post hoc from its
# path; `live` is a run object with the step-through API that the stepper drives.
CELLS = [
    "import os, tempfile\nfrom pathlib import Path\nfrom fst_nb.views import *\n"
    "root = Path(tempfile.mkdtemp())\npast = make_demo_run(root/'past', cycles=3)\nlive = DemoRun(root/'live', steps_per_cycle=2, total_steps=8)\n"
    "print(f'widgets_ok={widgets_ok()}')",
    "stepper = CycleStepper(live)\nstepper",
    "Dashboard([str(past.path), live])",
    "FrontierView(str(past.path))",
    "CritiqueBrowser(str(past.path))",
    "dashboard_figure(str(past.path), height=420)",
]
# plot='figurewidget' (plotly's FigureWidget through anywidget) is not exercised here: in JupyterLab on a loaded 2-core
# machine its front end fails intermittently ("[anywidget] Failed to initialize model", a TypeError in the plotly
# widget's JS), which is why the views default to Output-pane figures for live updates.

def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _notebook(cells):
    return {'cells': [{'cell_type': 'code', 'execution_count': None, 'metadata': {}, 'outputs': [], 'source': c} for c in cells],
            'metadata': {'kernelspec': {'display_name': 'Python 3', 'language': 'python', 'name': 'python3'}},
            'nbformat': 4, 'nbformat_minor': 5}

@contextlib.contextmanager
def jupyter_lab(tmp_path, cells):
    "A JupyterLab server on a free localhost port with a token and its own settings, serving a notebook of `cells`."
    work, port, token = tmp_path/'work', _free_port(), secrets.token_hex(16)
    work.mkdir()
    (work/'views.ipynb').write_text(json.dumps(_notebook(cells)))
    settings = tmp_path/'settings'/'@jupyterlab'
    (settings/'notebook-extension').mkdir(parents=True)
    (settings/'notebook-extension'/'tracker.jupyterlab-settings').write_text(json.dumps({'windowingMode': 'none'}))
    (settings/'apputils-extension').mkdir(parents=True)
    (settings/'apputils-extension'/'notification.jupyterlab-settings').write_text(
        json.dumps({'fetchNews': 'false', 'checkForUpdates': False}))
    env = {**os.environ, 'JUPYTERLAB_SETTINGS_DIR': str(tmp_path/'settings'), 'JUPYTERLAB_WORKSPACES_DIR': str(tmp_path/'ws'),
           'JUPYTER_RUNTIME_DIR': str(tmp_path/'rt'), 'PYTHONPATH': str(ROOT), 'FST_RUNS_DIR': str(tmp_path/'runs')}
    env.pop('FST_NB_WIDGETS', None)
    log = open(tmp_path/'lab.log', 'w')
    proc = subprocess.Popen([sys.executable, '-m', 'jupyterlab', '--no-browser', '--ServerApp.ip=127.0.0.1',
                             f'--ServerApp.port={port}', '--ServerApp.port_retries=0', f'--IdentityProvider.token={token}',
                             f'--ServerApp.root_dir={work}', '--LabApp.expose_app_in_browser=True',
                             '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate', '--LabApp.extension_manager=readonly']
                            + (['--allow-root'] if os.geteuid() == 0 else []),
                            cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f'http://127.0.0.1:{port}'
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f'{base}/api/status?token={token}', timeout=2); break
            except OSError:
                if proc.poll() is not None: break
                time.sleep(0.5)
        else: raise RuntimeError('JupyterLab did not answer within 60 s')
        if proc.poll() is not None: raise RuntimeError(f"JupyterLab exited: {(tmp_path/'lab.log').read_text()[-2000:]}")
        yield dict(url=f'{base}/lab/tree/views.ipynb?token={token}', log=tmp_path/'lab.log', tmp=tmp_path)
    finally:
        proc.terminate()
        try: proc.wait(timeout=20)
        except subprocess.TimeoutExpired: proc.kill()
        log.close()

@pytest.fixture
def lab(tmp_path):
    if not Path(CHROMIUM).exists(): pytest.fail(f"{CHROMIUM} is missing: run `make browser-setup`")
    with jupyter_lab(tmp_path, CELLS) as info: yield info

def open_notebook(p, info):
    "Chromium (Debian's, through Playwright) on the notebook; returns (context, page, errors) once the kernel is idle."
    ctx = p.chromium.launch_persistent_context(str(info['tmp']/'chromium-profile'), executable_path=CHROMIUM,
                                               headless=True, args=ARGS, viewport={'width': 1400, 'height': 1000})
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    errors = []
    page.on('pageerror', lambda e: errors.append(str(e)))
    page.on('console', lambda m: m.type == 'error' and errors.append(m.text))
    page.goto(info['url'], timeout=90_000)
    page.wait_for_selector('.jp-Notebook .jp-CodeCell', timeout=90_000)
    page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=60_000)
    page.wait_for_function("""() => { const w = window.jupyterapp.shell.currentWidget;
        return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel &&
               w.sessionContext.session.kernel.status === 'idle'; }""", timeout=120_000)
    return ctx, page, errors

def run_all(page, n_cells):
    "Run every cell and wait until each has an execution count."
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(f"""() => {{ const cs = document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt');
        return cs.length === {n_cells} && [...cs].every(c => /\\[\\d+\\]/.test(c.textContent)); }}""", timeout=180_000)

def _points(page, cell):
    "Points of the first trace of the first plotly plot in code cell `cell`: (in the plot's data, drawn as markers)."
    return tuple(page.evaluate("""(i) => {
        const plot = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[i].querySelector('.js-plotly-plot');
        if (!plot || !plot.data) return [-1, -1];
        const tr = plot.querySelector('.scatterlayer .trace');
        return [(plot.data[0].x || []).length, tr ? tr.querySelectorAll('path.point').length : 0]; }""", cell))

def _wait_points(page, cell, n, timeout=30):
    "Wait until the dashboard in `cell` has `n` points in its first trace, in its data and drawn."
    t0 = time.time()
    while _points(page, cell) != (n, n):
        if time.time() - t0 > timeout: raise AssertionError(f"cell {cell}: points {_points(page, cell)}, expected {(n, n)}")
        page.wait_for_timeout(250)

def _summary(page, key):
    return page.locator(f".jp-CodeCell >> nth=1 >> td[data-key='{key}']").first.inner_text()

@pytest.mark.slow
def test_views_render_and_step_in_chromium(lab):
    from playwright.sync_api import sync_playwright
    ART.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        ctx, page, errors = open_notebook(p, lab)
        try:
            n_cells = len(CELLS)
            run_all(page, n_cells)
            out1 = page.locator('.jp-Notebook .jp-CodeCell').nth(0).locator('.jp-Cell-outputArea').inner_text()
            assert 'widgets_ok=True' in out1, out1          # a kernel started by the Jupyter server: widgets chosen
            # every view rendered: 5 plotly plots (4 output panes and the static figure) and ipywidgets controls
            page.wait_for_function("document.querySelectorAll('.jp-Notebook .js-plotly-plot').length >= 5", timeout=90_000)
            page.wait_for_selector('.jupyter-widgets.widget-button', timeout=30_000)
            assert page.locator('.jp-Notebook .widget-button').count() == 4               # the stepper's buttons
            assert page.locator('.jp-Notebook .widget-toggle-button').count() == 3        # the critique status filter
            assert page.locator('.jp-Notebook .widget-dropdown').count() >= 3
            assert page.locator('.jp-Notebook .widget-slider').count() == 1
            assert page.locator('.jp-Notebook .widget-select').count() >= 1
            for i in range(1, n_cells):
                assert page.locator('.jp-Notebook .jp-CodeCell').nth(i).locator('.js-plotly-plot').count() >= 1, f'cell {i} has no plot'
            assert 'Error displaying widget' not in page.locator('.jp-Notebook').inner_text()
            page.wait_for_timeout(1000)
            cells = page.locator('.jp-Notebook .jp-CodeCell')
            names = ['stepper', 'dashboard', 'frontier', 'critiques', 'static_dashboard']
            # the stepper: press "RL step" (a real mouse click) and watch its dashboard and summary move
            before_pts, before_step = _points(page, 1), _summary(page, 'step')
            assert (before_pts, before_step) == ((0, 0), '0')
            cells.nth(1).locator('.widget-button', has_text='RL step').click()
            page.wait_for_function("""() => { const td = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[1]
                .querySelector("td[data-key='step']"); return td && td.textContent === '1'; }""", timeout=60_000)
            _wait_points(page, 1, 1)
            cells.nth(1).locator('.widget-button', has_text='Full cycle').click()
            page.wait_for_function("""() => { const td = document.querySelectorAll('.jp-Notebook .jp-CodeCell')[1]
                .querySelector("td[data-key='step']"); return td && td.textContent === '3'; }""", timeout=60_000)
            _wait_points(page, 1, 3)
            assert _summary(page, 'gepa_rounds') == '1'
            for i, name in enumerate(names, 1):
                cells.nth(i).scroll_into_view_if_needed()
                cells.nth(i).locator('.jp-Cell-outputArea').screenshot(path=str(ART/f'views_{name}.png'))
            page.screenshot(path=str(ART/'views_lab.png'))
            # the frontier view: picking a candidate shows its text, diff and critique
            fr = cells.nth(3)
            options = fr.locator('.widget-dropdown select option').all_inner_texts()
            fr.locator('.widget-dropdown select').select_option(index=len(options) - 1)
            page.wait_for_timeout(800)
            assert f"candidate #{options[-1].split()[0].lstrip('#')}" in fr.inner_text()
            assert 'diff vs #' in fr.inner_text()
            fr.locator('.jp-Cell-outputArea').screenshot(path=str(ART/'views_frontier_selected.png'))
            # the critique browser: filter to the rejected proposals
            cr = cells.nth(4)
            cr.locator('.widget-toggle-button', has_text='rejected').click()
            page.wait_for_timeout(800)
            listed = cr.locator('.widget-select select option').all_inner_texts()
            assert listed and all('✗' in t for t in listed), listed
            cr.locator('.jp-Cell-outputArea').screenshot(path=str(ART/'views_critiques_rejected.png'))
            assert not [e for e in errors if 'plotly' in e.lower() or 'widget' in e.lower()], errors
        except BaseException:
            page.screenshot(path=str(ART/'views_failure.png'))     # what the browser showed when the test failed
            for i in range(1, len(CELLS)):
                try: page.locator('.jp-Notebook .jp-CodeCell').nth(i).screenshot(path=str(ART/f'views_failure_cell{i}.png'), timeout=5000)
                except Exception: pass
            (ART/'views_failure.txt').write_text(page.locator('body').inner_text() + '\n\nlab log:\n' + lab['log'].read_text()[-4000:]
                                                 + '\n\npage errors:\n' + '\n'.join(errors))
            raise
        finally:
            ctx.close()
