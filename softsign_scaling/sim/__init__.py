"""Ground truth: the real optimizers (optax, torch) on a noisy quadratic model (issue 10).

Layers, lowest first:

* :mod:`.nqm`: the noisy quadratic model and its noise families (numpy only);
* :mod:`.estimate`: eta* from Monte Carlo samples of an update, with confidence intervals (numpy only);
* :mod:`.optimizers`: the registry of real optimizer updates (imports torch/jax lazily, per optimizer);
* :mod:`.onestep`: one-step samples and the acceptance test's statistic;
* :mod:`.experiments`, :mod:`.multistep`: the experiments (module-level functions of plain data);
* :mod:`.report`, :mod:`.command`: ``softsign-scaling simulate`` and docs/simulation.md.

torch, jax and optax are optional (``pip install -e '.[sim]'``); importing this package does not import them.
"""
