import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests are seeded: the same examples on every run and machine (a failure is reproducible, never
# a one-in-a-hundred flake), and no example database written into the checkout.
settings.register_profile("seeded", derandomize=True, database=None)
settings.load_profile("seeded")

# Golden-file tests: byte comparisons of committed generated files with a fresh generation.  They break on
# last-digit differences between library versions, so they carry the `golden` marker: CI runs them (plain
# `pytest` selects every marker), and `pytest -m "not golden"` runs the behaviour tests alone.  Tests in
# files that cannot carry the decorator yet are listed here by id (tests/test_numeric_codegen.py has it).
GOLDEN = {
    "tests/test_cli.py::test_derive_is_byte_reproducible_and_matches_the_committed_files",
    "tests/test_appendix.py::test_committed_appendix_and_markdown_match_a_fresh_generation",
    "tests/test_appendix.py::test_committed_figures_match_a_fresh_drawing",
    "tests/test_atlas.py::test_atlas_report_is_reproducible",
}


# Fixtures computed by the background workers (tests/background.py): the tests that use them run last, so
# that verify and the mutation surveys run beside every other test instead of before them.
BACKGROUND = ("verified", "stable_proofs", "mutation_survey", "derived_elsewhere")

# Subprocess work one test only waits for (tests/early.py): test id -> "module:function" in tests/, a function that
# starts it (an early.Early) or returns None where the test will skip.  Started when the session is collected.
EARLY = {
    "tests/test_kernel.py::test_equal_bits_where_numpy_uses_the_c_library": "test_kernel:start_limited_dispatch_run",
    "tests/test_atlas.py::test_atlas_report_is_reproducible": "test_atlas:start_atlas_run",
}

# Heavy tests that take no costly session fixture (the offloaded process computes the fixtures they take), run in a
# second pytest process started when the session is collected (tests/early.py ``Offload``); this process reports each
# one's outcome (pass, failure with its report, skip) from that run.  A test id, or a function's id for all its
# parameters.
OFFLOADED = (
    "tests/test_fast_moments.py::test_fast_moments_against_mpmath_on_a_random_grid",
    "tests/test_numeric_accuracy.py::test_clip_moments_on_hostile_grid",
    "tests/test_numeric_accuracy.py::test_variance_clip_keeps_its_digits",
    "tests/test_numeric_accuracy.py::test_exact_moments_against_s_integral_and_faddeeva",
    "tests/test_real_torch.py::test_data_parallel_gloo_two_processes",
    "tests/test_real_torch.py::test_data_parallel_noise_sketch_from_per_rank_deviations",
    "tests/test_mutations.py::test_the_fingerprint_covers_what_a_survey_runs",
    "tests/test_documented_commands.py::test_cheap_commands_leave_a_checkout_clean",
)


def _offloaded(item) -> bool:
    from early import OFFLOAD_ENV

    return not os.environ.get(OFFLOAD_ENV) and item.nodeid.split("[")[0] in OFFLOADED


def pytest_collection_modifyitems(config, items):
    run_slow = "slow" in (config.getoption("-m") or "")
    for item in items:
        if item.get_closest_marker("slow") is not None and not run_slow:
            item.add_marker(pytest.mark.skip(reason="slow: run with -m slow"))
        if item.nodeid.split("[")[0] in GOLDEN:
            item.add_marker(pytest.mark.golden)
    waits = lambda item: [name in getattr(item, "fixturenames", ()) for name in reversed(BACKGROUND)]  # noqa: E731
    # stable: the others first, in file order; then those reading early work; the mutation surveys' tests last
    items.sort(key=lambda item: [*waits(item), item.nodeid in EARLY or _offloaded(item)])


def _runs(item) -> bool:
    return item.get_closest_marker("skip") is None


def _whole_suite(config) -> bool:
    """A plain `pytest` (the README's test command, CI): no -m, -k or --collect-only, and only folders named (the
    default test path), so every background fixture will be asked for."""
    return (not config.getoption("collectonly") and not config.getoption("markexpr")
            and not config.getoption("keyword") and all(Path(arg).is_dir() for arg in config.args))


def pytest_sessionstart(session):
    """In a whole-suite run, start verify and the background `derive` now rather than after collection: collecting
    takes ~25 s of one core (the tests' parameters read the derivation), during which the other core was idle."""
    if _whole_suite(session.config):
        _background(session.config, verify=True, tree=True)


def pytest_collection_finish(session):
    """Start verify (and the mutation surveys of the mutation tests that will run) in the background."""
    wanted = [item for item in session.items
              if _runs(item) and set(BACKGROUND) & set(getattr(item, "fixturenames", ()))]
    params = lambda item: getattr(getattr(item, "callspec", None), "params", {})  # noqa: E731
    labels = [params(item)["label"] for item in wanted if "mutation_survey" in item.fixturenames and "label" in params(item)]
    verify = any(set(BACKGROUND[:3]) & set(item.fixturenames) for item in wanted)
    tree = any("derived_elsewhere" in item.fixturenames for item in wanted)
    if wanted and not session.config.getoption("collectonly"):
        _background(session.config, verify=verify, tree=tree).want(dict.fromkeys(labels))
    elif hasattr(session.config, "_softsign_background"):  # started with the session, but no selected test reads it
        session.config._softsign_background.close(finished=False)  # (e.g. --lf, --deselect, --ignore): stop it now
        del session.config._softsign_background
    if not session.config.getoption("collectonly"):
        for item in session.items:
            if _runs(item) and item.nodeid in EARLY:
                _early(session.config, item.nodeid)
        offloaded = [item.nodeid for item in session.items if _runs(item) and _offloaded(item)]
        if offloaded:
            from early import Offload

            session.config._softsign_offload = Offload(offloaded, markers=session.config.getoption("-m") or "")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """An offloaded test: its outcome in the second process (started at collection) is this test's outcome."""
    offload = getattr(pyfuncitem.config, "_softsign_offload", None)
    if offload is None or pyfuncitem.nodeid not in offload.nodeids:
        return None
    outcome, text = offload.outcome(pyfuncitem.nodeid)
    if outcome == "skipped":
        pytest.skip(text)
    if outcome != "passed":
        pytest.fail(f"(run in the offloaded pytest process, tests/early.py)\n{text}", pytrace=False)
    return True


def _early(config, nodeid: str):
    """The test's early work (tests/early.py), started now if the session did not start it (None: not needed)."""
    import importlib

    started = config.__dict__.setdefault("_softsign_early", {})
    if nodeid not in started:
        module, function = EARLY[nodeid].split(":")
        started[nodeid] = getattr(importlib.import_module(module), function)()
    return started[nodeid]


@pytest.fixture
def early(request):
    """The finished early work of this test (tests/early.py; conftest.EARLY names the function that starts it)."""
    handle = _early(request.config, request.node.nodeid)
    assert handle is not None, f"{request.node.nodeid}: its early work was not needed here"
    return handle.result()


def _background(config, verify: bool = True, tree: bool = True):
    """The session's Background (started with the session or at collection for the tests that will run, which
    then name the surveys they want: Background.want; a fixture asking for it afterwards starts it with everything)."""
    from background import Background, load_record

    if not hasattr(config, "_softsign_background"):
        _start_workers_under_another_hash_seed()
        folder = Path(tempfile.mkdtemp(prefix="softsign-derived-")) if tree else None
        config._softsign_background = Background((), record=load_record(), tree=folder, verify=verify)
    return config._softsign_background


def other_hash_seed() -> str:
    """A PYTHONHASHSEED other than this process's, drawn afresh each session (so that over many runs `derive`'s
    bytes are compared across many seeds, not one fixed pair; the failing test prints the seed)."""
    import random

    own = os.environ.get("PYTHONHASHSEED")
    while (seed := str(random.SystemRandom().randrange(1, 2**32))) == own:
        pass
    return seed


def _start_workers_under_another_hash_seed() -> None:
    """The background workers are forked from the forkserver (pipeline.default_context): start it under another
    hash seed than this process's, so the `derive` a worker runs checks that the output does not depend on it."""
    import multiprocessing
    from multiprocessing import forkserver

    from softsign_scaling.pipeline import default_context

    if default_context() is not multiprocessing.get_context("forkserver"):
        return
    saved = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = other_hash_seed()
    try:
        forkserver.ensure_running()
    finally:
        if saved is None:
            del os.environ["PYTHONHASHSEED"]
        else:
            os.environ["PYTHONHASHSEED"] = saved


def pytest_sessionfinish(session, exitstatus):
    offload = getattr(session.config, "_softsign_offload", None)
    if offload is not None:
        offload.close()
    for handle in getattr(session.config, "_softsign_early", {}).values():
        if handle is not None:
            handle.close()
    background = getattr(session.config, "_softsign_background", None)
    if background is not None:
        background.close(finished=exitstatus in (0, 1, 5))


@pytest.fixture(scope="session")
def derivation():
    from softsign_scaling.pipeline import derivation as full

    return full()


@pytest.fixture(scope="session")
def verified(pytestconfig):
    """Every check's result, computed once per test session (the slowest part of the suite): ``verify`` on two
    worker processes, started when the session was collected (tests/background.py)."""
    return _background(pytestconfig).verified()


@pytest.fixture(scope="session")
def derived_elsewhere(pytestconfig) -> tuple[Path, str]:
    """(the folder, its PYTHONHASHSEED) of `derive --out` run in a background worker, from a folder holding only the
    committed fitted tables: generated/closed_forms.py is generated afresh there (tests/background.py)."""
    background = _background(pytestconfig)
    assert background.tree is not None, "the session started without `derive` in a worker"
    out, seed = background.tree.result()
    return Path(out), seed


@pytest.fixture(scope="session")
def derived_here(derivation, tmp_path_factory) -> tuple[Path, list[Path]]:
    """(the folder, the paths written) of `derive`'s writing in this process, once per session, from a folder
    holding the committed generated/closed_forms.py and fitted tables (closed_forms.py is generated afresh in the
    background worker's tree, derived_elsewhere, beside the proofs that need the same series)."""
    from background import COPIED, seeded_tree

    from softsign_scaling.cli import write_derived

    root = seeded_tree(tmp_path_factory.mktemp("derived-here"), COPIED)
    return root, write_derived(derivation, root)


@pytest.fixture(scope="session")
def mutation_survey(pytestconfig):
    """label -> (mutant kind, the check that caught it or "") for every mutant of the step
    (checks.mutation.survey against verify's verdicts), computed in the background workers."""
    return _background(pytestconfig).survey


@pytest.fixture(scope="session")
def stable_proofs(derivation, verified):
    """The stable forms' equivalence proofs among ``verified`` (reported after every step's checks)."""
    return verified[sum(len(step.checks) for step in derivation.steps):]
