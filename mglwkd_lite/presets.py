"""The one preset registry: every name a notebook, script or command accepts, and what it means.

A *preset* names a scale of the whole reproduction. Each entry says which windows the models train
on (``data``: the :func:`mglwkd_lite.data.prepare` preset), how the teachers and students are
trained (``models``: a key of :data:`RECIPES`) and, for the names the ``run`` command takes, which
sweep of data sets, methods and seeds it runs (``sweep``).

=========  ===============  ==============================================  =========================
name       data             models                                          sweep
=========  ===============  ==============================================  =========================
``quick``  standard         6 epochs on a stratified 25 % of the windows    HAPT, 3 methods, seed 0
``full``   standard         30 epochs, every window, one thread             -
``group``  standard         the group's 200 epochs                          -
``paper``  standard         ``full``                                        both sets, every method,
                                                                            seeds 0-2
``folds``  5 subject folds  ``full``                                        both sets, 7 methods,
                                                                            folds 0-4, seeds 0-1
``group_   5 subject folds  ``full``'s steps at HAPT 100 / SPSW 200         ``folds``' methods and
folds``                     epochs, under the ``group`` protocol            ``scratch_long``
=========  ===============  ==============================================  =========================

``full`` and ``group`` train with the group's four-step learning rate (0.05 for the first 1/18 of the
epochs, 0.01 until 1/3, 0.001 until 2/3, 0.0001 after; their released ``train_ad.py``), keep the
model of the last epoch and never stop early. ``quick`` keeps its own two steps (0.05, 0.01 from
epoch 2, 0.001 from epoch 4 of 6): at 6 epochs the group's first step would last no epoch.

The notebooks' ``preset`` parameter takes the model presets :data:`MODEL_PRESETS`; the ``run``
command takes the sweeps :data:`SWEEP_PRESETS`. Every preset trains on the same standard windows
(:class:`mglwkd_lite.data.DataConfig`) and the same persistence images
(:class:`mglwkd_lite.topology.PIConfig` at the recipe's ``pi_resolution``).

This module holds plain values only and imports nothing from the package, so every layer (data,
training, the experiment runner, the command line) can read it. The dataclasses built from it --
:class:`mglwkd_lite.pipeline.ModelsPreset` and :class:`mglwkd_lite.experiments.ExperimentPreset`
-- are what cache and run keys hash.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Recipe",
    "Sweep",
    "Preset",
    "RECIPES",
    "PRESETS",
    "MODEL_PRESETS",
    "SWEEP_PRESETS",
    "ALL_METHODS",
    "GROUP_LR_STEPS",
    "QUICK_LR_STEPS",
    "FOLD_METHODS",
    "GROUP_FOLD_METHODS",
    "GROUP_PROTOCOL_CHOSEN",
    "Protocol",
    "PROTOCOLS",
]

ALL_METHODS = "all"
"""A sweep's ``methods`` meaning every row of the results table (:data:`mglwkd_lite.distill.TABLE_METHODS`),
in its order."""


GROUP_LR_STEPS: tuple[tuple[float, float], ...] = ((1 / 18, 0.01), (1 / 3, 0.001), (2 / 3, 0.0001))
"""The group's learning-rate steps after 0.05 (``train_ad.py``): ``(fraction of the epochs, lr)``."""
QUICK_LR_STEPS: tuple[tuple[float, float], ...] = ((1 / 3, 0.01), (2 / 3, 0.001))
"""The quick preset's steps: at 6 epochs, 1/18 would be epoch 0 and 0.05 would never be used."""

FOLD_METHODS: tuple[str, ...] = ("scratch", "kd_signal", "kd_pi", "kd_two_fixed", "kd_two_avg", "mglwkd",
                                 "kd_two_mean_alpha")
"""The methods of the ``folds`` sweep (the mean-alpha control after the mGLW-KD run its alpha comes from)."""
GROUP_FOLD_METHODS: tuple[str, ...] = ("scratch", "scratch_long") + FOLD_METHODS[1:]
"""The methods of the ``group_folds`` sweep: the ``folds`` methods and "scratch, trained as long"."""


@dataclass(frozen=True)
class Protocol:
    """How every KD-type student of a sweep starts and which logits its KD terms read.

    A protocol changes the method configurations of a sweep, not the models preset, so that the
    scratch student and the teachers of a fold are the same under every protocol (and their cache
    entries are shared).

    Parameters
    ----------
    name : str
        The protocol's name (``"cold"``: each method's own configuration).
    warm_start : bool
        Start every student that learns from a teacher from the scratch student of the same data
        set, fold and seed (the group's ``--student-checkpoint``; ``DistillConfig.anneal``).
    logit_std : bool or None
        Logit standardisation in the CE and KD terms of every method with a KD term; None keeps
        each method's own setting.
    chosen : str
        What was chosen, on which subjects, when and why (empty for the cold protocol).
    """

    name: str
    warm_start: bool = False
    logit_std: bool | None = None
    chosen: str = ""


GROUP_PROTOCOL_CHOSEN = (
    "2026-12-08, on the validation subjects of subject fold 0 (three student seeds per cell; "
    "benchmarks/pilot.py, rules in mglwkd_lite.protocol committed before its first run): warm start as the "
    "group's command; budget 200 epochs (the smallest within the seed spread of 200 on both data sets), "
    "cut for the sweep to 100 on HAPT, where 30 and 100 passed (estimate 10.2 h instead of 14.3 h); logit "
    "standardisation kept (the group's): at the warm start, dropping it was within the seed spread on both "
    "data sets (HAPT 90.95 against 90.61 % validation macro F1, SPSW 85.30 against 85.47 %)"
)

PROTOCOLS: dict[str, Protocol] = {
    "cold": Protocol("cold"),
    "group": Protocol("group", warm_start=True, logit_std=True, chosen=GROUP_PROTOCOL_CHOSEN),
}
"""The registered protocols: ``cold`` is every sweep before the pilot (students from random weights,
each method's own logit standardisation); ``group`` is the group's protocol as the pilot chose it (every
student with a teacher warm-started from the scratch student of its fold and seed; see
:data:`GROUP_PROTOCOL_CHOSEN`). Frozen: a change is a new protocol with a new name."""


@dataclass(frozen=True)
class Recipe:
    """How the teachers and students of a models preset are trained.

    Parameters
    ----------
    epochs : int
        Training epochs (the group's step schedule is scaled to them).
    patience : int or None
        Early-stopping patience after the last learning-rate step; None never stops early.
    threads : int or None
        CPU threads per training run; None uses every core the process may use.
    train_fraction : float
        Seeded, class-stratified share of the training windows used (val and test stay whole).
    summary : str
        One line for tables and help texts.
    lr_steps : tuple of (float, float)
        Learning-rate steps after the initial 0.05 (:attr:`mglwkd_lite.train.TrainConfig.lr_steps`).
    select : {"last", "best_val"}
        Which epoch's model is kept (:attr:`mglwkd_lite.train.TrainConfig.select`).
    """

    epochs: int
    patience: int | None
    threads: int | None
    train_fraction: float
    summary: str
    lr_steps: tuple[tuple[float, float], ...] = GROUP_LR_STEPS
    select: str = "last"


@dataclass(frozen=True)
class Sweep:
    """The grid of the experiment runner: data sets x methods x seeds.

    Parameters
    ----------
    datasets : tuple of str
        Packaged data sets (``"hapt"``, ``"spsw"``).
    methods : tuple of str or str
        Keys of :data:`mglwkd_lite.distill.METHODS`, or :data:`ALL_METHODS`.
    seeds : tuple of int
        Training seeds.
    folds : tuple of int or None
        Subject folds (:func:`mglwkd_lite.data.subject_folds`); None: the standard split only.
    teacher_seed : int or None
        None: each seed trains its own teachers; an int: the teachers of a split are trained once,
        with this seed, and every student seed distils from them
        (:attr:`mglwkd_lite.pipeline.ModelsPreset.teacher_seed`).
    protocol : str or None
        A key of :data:`PROTOCOLS` applied to every method (None: each method as registered).
    epochs : tuple of (str, int)
        Per data set budget ``(dataset, epochs)`` replacing the recipe's epochs (the step schedule
        scales with them); empty: the recipe's epochs everywhere.
    """

    datasets: tuple[str, ...]
    methods: tuple[str, ...] | str
    seeds: tuple[int, ...]
    folds: tuple[int, ...] | None = None
    teacher_seed: int | None = None
    protocol: str | None = None
    epochs: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Preset:
    """One name of the registry.

    Parameters
    ----------
    name : str
        The name notebooks, scripts and commands accept.
    data : str
        The :func:`mglwkd_lite.data.prepare` preset of the training windows.
    models : str
        The key of :data:`RECIPES` the teachers and students are trained with.
    sweep : Sweep or None
        The experiment sweep of the name (None: not a ``run`` preset).
    summary : str
        One line for tables and help texts.
    """

    name: str
    data: str
    models: str
    sweep: Sweep | None
    summary: str


RECIPES: dict[str, Recipe] = {
    "quick": Recipe(6, None, None, 0.25, "CI / Binder: 6 epochs on a stratified 25 % of the training windows",
                    lr_steps=QUICK_LR_STEPS),
    # The group's step schedule compressed to 30 epochs, one thread per run, so that a sweep fills a
    # CPU with one run per core (book/reproducing.md).
    "full": Recipe(30, None, 1, 1.0, "paper scale on a CPU: 30 epochs on every training window, one thread"),
    "group": Recipe(200, None, None, 1.0, "the group's recipe: 200 epochs, four-step learning rate, last epoch"),
}
"""Training recipes by name (architectures are shared: see :class:`mglwkd_lite.pipeline.ModelsPreset`)."""

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("quick", "full", "quick", Sweep(("hapt",), ("scratch", "kd_signal", "mglwkd"), (0,)),
               "CI / Binder: HAPT; scratch, KD and mGLW-KD; seed 0"),
        Preset("full", "full", "full", None, RECIPES["full"].summary),
        Preset("group", "full", "group", None, RECIPES["group"].summary),
        Preset("paper", "full", "full", Sweep(("hapt", "spsw"), ALL_METHODS, (0, 1, 2)),
               "the results table: both data sets, every method, seeds 0-2, the full models"),
        Preset("folds", "full", "full", Sweep(("hapt", "spsw"), FOLD_METHODS, (0, 1), folds=(0, 1, 2, 3, 4),
                                          teacher_seed=0),
               "subject folds: both data sets, folds 0-4, students seeds 0-1 (teachers once per fold, seed 0), "
               "scratch, KD and mGLW-KD, the full models"),
        Preset("group_folds", "full", "full",
               Sweep(("hapt", "spsw"), GROUP_FOLD_METHODS, (0, 1), folds=(0, 1, 2, 3, 4), teacher_seed=0,
                     protocol="group", epochs=(("hapt", 100), ("spsw", 200))),
               "the folds sweep under the group's protocol: warm start, HAPT 100 / SPSW 200 epochs, "
               "and the control scratch_long"),
    )
}
"""Every preset name and what it means for data, models and sweep."""

MODEL_PRESETS: tuple[str, ...] = tuple(RECIPES)
"""Names of the models presets (the notebooks' ``preset`` parameter): quick, full, group."""

SWEEP_PRESETS: tuple[str, ...] = tuple(name for name, p in PRESETS.items() if p.sweep is not None)
"""Names of the experiment sweeps (``python -m mglwkd_lite run --preset``): quick, paper, folds, group_folds."""
