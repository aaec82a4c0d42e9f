"""Array type aliases shared by the dsp modules."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
AnyArray = npt.NDArray[Any]
