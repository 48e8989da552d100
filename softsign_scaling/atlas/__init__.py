"""The error atlas: what each approximation layer of the article costs, measured against exact references.

Layers (one module each): ``scurve`` (E-3, E-4), ``clip`` (E-6, E-8, E-11), ``scurve_result``
(E-9, E-12), ``meanfield`` (E-10, E-13, E-14 and eta*), ``surge``, ``efficiency`` (X-20 .. X-27: B_noise(eps)).  ``run.run_atlas`` runs them
(parallel through any concurrent.futures.Executor, cached) and ``report`` writes docs/atlas.md.
"""
