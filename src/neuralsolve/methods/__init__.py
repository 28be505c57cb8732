"""Method families, side by side: each solves the problems it takes, in its own way.

``forward`` (one physics-informed network), ``march`` (time windows solved in order) and
``eigen`` (the lowest states of an eigenproblem). Each module exposes ``FAMILY``, a
:class:`~neuralsolve.methods.base.Family`; ``neuralsolve.dispatch.FAMILIES`` lists them. Families
never import one another: what two of them share lives a layer below (``neuralsolve.pinn``).
"""
