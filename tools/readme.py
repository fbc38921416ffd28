"Write README.md from nbs/index.ipynb (quarto, which nbdev_readme needs, cannot be installed here): markdown cells as they are, code cells fenced."
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

def render(nb_path=ROOT/'nbs'/'index.ipynb') -> str:
    "The README text for the landing notebook."
    out = []
    for c in json.loads(Path(nb_path).read_text())['cells']:
        src = c['source'] if isinstance(c['source'], str) else ''.join(c['source'])
        if c['cell_type'] == 'markdown': out.append(src.replace('](tutorials/', '](nbs/tutorials/'))
        elif src.strip() and not src.lstrip().startswith('#|'): out.append(f"```python\n{src}\n```")
    return '\n\n'.join(out) + '\n'

def main(check=False) -> int:
    text, path = render(), ROOT/'README.md'
    if check: return 0 if path.exists() and path.read_text() == text else 1
    path.write_text(text); return 0

if __name__ == '__main__': sys.exit(main(check='--check' in sys.argv))
