"""softsign_scaling: Su Jianlin's SoftSignSGD learning-rate scaling law, derived and verified.

``softsign_scaling.pipeline.derive()`` returns every step (indexable by label,
e.g. ``["E-8"]``); ``softsign_scaling.pipeline.verify()`` runs every check.
Importing this package does not import SymPy.
"""

__version__ = "0.1.0"
