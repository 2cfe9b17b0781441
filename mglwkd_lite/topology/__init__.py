"""Persistence diagrams and persistence images of accelerometer windows.

Each channel of a window is a 1-D signal. Its **0-dimensional sublevel-set persistence** tracks the
connected components of ``{t : x(t) <= a}`` as the level ``a`` rises: a component is born at a local
minimum and dies when it merges with a component born earlier (the *elder rule*). The global minimum
never dies; its infinite pair is dropped. Every finite pair ``(birth, death)`` becomes the point
``(birth, persistence = death - birth)`` of a **persistence image** :cite:`adams2017persistence`: a
sum of Gaussians, one per point, weighted linearly by persistence, integrated over the pixels of a
fixed grid and divided by the image maximum. The three channels' images are stacked.

Definition (both paths compute exactly this)
--------------------------------------------
1. **Scaling.** ``PIConfig.scaling = "dataset"`` (the PI teacher's input in every preset, as in the
   group's code): channel ``c`` of every window is mapped affinely from ``channel_range[c]`` onto
   ``target_range`` (``[0, 1]``), values outside clipped; :func:`fit_dataset_scaling` fits
   ``channel_range`` (0.1 / 99.9 percentiles) and the image ranges (birth: min to max of the kept
   births, persistence: 0 to the 99.9th percentile, each padded by one pixel) on the *training*
   windows only, and ``sigma_px`` sets the Gaussian in pixels. ``scaling = "window"`` (the class
   default, kept for comparison): each channel of each window is mapped onto ``[-span/2, span/2]``
   (``span = 0.9``): ``x' = span * (x - (max + min) / 2) / (max - min)``; every point then falls
   inside ``[-1, 1] x [-1, 1]`` at least ``0.1`` (6.7 sigma) from the border, but the level and the
   amplitude of the channel (the posture) are erased. A constant channel maps to zeros (no pairs, an
   all-zero image). ``scaling = "none"`` uses the values as given (the caller scales them).
2. **Diagram**: the finite pairs of the 0-dimensional lower-star (sublevel-set) filtration of the
   path graph ``0 - 1 - ... - T-1``, in float64. Pairs with persistence ``<= noise_floor`` (1e-3) are
   removed, then only pairs with persistence ``> min_persistence`` (0.01) are kept (the group's two
   steps; the second implies the first). Pairs within 1e-7 of the cut count as at the cut and are
   dropped (:attr:`PIConfig.cut`): quantised signals do hit it exactly, and rounding must not decide.
3. **Image**: pixel edges ``e_k = lo + k * (hi - lo) / R`` on each axis (as ``persim`` builds them),
   a point ``(b, p)`` with weight ``w = p / max p`` adds ``w * [Phi((e_{j+1} - b) / s) - Phi((e_j -
   b) / s_b)] * [Phi((e_{i+1} - p) / s_p) - Phi((e_i - p) / s_p)]`` to pixel ``(i, j)`` (``Phi`` the
   standard normal CDF, ``s_b``, ``s_p`` standard deviations: ``sigma``, or ``sigma_px`` pixels of each
   axis, :meth:`PIConfig.axis_sigma`). Mass falling outside the ranges is lost. The image
   is divided by its maximum; an image with no points stays zero.
4. **Layout**: ``images[n, c, i, j]`` holds persistence bin ``i`` (rows) and birth bin ``j``
   (columns), so ``plt.imshow(img, origin="lower", extent=(*birth_range, *pers_range))`` draws birth
   along x and persistence upwards. (``persim.PersistenceImager`` returns the transpose.)

Two paths
---------
``method="reference"`` runs ``ripser`` :cite:`bauer2021ripser` on the lower-star filtration (a sparse
distance matrix with the signal on its diagonal and ``max(x_i, x_{i+1})`` on the path edges) and
``persim.PersistenceImager``, one channel at a time (persim needs square pixels: with unequal axis
ranges the persistence axis, its points and its sigma are stretched by the ratio of the pixel sizes,
which leaves the image unchanged). Note two traps of ``PersistenceImager``: its
``kernel_params["sigma"]`` is a *variance* (we pass ``sigma ** 2``), and its pixel size is derived from
the ranges (we pass ``(hi - lo) / R`` and check the resolution). ``ripser`` computes in float32, so its
values agree with the float64 definition only to float32 rounding.

``method="fast"`` (default) is exact in float64 and has no Python loop over windows or samples:

- by the elder rule, a local minimum ``i`` dies at ``min(max x(L+1..i), max x(i..R-1))`` where ``L``
  and ``R`` are its nearest *earlier* samples in the total order ``(value, index)`` on the left and on
  the right (``+inf`` if there is none); ``L`` and ``R`` come from binary lifting on a sparse table
  of block minima and the two maxima from one query each on a table of block maxima: ``O(T log T)``
  array operations over a whole chunk of windows;
- the Gaussian is separable and narrow (``sigma = 0.015`` is half a pixel at 64 x 64, ``sigma_px =
  1`` one pixel), so each point touches an 8 x 8 (defaults) or 15 x 15 (one pixel) patch of pixels (7 sigma each way; the mass left out changes
  normalised pixels by < 1e-11);
  its per-axis CDF differences (float64) form an outer product added into the output with one
  unbuffered ``np.add.at`` per chunk, in the output dtype (float32 by default), and each image is then
  divided by its maximum in place: the output is written once, chunk by chunk.

Speed: on real HAPT windows (3 x 128, ~23 kept pairs per channel) the fast path is about 50x faster
than the reference path on a shared 2-core machine (``benchmarks/pi_throughput.py``).

Modules
-------
:mod:`~mglwkd_lite.topology.config` (:class:`PIConfig`), :mod:`~mglwkd_lite.topology.diagrams`
(scaling and diagrams), :mod:`~mglwkd_lite.topology.images` (images, the scikit-learn transformer) and
:mod:`~mglwkd_lite.topology.cache` (images stored under ``.cache/pi``); every public name is
re-exported here. The chapter's tables and figures are in :mod:`mglwkd_lite.report.topology`.
"""

from . import cache, config, diagrams, images
from .cache import cached_persistence_images, pi_cache_path
from .config import PIConfig, TopologyError
from .diagrams import (
    elder_pairs, fit_dataset_scaling, kept_pairs, pair_counts, persistence_diagrams, reference_diagram, scale_windows, window_pairs,
)
from .images import PersistenceImageTransformer, clipped_mass, persistence_images, pool_images

__all__ = [*config.__all__, *diagrams.__all__, *images.__all__, *cache.__all__]
