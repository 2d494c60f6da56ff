"""Manifold learning: t-SNE, exact and FFT-accelerated (FIt-SNE-style interpolation).

Split as openTSNE does: :mod:`.affinities` (input-space P), :mod:`.gradients` (objectives
returning ``(kl, grad)``), :mod:`.transform` (new points into a fitted map) and :mod:`.tsne`
(the optimiser and the ``TSNE`` estimator, a scikit-learn transformer when it is installed).
"""

from .affinities import joint_probabilities
from .gradients import kl_divergence, kl_gradient_exact, kl_gradient_fft
from .transform import embed_new_points
from .tsne import TSNE, GradientDescent

__all__ = [
    "TSNE",
    "GradientDescent",
    "joint_probabilities",
    "kl_divergence",
    "kl_gradient_exact",
    "kl_gradient_fft",
    "embed_new_points",
]
