"""Which mutants each step's checks catch (a quick survey; the test is tests/test_mutations.py).

Usage: python benchmarks/mutation_survey.py [LABEL ...]
"""
import sys, time
from softsign_scaling.pipeline import derivation
from softsign_scaling.checks.mutation import mutants, caught
d = derivation()
labels = sys.argv[1:] or d.labels
for label in labels:
    step = d[label]
    t=time.time()
    base = [c.run(step).verdict for c in step.checks]
    out=[]
    for m in mutants(step):
        ok, by = caught(step, m, base)
        out.append(f"{m.kind}:{'ok' if ok else 'MISSED'}")
    print(label, f"{time.time()-t:.1f}s", " ".join(out), flush=True)
