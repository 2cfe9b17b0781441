"""The models of a preset: architectures, inputs and training of the teachers and the scratch student.

:class:`ModelsPreset` is what every cache and run key hashes (its class and field names, values);
:mod:`mglwkd_lite.pipeline` trains and loads the models it describes and re-exports these names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .presets import MODEL_PRESETS, RECIPES
from .train import TrainConfig, TrainError

__all__ = ["KINDS", "ModelsPreset", "check_kind"]

#: The three models trained before distillation: name -> (input, description).
KINDS: dict[str, str] = {
    "signal_teacher": "1-D WRN on the normalised windows (N, 3, T)",
    "pi_teacher": "2-D WRN on the persistence images (N, 3, R, R) of the same windows",
    "student": "1-D WRN16-1 on the windows, trained from scratch (the baseline the KD student must beat)",
}


@dataclass(frozen=True)
class ModelsPreset:
    """Architectures, inputs and training of the teachers and the scratch student.

    Parameters
    ----------
    train : TrainConfig
        The training recipe.
    signal_teacher, pi_teacher, student : tuple of (int, int)
        ``(depth, width)`` of each WideResNet.
    pi_resolution : int
        Persistence-image size ``R`` for the PI teacher (images are ``3 x R x R``).
    pi_scaling : {"dataset", "window"}
        ``"dataset"``: each channel mapped from its range on the training windows (percentiles
        ``pi_percentiles``) onto ``[0, 1]`` and clipped, image ranges fitted on the training windows'
        pairs (:func:`mglwkd_lite.topology.fit_dataset_scaling`; the group's code). ``"window"``: each
        channel of each window stretched to its own span (erases posture; notebook 02 compares them).
    pi_percentiles : tuple of float
        Lower and upper percentile of each channel's training values giving its range.
    pi_min_persistence : float
        Persistence cut of the images (in scaled units).
    pi_sigma_px : float, optional
        The Gaussian's standard deviation in pixels on each axis (``None``: ``PIConfig.sigma``).
        The images before dataset scaling were ``pi_scaling="window", pi_min_persistence=0.01,
        pi_sigma_px=None``.
    train_fraction : float
        Seeded, class-stratified share of the training windows used (val and test are always
        whole). The same subset, in the same order, is used by every model of a preset, so cached
        teacher outputs line up with the student's training windows.
    teacher_seed : int, optional
        ``None``: a student trained with seed ``s`` distils from teachers trained with seed ``s``.
        An int: every student distils from the teachers trained with this seed, so the teachers of a
        split are trained once and the students' seeds vary alone (the fold sweep uses 0).

    Notes
    -----
    The PI teacher is the costly one on a CPU (``benchmarks/teacher_throughput.py``, stored result
    on one thread): a 2-D WRN16-3 on 64 x 64 images trains at 5.9 windows/s, a WRN16-1 on 32 x 32
    images in the channels-last format at 189 windows/s (the 1-D WRN16-3 signal teacher: 150, the
    1-D WRN16-1 student: 692). Every preset therefore uses the WRN16-1 at 32 x 32 (the paper: WRN16-3
    at 64 x 64; ``ModelsPreset.group(pi_teacher=(16, 3), pi_resolution=64)`` on a GPU).
    """

    train: TrainConfig = field(default_factory=TrainConfig.full)
    signal_teacher: tuple[int, int] = (16, 3)
    pi_teacher: tuple[int, int] = (16, 1)
    student: tuple[int, int] = (16, 1)
    pi_resolution: int = 32
    train_fraction: float = 1.0
    pi_scaling: str = "dataset"
    pi_percentiles: tuple[float, float] = (0.1, 99.9)
    pi_min_persistence: float = 0.002
    pi_sigma_px: float | None = 1.0
    teacher_seed: int | None = None

    @classmethod
    def from_recipe(cls, name: str, **changes: Any) -> "ModelsPreset":
        """The models of preset ``name``: its recipe of :data:`mglwkd_lite.presets.RECIPES`.

        Parameters
        ----------
        name : {"quick", "full", "group"}
        **changes
            Fields to replace.

        Returns
        -------
        ModelsPreset
        """
        recipe = RECIPES[name]
        return dataclasses.replace(cls(train=TrainConfig.preset(name), train_fraction=recipe.train_fraction),
                                   **changes)

    @classmethod
    def full(cls, **changes: Any) -> "ModelsPreset":
        """The paper-scale run on a CPU: every training window, the group's step schedule
        compressed to 30 epochs (four steps, the last epoch kept, no early stopping), one training
        thread per run.

        The group's 200 epochs (:meth:`group`) cost about 2 h per signal teacher on one CPU core
        (measured with the earlier early stopping, which ended after about 160 epochs) and would put
        the 72 runs of the paper sweep out of reach; notebook 03 sets the HAPT scratch student of both
        schedules side by side
        (records in ``results/teachers_group`` and ``results/teachers_full``).
        """
        return cls.from_recipe("full", **changes)

    @classmethod
    def group(cls, **changes: Any) -> "ModelsPreset":
        """The group's recipe as released: 200 epochs, four-step learning rate, the last epoch kept (a GPU run)."""
        return cls.from_recipe("group", **changes)

    @classmethod
    def quick(cls, **changes: Any) -> "ModelsPreset":
        """CI / Binder: 6 epochs on a stratified 25 % of the training windows (same architectures)."""
        return cls.from_recipe("quick", **changes)

    @classmethod
    def preset(cls, name: str | "ModelsPreset") -> "ModelsPreset":
        """The models of a preset name.

        Parameters
        ----------
        name : {"quick", "full", "group"} or ModelsPreset
            A :class:`ModelsPreset` is returned as is.

        Returns
        -------
        ModelsPreset

        Raises
        ------
        TrainError
            For a name that is not a models preset.
        """
        if isinstance(name, ModelsPreset):
            return name
        if name not in MODEL_PRESETS:
            raise TrainError(f"unknown preset {name!r}; expected one of {list(MODEL_PRESETS)}")
        return cls.from_recipe(name)

    def architecture(self, kind: str) -> tuple[int, int, int]:
        """``(dim, depth, width)`` of a model kind (a key of :data:`KINDS`)."""
        check_kind(kind)
        depth, width = getattr(self, kind)
        return (2 if kind == "pi_teacher" else 1), depth, width


def check_kind(kind: str) -> None:
    """Raise :class:`~mglwkd_lite.train.TrainError` unless ``kind`` is a key of :data:`KINDS`."""
    if kind not in KINDS:
        raise TrainError(f"unknown model kind {kind!r}; expected one of {sorted(KINDS)}")
