"""Checks of a recording against the training data of a model bundle: units, implausible values,
device and placement, and windows unlike anything the model was trained on.

A bundle written by :func:`~mglwkd_lite.deploy.student_bundle` carries an :class:`InputProfile` of
its training windows. :func:`~mglwkd_lite.deploy.predict_csv` uses it as follows.

Units
    :func:`unit_error` compares the median acceleration magnitude of the recording (after
    ``scale``) with the median of the training windows (about 1 g for a body-worn sensor: gravity).
    Off by more than :data:`MAGNITUDE_RATIO`, the units differ; the error names the unit of
    :data:`UNITS_IN_G` that fits and the ``--scale`` that converts it. An explicit ``scale`` overrides
    the check (:func:`unit_warning` then only warns).
Implausible values
    Samples beyond :data:`PLAUSIBLE_G` on any axis (consumer accelerometers saturate at 8 to 16 g)
    are counted with their rows by the loader (``value_limit``), and the windows that hold them are
    flagged.
Out-of-distribution windows
    Each window is summarised by six input statistics (:func:`window_statistics`): the mean of each
    axis (the direction of gravity: posture and how the device is worn) and the log standard
    deviation of each axis (how much it moves), in g. They are standardised with the training
    windows' mean and spread, and a window's score (:func:`ood_scores`) is its Euclidean distance
    to the :data:`NEIGHBOURS`-th nearest of up to :data:`REFERENCE_WINDOWS` training windows in that
    space. The threshold is the :data:`OOD_QUANTILE` quantile of the scores of the validation
    windows, whose subjects were not trained on: new people who move like the training subjects are
    flagged about 1 % of the time, other devices, placements or units far more often.
Device and placement
    :func:`device_warning` says when the recording's device or placement, as the user states them,
    differ from the training data's.
Sampling rate
    Recordings are resampled to the model's rate. Below :data:`MIN_RATE_RATIO` of it the recording
    is too coarse for the model (the loader stops, naming the time unit that may have been meant);
    a rate off the model's by more than :data:`RATE_TOLERANCE` is said in a warning
    (:func:`rate_warning`).

Bundles written before the profile existed (version 1) load without one; the note of
:data:`NO_PROFILE_NOTE` says that these checks are then skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..data import DATASETS
from ..data.registry import dataset_entry

__all__ = [
    "DeployWarning", "InputProfile", "UNITS_IN_G", "PLAUSIBLE_G", "MAGNITUDE_RATIO", "OOD_QUANTILE",
    "NEIGHBOURS", "REFERENCE_WINDOWS", "DATASET_DEVICES", "NO_PROFILE_NOTE", "MIN_RATE_RATIO", "RATE_TOLERANCE",
    "window_statistics", "fit_profile", "ood_scores", "median_magnitude", "unit_error", "unit_warning",
    "device_warning", "rate_warning",
]

#: Acceleration units a device may export, as the factor that turns one unit into g.
UNITS_IN_G = {"g": 1.0, "m/s^2": 1 / 9.80665, "mg": 1e-3}
#: Largest plausible acceleration on one axis of a body-worn sensor, in g.
PLAUSIBLE_G = 50.0
#: Range of (recording median magnitude) / (training median magnitude) taken as the same units.
MAGNITUDE_RATIO = (0.5, 2.0)
#: Quantile of the validation windows' scores used as the out-of-distribution threshold.
OOD_QUANTILE = 0.99
#: The score is the distance to this nearest training window (a few, so one odd window does not vouch).
NEIGHBOURS = 5
#: Training windows kept in the bundle as the reference of the score (a seeded draw).
REFERENCE_WINDOWS = 2048
#: A recording sampled below this share of the model's rate is too coarse for it (the loader stops).
MIN_RATE_RATIO = 0.5
#: A recording's rate off the model's by more than this share is resampled with a warning.
RATE_TOLERANCE = 0.1
#: Above this many times the training median magnitude, a file that is in g is still plausible
#: (vigorous movement: a wrist while running); the unit check then suggests ``--scale 1``.
_VIGOROUS = 8.0
#: Device and placement of the packaged data sets (from their registry entries).
DATASET_DEVICES = {name: (dataset_entry(name).device, dataset_entry(name).placement) for name in DATASETS}
#: Said when a bundle has no profile.
NO_PROFILE_NOTE = ("the model bundle has no profile of its training data (written by an earlier version, or "
                   "without one): units, device and out-of-distribution windows are not checked; save it "
                   "again with student_bundle to add them")

# log(std) of a constant window stays finite.
_STD_FLOOR = 1e-3


class DeployWarning(UserWarning):
    """A recording may not suit the model (device, placement, units overridden); labels still written."""


@dataclass(frozen=True, eq=False)
class InputProfile:
    """What a bundle knows of its training inputs, for the checks of a new recording.

    Attributes
    ----------
    units : str
        Units of the training acceleration (a key of :data:`UNITS_IN_G`).
    device, placement : str
        The device and where it was worn (``""`` when unknown).
    median_magnitude : float
        Median of ``|a|`` over the samples of the training windows, in ``units``.
    stat_mean, stat_scale : numpy.ndarray
        ``(2C,)`` mean and standard deviation of the training windows' :func:`window_statistics`.
    reference : numpy.ndarray
        ``(M, 2C)`` standardised statistics of up to :data:`REFERENCE_WINDOWS` training windows.
    threshold : float
        Scores above it are flagged (the :data:`OOD_QUANTILE` quantile on validation windows).
    quantile : float
        The quantile the threshold was set at.
    neighbours : int
        Which nearest reference window the score measures the distance to.
    """

    units: str
    device: str
    placement: str
    median_magnitude: float
    stat_mean: np.ndarray
    stat_scale: np.ndarray
    reference: np.ndarray
    threshold: float
    quantile: float = OOD_QUANTILE
    neighbours: int = NEIGHBOURS

    def to_dict(self) -> dict[str, Any]:
        """Plain numbers, strings and float32 arrays (for a bundle file)."""
        return {"units": self.units, "device": self.device, "placement": self.placement,
                "median_magnitude": float(self.median_magnitude),
                "stat_mean": np.asarray(self.stat_mean, np.float32),
                "stat_scale": np.asarray(self.stat_scale, np.float32),
                "reference": np.asarray(self.reference, np.float32), "threshold": float(self.threshold),
                "quantile": float(self.quantile), "neighbours": int(self.neighbours)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "InputProfile":
        """The inverse of :meth:`to_dict` (arrays may be any array-like).

        Parameters
        ----------
        d : mapping
            As written by :meth:`to_dict`.

        Returns
        -------
        InputProfile
        """
        arr = lambda k: np.asarray(d[k], dtype=np.float32)  # noqa: E731
        return cls(units=str(d["units"]), device=str(d["device"]), placement=str(d["placement"]),
                   median_magnitude=float(d["median_magnitude"]), stat_mean=arr("stat_mean"),
                   stat_scale=arr("stat_scale"), reference=arr("reference"), threshold=float(d["threshold"]),
                   quantile=float(d["quantile"]), neighbours=int(d["neighbours"]))

    def describe(self) -> str:
        """str : ``"smartphone at the waist, in g"`` (what the model was trained on)."""
        where = " at the ".join(p for p in (self.device, self.placement) if p) or "an unknown device"
        return f"{where}, in {self.units}"


def window_statistics(windows: np.ndarray) -> np.ndarray:
    """The input statistics of windows: per axis the mean and the log standard deviation.

    Parameters
    ----------
    windows : numpy.ndarray
        ``(N, C, T)`` unnormalised windows (in the training units).

    Returns
    -------
    numpy.ndarray
        ``(N, 2C)`` float64: ``C`` means, then ``C`` values of ``log(std + 1e-3)``.
    """
    x = np.asarray(windows, dtype=np.float64)
    return np.concatenate([x.mean(axis=2), np.log(x.std(axis=2) + _STD_FLOOR)], axis=1)


def _standardise(stats: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return (stats - mean) / scale


def _kth_distance(z: np.ndarray, reference: np.ndarray, k: int, chunk: int = 1024) -> np.ndarray:
    """Distance of each row of ``z`` to its ``k``-th nearest row of ``reference`` (chunked)."""
    k = min(k, len(reference))
    out = np.empty(len(z), dtype=np.float64)
    ref = reference.astype(np.float64)
    for i in range(0, len(z), chunk):
        d = np.sqrt(((z[i:i + chunk, None, :] - ref[None]) ** 2).sum(axis=-1))
        out[i:i + chunk] = np.partition(d, k - 1, axis=1)[:, k - 1]
    return out


def fit_profile(train: np.ndarray, val: np.ndarray, units: str = "g", device: str = "", placement: str = "",
                quantile: float = OOD_QUANTILE, neighbours: int = NEIGHBOURS,
                reference_windows: int = REFERENCE_WINDOWS, seed: int = 0) -> InputProfile:
    """The profile of a model's training inputs, its threshold set on validation windows.

    Parameters
    ----------
    train, val : numpy.ndarray
        ``(N, C, T)`` unnormalised training and validation windows (in ``units``).
    units, device, placement : str
        Stored as given.
    quantile : float
        The threshold is this quantile of the validation windows' scores.
    neighbours : int
        The score's nearest-neighbour rank.
    reference_windows : int
        Training windows kept as the reference (a seeded draw without replacement).
    seed : int
        Seed of that draw.

    Returns
    -------
    InputProfile
    """
    stats = window_statistics(train)
    mean, scale = stats.mean(axis=0), stats.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(stats), min(reference_windows, len(stats)), replace=False))
    reference = _standardise(stats[keep], mean, scale)
    val_scores = _kth_distance(_standardise(window_statistics(val), mean, scale), reference, neighbours)
    magnitude = float(np.median(np.linalg.norm(np.asarray(train, np.float64), axis=1)))
    return InputProfile(units=units, device=device, placement=placement, median_magnitude=magnitude,
                        stat_mean=mean.astype(np.float32), stat_scale=scale.astype(np.float32),
                        reference=reference.astype(np.float32),
                        threshold=float(np.quantile(val_scores, quantile)), quantile=quantile,
                        neighbours=neighbours)


def ood_scores(profile: InputProfile, windows: np.ndarray) -> np.ndarray:
    """The out-of-distribution score of each window (see the module notes).

    Parameters
    ----------
    profile : InputProfile
        Of the model's training data.
    windows : numpy.ndarray
        ``(N, C, T)`` unnormalised windows, in the profile's units.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` float64; above ``profile.threshold`` means unlike the training windows.
    """
    z = _standardise(window_statistics(windows), profile.stat_mean.astype(np.float64),
                     profile.stat_scale.astype(np.float64))
    return _kth_distance(z, profile.reference, profile.neighbours)


def median_magnitude(acc: np.ndarray) -> float:
    """Median of ``|a|`` over the samples of a recording.

    Parameters
    ----------
    acc : numpy.ndarray
        ``(n, C)`` samples.

    Returns
    -------
    float
    """
    return float(np.median(np.linalg.norm(np.asarray(acc, np.float64), axis=1)))


def _fits(ratio: float) -> bool:
    return bool(MAGNITUDE_RATIO[0] <= ratio <= MAGNITUDE_RATIO[1])


def unit_error(profile: InputProfile, magnitude: float, source: str) -> str | None:
    """Why the recording's units differ from the training units, and the scale to use; None if alike.

    Parameters
    ----------
    profile : InputProfile
        Of the model's training data.
    magnitude : float
        Median ``|a|`` of the recording, in the file's units.
    source : str
        The file name, for the message.

    Returns
    -------
    str or None
        Names the unit that fits and its ``--scale``; for a magnitude above the training data's
        that no unit fits but that is plausible in the training units (vigorous movement),
        ``--scale 1``; for a recording that is zero throughout, that it holds no signal.
    """
    train = profile.median_magnitude
    if _fits(magnitude / train):
        return None
    head = (f"{source}: the median acceleration magnitude is {magnitude:.4g} in the file's units, but the model "
            f"was trained in {profile.units} with a median of {train:.3g}")
    if not magnitude > 0:
        return (f"{head}: the acceleration is zero at most samples, so the file holds no signal; check that "
                "--x-col, --y-col and --z-col name the acceleration columns")
    base = UNITS_IN_G[profile.units]
    # The factor that turns a candidate unit into the training units.
    factors = {u: g / base for u, g in UNITS_IN_G.items()}
    best = min(factors, key=lambda u: abs(np.log(magnitude * factors[u] / train)))
    if best != profile.units and _fits(magnitude * factors[best] / train):
        f = factors[best]
        return (f"{head}: the file looks like {best}; pass --scale {f:.7g} (scale={f:.7g}) to convert it "
                f"to {profile.units}, or --scale 1 if it is in {profile.units} after all")
    units = ", ".join(UNITS_IN_G)
    if best == profile.units and train < magnitude <= _VIGOROUS * train:
        return (f"{head}, and no common unit ({units}) fits better: the file is plausibly in {profile.units} with "
                f"much movement (a median of {magnitude:.3g} {profile.units}, as a wrist while running); if so, "
                f"pass --scale 1 to label it as it is (expect many flagged windows), else --scale with the factor "
                f"that turns the file's values into {profile.units}")
    hint = (" (is gravity removed? the model needs acceleration including gravity)"
            if magnitude < train * MAGNITUDE_RATIO[0] else "")
    return (f"{head}, and no common unit ({units}) fits{hint}; pass --scale with the factor that turns "
            f"the file's values into {profile.units}")


def unit_warning(profile: InputProfile, magnitude: float, scale: float, source: str) -> str | None:
    """A warning when an explicit ``scale`` leaves the magnitude unlike the training data's; else None.

    Parameters
    ----------
    profile : InputProfile
        Of the model's training data.
    magnitude : float
        Median ``|a|`` of the recording after ``scale``.
    scale : float
        The scale given.
    source : str
        The file name.

    Returns
    -------
    str or None
    """
    if _fits(magnitude / profile.median_magnitude):
        return None
    return (f"{source}: after --scale {scale:g} the median acceleration magnitude is {magnitude:.4g} "
            f"{profile.units}, the training data's {profile.median_magnitude:.3g}; labelled as asked, "
            "but expect most windows to be flagged")


def _same(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


def device_warning(profile: InputProfile, device: str | None, placement: str | None, source: str) -> str | None:
    """A warning when the stated device or placement differs from the training data's; else None.

    Parameters
    ----------
    profile : InputProfile
        Of the model's training data.
    device, placement : str or None
        As the user states them (None: not stated, not compared).
    source : str
        The file name.

    Returns
    -------
    str or None
    """
    differ = [f"{what} {given!r}" for what, given, trained in
              (("device", device, profile.device), ("placement", placement, profile.placement))
              if given is not None and trained and not _same(given, trained)]
    if not differ:
        return None
    return (f"{source}: recorded with {' and '.join(differ)}, but the model was trained on a "
            f"{profile.describe()}: activity models rarely carry over to another device or placement; "
            "expect wrong labels, and see the flagged windows")


def rate_warning(model_rate_hz: float, input_rate_hz: float | None, source: str) -> str | None:
    """A warning when a recording's rate is off the model's by more than :data:`RATE_TOLERANCE`.

    Parameters
    ----------
    model_rate_hz : float
        The bundle's rate.
    input_rate_hz : float or None
        The recording's median rate (None: unknown, no warning).
    source : str
        The recording's name.

    Returns
    -------
    str or None
    """
    if input_rate_hz is None or abs(input_rate_hz / model_rate_hz - 1) <= RATE_TOLERANCE:
        return None
    shown = f"{input_rate_hz:.0f}" if input_rate_hz >= 100 else f"{input_rate_hz:.3g}"
    how = ("interpolated up, which adds no detail the recording lacks: expect less accurate labels"
           if input_rate_hz < model_rate_hz else "interpolated down (no low-pass filter)")
    return (f"{source}: sampled at about {shown} Hz, resampled to the model's {model_rate_hz:g} Hz by linear "
            f"interpolation ({how}); if that rate is wrong, check --time-unit or pass --rate")
