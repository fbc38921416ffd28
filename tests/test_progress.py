"Output to a log file (no TTY): one line per cycle, no progress bars, no step or proposal lines in between."
import re
from fst_nb.fst import FSTConfig, FSTRun
from fst_nb.gepa import CallableLM

REPLY = "Answers lack a box.\n```\nAnswer with the path only, as \\boxed{a,b,c}.\n```"

def test_one_line_per_cycle_without_a_tty(tmp_path, capsys):
    cfg = FSTConfig(mode='fst', cycles=2, rl_steps=2, problems=2, G=4, pool_k=2, gepa_budget=6, minibatch=2, max_new_tokens=8,
                    eval_problems=4, decompose=False, verbose=True)
    run = FSTRun.create(cfg, root=tmp_path, name='fst')
    run.reflector = CallableLM(lambda p: REPLY)
    run.train()
    cap = capsys.readouterr()
    lines = [l for l in (cap.out + cap.err).splitlines() if l.strip() and not l.startswith('Loading weights')]
    assert lines[0].startswith('[after c0 eval]'), lines              # the starting point, before any cycle
    cyc = lines[1:]
    assert len(cyc) == 2 and all(re.match(rf"\[cycle {i + 1}/2\] star_graph steps \d+-\d+ train reward", l)
                                 for i, l in enumerate(cyc)), cyc
    assert all('gepa ' in l and 'calls' in l and 'KL k3' in l and l.endswith('s') for l in cyc), cyc
    assert 'fst cycles' not in cap.err and 'gepa round' not in cap.err   # no tqdm bars of ours
