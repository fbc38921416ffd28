"Packaging for fst_nb: everything is read from settings.ini (nbdev 2)."
from configparser import ConfigParser
from setuptools import setup, find_packages

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini', encoding='utf-8')
c = cfg['DEFAULT']
reqs = lambda k: c.get(k, '').split()
scripts = [s.strip() for s in c.get('console_scripts', '').split('\n') if s.strip()]

setup(
    name=c['lib_name'], version=c['version'], description=c['description'],
    author=c['author'], license=c['license'], python_requires=f">={c['min_python']}",
    packages=find_packages(include=['fst_nb', 'fst_nb.*']), include_package_data=True,
    install_requires=reqs('requirements'),
    extras_require={'dev': reqs('dev_requirements'), 'gpu': reqs('gpu_requirements')},
    entry_points={'console_scripts': scripts, 'nbdev': [f"{c['lib_name']}={c['lib_name']}._modidx:d"]},
    zip_safe=False,
)
