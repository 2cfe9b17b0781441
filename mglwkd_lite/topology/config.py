"""Settings of the persistence images (:class:`PIConfig`) and the error of the topology stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["TopologyError", "PIConfig"]

#: Pairs with persistence within this of the threshold count as at the threshold (see PIConfig.cut).
_CUT_TOLERANCE = 1e-7


class TopologyError(ValueError):
    """Bad input or settings for persistence diagrams and images."""


@dataclass(frozen=True)
class PIConfig:
    """Settings of the persistence images (defaults: the paper's, see :mod:`mglwkd_lite.topology`).

    The class name, field names and defaults are part of every cache and run key: never rename them.

    Parameters
    ----------
    resolution : int
        Pixels per axis ``R`` (images are ``R x R``); 64 in the paper, 32 is ~4-6x cheaper to train on.
    sigma : float
        Standard deviation of the Gaussian around each point, in diagram units.
    birth_range, pers_range : tuple of float
        ``(lo, hi)`` covered by the image along birth and persistence.
    min_persistence : float
        Keep only pairs with persistence strictly above this.
    noise_floor : float
        Pairs with persistence ``<=`` this are removed first (the group's code; implied by
        ``min_persistence`` when it is larger).
    scaling : {"window", "dataset", "none"}
        ``"window"``: map each channel of each window onto ``[-span/2, span/2]`` (erases the gravity
        level and the amplitude); ``"dataset"``: map channel ``c`` of every window affinely from
        ``channel_range[c]`` (fitted once on the training windows, :func:`fit_dataset_scaling`) onto
        ``target_range``, as the group's code does; ``"none"``: as given.
    span : float
        Width of the scaled signal range for ``scaling="window"`` (0.9 keeps every point >= 0.1 from
        the image border with the default ranges).
    channel_range : tuple of (float, float), optional
        Per channel ``(lo, hi)`` of ``scaling="dataset"`` (required there, unused otherwise).
    target_range : tuple of float
        ``(a, b)`` the dataset-level scaling maps ``channel_range`` onto (the group: ``(0, 1)``).
    clip : bool
        ``scaling="dataset"``: clip values outside ``channel_range`` to its ends (so every value
        lands in ``target_range``); without it they map outside.
    sigma_px : float, optional
        The Gaussian's standard deviation in *pixels* on each axis; overrides ``sigma``: along an
        axis with range ``(lo, hi)`` it is ``sigma_px * (hi - lo) / resolution`` diagram units
        (:meth:`axis_sigma`).

    Raises
    ------
    TopologyError
        If a setting is out of its range (the message names it).
    """

    resolution: int = 64
    sigma: float = 0.015
    birth_range: tuple[float, float] = (-1.0, 1.0)
    pers_range: tuple[float, float] = (-1.0, 1.0)
    min_persistence: float = 0.01
    noise_floor: float = 1e-3
    scaling: Literal["window", "dataset", "none"] = "window"
    span: float = 0.9
    channel_range: tuple[tuple[float, float], ...] | None = None
    target_range: tuple[float, float] = (0.0, 1.0)
    clip: bool = True
    sigma_px: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.resolution, (int, np.integer)) or self.resolution < 1:
            raise TopologyError(f"PIConfig.resolution must be a positive integer, got {self.resolution!r}")
        if not (np.isfinite(self.sigma) and self.sigma > 0):
            raise TopologyError(f"PIConfig.sigma must be a positive finite number, got {self.sigma!r}")
        for name in ("birth_range", "pers_range", "target_range"):
            rng = getattr(self, name)
            if len(rng) != 2 or not all(np.isfinite(v) for v in rng) or not rng[0] < rng[1]:
                raise TopologyError(f"PIConfig.{name} must be (lo, hi) with finite lo < hi, got {rng!r}")
            object.__setattr__(self, name, (float(rng[0]), float(rng[1])))
        for name in ("min_persistence", "noise_floor"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise TopologyError(f"PIConfig.{name} must be finite and >= 0, got {getattr(self, name)!r}")
        if self.scaling not in ("window", "dataset", "none"):
            raise TopologyError(f"PIConfig.scaling must be 'window', 'dataset' or 'none', got {self.scaling!r}")
        if self.channel_range is not None:
            ranges = tuple((float(lo), float(hi)) for lo, hi in self.channel_range)
            if not ranges or any(not (np.isfinite(lo) and np.isfinite(hi) and lo < hi) for lo, hi in ranges):
                raise TopologyError(f"PIConfig.channel_range needs (lo, hi) with finite lo < hi per channel, "
                                    f"got {self.channel_range!r}")
            object.__setattr__(self, "channel_range", ranges)
        if self.scaling == "dataset" and self.channel_range is None:
            raise TopologyError("PIConfig.scaling='dataset' needs channel_range (see fit_dataset_scaling)")
        object.__setattr__(self, "clip", bool(self.clip))
        if self.sigma_px is not None:
            if not (np.isfinite(self.sigma_px) and self.sigma_px > 0):
                raise TopologyError(f"PIConfig.sigma_px must be a positive finite number, got {self.sigma_px!r}")
            object.__setattr__(self, "sigma_px", float(self.sigma_px))
        if not (np.isfinite(self.span) and self.span > 0):
            raise TopologyError(f"PIConfig.span must be positive, got {self.span!r}")

    @property
    def threshold(self) -> float:
        """float: The effective lifetime threshold: pairs with persistence ``> threshold`` are kept."""
        return max(self.min_persistence, self.noise_floor)

    @property
    def cut(self) -> float:
        """float: The cut actually applied, ``threshold + 1e-7``.

        Quantised sensors give pairs whose persistence *equals* the threshold (for example one
        quantisation step in a window 90 steps high, scaled to 0.9). Rounding then decides whether
        such a pair is kept, differently in float32 (ripser) and float64; the tolerance, above
        float32 rounding (~3e-8 here) and far below the spacing of real persistence values, drops
        them consistently in both paths.
        """
        return self.threshold + _CUT_TOLERANCE

    def axis_sigma(self, axis: Literal["birth", "pers"]) -> float:
        """The Gaussian's standard deviation along one axis, in diagram units.

        Parameters
        ----------
        axis : {"birth", "pers"}
            The image axis.

        Returns
        -------
        float
            ``sigma``, or ``sigma_px`` pixels of that axis when ``sigma_px`` is set.
        """
        if self.sigma_px is None:
            return self.sigma
        lo, hi = self.birth_range if axis == "birth" else self.pers_range
        return self.sigma_px * (hi - lo) / self.resolution

    def edges(self, axis: Literal["birth", "pers"]) -> np.ndarray:
        """Pixel edges along one axis, computed exactly as ``persim`` does.

        Parameters
        ----------
        axis : {"birth", "pers"}
            Birth (columns) or persistence (rows).

        Returns
        -------
        numpy.ndarray
            ``(R + 1,)`` float64 edges from ``lo`` to ``hi``.
        """
        lo, hi = self.birth_range if axis == "birth" else self.pers_range
        size = (hi - lo) / self.resolution
        return np.linspace(lo, hi + size, self.resolution + 1, endpoint=False, dtype=np.float64)
