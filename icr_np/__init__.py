"""icr_np: a small, exact, fast engine for one-layer attention transformers learning in-context recall.

Reproduces Nguyen and Nguyen-Tang, "How Transformers Learn In-Context Recall Tasks?" (arXiv 2505.15009)
in NumPy, with hand-derived gradients and a swappable array backend (NumPy, CuPy).
"""
from icr_np.task import RecallTask, Batch, PRESETS, binary_entropy
from icr_np.network import Model, build_model

__version__ = "0.1.0"
__all__ = ["RecallTask", "Batch", "PRESETS", "binary_entropy", "Model", "build_model", "__version__"]
