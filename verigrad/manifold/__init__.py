"""Manifold learning: t-SNE, exact and FFT-accelerated (FIt-SNE-style interpolation).

Split as openTSNE does: :mod:`.affinities` (input-space P), :mod:`.gradients` (objectives
returning ``(kl, grad)``), and :mod:`.tsne` (the optimiser and the ``TSNE`` estimator).
"""

from .affinities import joint_probabilities
from .gradients import kl_divergence, kl_gradient_exact, kl_gradient_fft
from .tsne import TSNE, GradientDescent

__all__ = [
    "TSNE",
    "GradientDescent",
    "joint_probabilities",
    "kl_divergence",
    "kl_gradient_exact",
    "kl_gradient_fft",
]
