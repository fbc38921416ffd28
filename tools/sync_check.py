"Fail when the library is out of sync with the notebooks, or the notebooks are not clean; name the files."
import hashlib, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

def snapshot(folder, pattern):
    "Map each file under `folder` matching `pattern` to its sha256."
    return {p.relative_to(ROOT).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((ROOT/folder).rglob(pattern)) if '.ipynb_checkpoints' not in p.parts}

def changed(before, after): return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))

def run_step(cmd, folder, pattern, what, fix):
    before = snapshot(folder, pattern)
    res = subprocess.run([str(BIN/cmd)], cwd=ROOT, capture_output=True, text=True)
    if res.returncode: sys.exit(f"{cmd} failed:\n{res.stdout}\n{res.stderr}")
    diff = changed(before, snapshot(folder, pattern))
    if diff:
        print(f"OUT OF SYNC: {what}:\n  " + "\n  ".join(diff) + f"\n{fix}", file=sys.stderr)
    return diff

def main():
    bad = run_step('nbdev_export', 'fst_nb', '*.py', 'the library differs from what the notebooks export',
                   'Fix: run `nbdev_export` (the files above are now re-exported) and commit them.')
    bad += run_step('nbdev_clean', 'nbs', '*.ipynb', 'these notebooks were not clean',
                    'Fix: run `nbdev_clean` (the notebooks above are now cleaned) and commit them.')
    readme = subprocess.run([sys.executable, str(ROOT/'tools'/'readme.py'), '--check'], cwd=ROOT)
    if readme.returncode:
        print("OUT OF SYNC: README.md differs from nbs/index.ipynb\nFix: run `python tools/readme.py` and commit README.md.",
              file=sys.stderr)
        bad.append('README.md')
    if bad: sys.exit(1)
    print("sync-check: library and notebooks in sync, notebooks clean")

if __name__ == '__main__': main()
