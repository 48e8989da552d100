"""The scaling law applied to a real PyTorch model (issue 14).

Modules, lowest first:

* :mod:`.statsfile`: the statistics as a numpy value (:class:`Statistics`), its ``.npz`` format (numpy only);
* :mod:`.predict`: eta*(B, eps) from statistics under every registered model, per-layer regime shares,
  the surge peak and error bars (numpy only; H as a sketch from the file, or exact Hessian-vector products);
* :mod:`.collect`: the statistics from a model and a data loader (torch.func: per-example gradients,
  Hessian-vector products, Hutchinson diagonal and trace, a Lanczos sketch of H), never forming H;
* :mod:`.distributed`: the same noise statistics inside a ``torch.distributed`` (DDP) loop, from the
  per-rank and all-reduced gradients, without extra backward passes;
* :mod:`.example`: the bundled example (an MLP on scikit-learn's digits, no download);
* :mod:`.validate`: one real ``torch.optim.Adam`` step swept over the learning rate at checkpoints of a real
  run, against every model's prediction (in-sample: the pool is the population);
* :mod:`.architectures` and :mod:`.heldout`: the held-out validation on four small networks (statistics on
  training examples, the real optimum on a separate population); :mod:`.report` writes docs/real-model.md
  from its json;
* :mod:`.command`: ``softsign-scaling stats`` and ``softsign-scaling predict``.

torch (and scikit-learn for the example) are optional (``pip install -e '.[torch]'``); importing this
package, :mod:`.statsfile` or :mod:`.predict` imports neither.
"""
