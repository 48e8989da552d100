"""Which mutants each step's checks catch (the test is tests/test_mutations.py), and the record the tests use.

Usage:
  python benchmarks/mutation_survey.py [LABEL ...]   survey the steps (default: all) in this process, printing
                                                     each step's time and each mutant's catch
  python benchmarks/mutation_survey.py --record      verify and survey every step on two worker processes (as the
                                                     test session does) and write tests/mutation_record.json

The record holds each step's survey with verify's verdicts on the step and the fingerprint of the code that ran
them (checks.mutation.survey_fingerprint); the test session takes a step's survey from it only when both still
hold (tests/background.py), so a stale record costs time, never a verdict.  tests/test_mutations.py fails while
the record is stale: re-record after changing the math layer (steps, sections, checks) or its libraries.
"""

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def survey_here(labels: list[str]) -> None:
    from softsign_scaling.checks.mutation import caught, mutants
    from softsign_scaling.pipeline import derivation

    derived = derivation()
    for label in labels or derived.labels:
        step = derived[label]
        start = time.time()
        baseline = [check.run(step).verdict for check in step.checks]
        found = []
        for mutant in mutants(step):
            ok, _ = caught(step, mutant, baseline)
            found.append(f"{mutant.kind}:{'ok' if ok else 'MISSED'}")
        print(label, f"{time.time() - start:.1f}s", " ".join(found), flush=True)


def record() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from background import RECORD, Background, write_record

    from softsign_scaling.pipeline import derivation

    labels = derivation().labels
    start = time.time()
    background = Background(tuple(labels))
    try:
        background.verified()
        baselines = background.baselines()
        steps = {label: {"baseline": baselines[label], "survey": [list(found) for found in background.survey(label)]}
                 for label in labels}
    finally:
        background.close(finished=True)
    write_record(steps)
    missed = [(label, kind) for label, entry in steps.items() for kind, by in entry["survey"] if not by]
    print(f"recorded {len(steps)} steps' surveys in {RECORD.relative_to(ROOT)} ({time.time() - start:.0f} s); "
          f"mutants missed: {missed or 'none'}")


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python benchmarks/mutation_survey.py",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("labels", nargs="*", metavar="LABEL", help="steps to survey here (default: all)")
    parser.add_argument("--record", action="store_true",
                        help="verify and survey every step on two workers; write tests/mutation_record.json")
    args = parser.parse_args(argv)
    if args.record:
        if args.labels:
            parser.error("--record surveys every step: give no LABEL")
        record()
        return 0
    from softsign_scaling.pipeline import derivation

    unknown = [label for label in args.labels if label not in derivation().labels]
    if unknown:
        parser.error(f"no step labelled {', '.join(unknown)} (labels look like E-1, X-11, R-7)")
    survey_here(args.labels)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
