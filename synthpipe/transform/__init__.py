"""The one encoder of the torch models: per-kind column encoders and the TableTransformer.

Models never see pandas: :class:`TableTransformer` turns the modelled columns into a float
tensor and publishes its layout as a list of :class:`Span` (continuous spans first, then
discrete one-hot spans).
"""

from synthpipe.metadata import RARE_PLACEHOLDER
from synthpipe.transform.encoders import Span
from synthpipe.transform.table import TableTransformer

__all__ = ["RARE_PLACEHOLDER", "Span", "TableTransformer"]
