__version__ = "0.1.0"

# OpenMP threads that wait by spinning make torch 20-40x slower whenever another process holds a core (measured: a tiny
# model's RL step 7.5 s with 2 spinning threads next to one busy process, 0.2 s with passive waiting). Sleeping waiters
# cost nothing measurable on a quiet machine. Takes effect when fst_nb is imported before torch (the `fst` command, tests).
import os as _os
_os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
