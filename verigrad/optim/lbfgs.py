"""L-BFGS for full-batch smooth problems: :func:`verigrad._lbfgs.lbfgs`, re-exported here.

The minimiser is a pure function of NumPy arrays that knows nothing of Tensors or parameter
groups, so it lives at the bottom of the stack, where :class:`verigrad.nn.SoftmaxRegression`
(below ``optim``) can use it too.
"""

from .._lbfgs import LBFGSResult, lbfgs

__all__ = ["lbfgs", "LBFGSResult"]
