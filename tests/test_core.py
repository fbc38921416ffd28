"Crash safety of run directories: a writer killed with SIGKILL never leaves a corrupt checkpoint or a half metrics row."
import json, os, signal, subprocess, sys, textwrap, time
from pathlib import Path
import pytest
from fst_nb.core import RunDir, read_jsonl

WRITER = textwrap.dedent('''
    import sys, json
    from fst_nb.core import RunDir
    rd = RunDir(sys.argv[1]); (rd.path).mkdir(parents=True, exist_ok=True)
    blob = 'x' * 200_000
    step = 0
    while True:
        step += 1
        rd.log(kind='train', step=step, payload=blob[: (step * 7919) % 200_000])
        if step % 3 == 0:
            def write(d, step=step):
                for i in range(4): (d/f'part{i}.json').write_text(json.dumps({'step': step, 'blob': blob}))
            rd.save_checkpoint(step, write, keep=3)
''')

@pytest.mark.parametrize('delay', [0.3, 0.55, 0.8, 1.1])
def test_sigkill_leaves_consistent_run(tmp_path, delay):
    run = tmp_path/'run'
    proc = subprocess.Popen([sys.executable, '-c', WRITER, str(run)])
    time.sleep(delay + 1.5)   # interpreter start-up, then some writing
    proc.send_signal(signal.SIGKILL); proc.wait()
    rd = RunDir(run)
    rows = read_jsonl(rd.metrics_path)
    assert rows, 'the writer should have logged rows before the kill'
    assert [r['step'] for r in rows] == list(range(1, len(rows) + 1))
    for ck in rd.checkpoints():      # every visible checkpoint is whole
        step = int(ck.name.split('-')[1])
        for i in range(4): assert json.loads((ck/f'part{i}.json').read_text())['step'] == step
    last = rd.resume()
    text = rd.metrics_path.read_text()
    assert text == '' or text.endswith('\n')
    rows = [json.loads(l) for l in text.splitlines()]   # every line parses after resume
    upto = int(last.name.split('-')[1]) if last else 0
    assert [r['step'] for r in rows] == list(range(1, upto + 1))
    assert not list(run.glob('ckpt-*.tmp'))
