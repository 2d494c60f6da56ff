"""Data: the embedded digits, the IDX (MNIST) reader, named sources, splits and mini-batches."""

from .digits import load_digits
from .idx import load_idx, load_mnist, save_idx
from .loader import DataLoader, train_test_split
from .sources import canonical_data, load_dataset, load_samples

__all__ = [
    "load_digits",
    "load_idx",
    "load_mnist",
    "save_idx",
    "DataLoader",
    "train_test_split",
    "load_samples",
    "load_dataset",
    "canonical_data",
]
