"""Distillation into a time-series-only student: losses, the dynamic coefficient, methods as configs.

Every method of the results table -- the scratch student, Hinton KD from either teacher, two-teacher
KD with fixed or averaged weights, SP / AT feature distillation, mGLW-KD and its ablations -- is a
:class:`DistillConfig`: a set of named loss terms with weights, plus the few settings the terms read
(temperature, coefficient, workspace). :func:`make_objective` turns a config into the
``objective(model, batch) -> (loss, logs)`` of the project's one training loop,
:func:`mglwkd_lite.train.fit`; the teachers' logits and features are looked up by ``batch["index"]``
in a precomputed :class:`TeacherBank`, so the (frozen) teachers are never run during distillation.
Training a method's student under a preset, with the cache, is
:func:`mglwkd_lite.pipeline.distill_or_load`.

Losses (the functions in :mod:`mglwkd_lite.losses`, registered by name in :data:`LOSSES`, one
signature ``loss(out: Outputs, cfg) -> Tensor``):

=============  ==================================================================================
``ce``         cross-entropy with the labels (on ``logits / std`` with logit standardisation)
``kd_signal``  Hinton KD from teacher 1 (signal): ``T^2 KL(softmax(t / T) || softmax(s / T))``, or with
               logit standardisation ``T^2 KL(softmax(2 t / std_t) || softmax(2 s / std_s))``
``kd_pi``      the same from teacher 2 (persistence images)
``kd_two``     ``alpha KD_signal + (1 - alpha) KD_pi``; alpha fixed or dynamic (:func:`dynamic_alpha`)
``align``      ``MSE(KTS^T, KIS_signal) + MSE(KTS^T, KIS_pi)``, the KIS detached (targets; see
               :mod:`mglwkd_lite.workspace`)
``sp``         similarity-preserving loss (Tung & Mori 2019), averaged over both teachers
``at``         attention transfer (Zagoruyko & Komodakis 2017) from the signal teacher
=============  ==================================================================================

Choices the public record leaves open (documented in the book, ablated in notebook 05):

- **Coefficient.** ``alpha = d_1 / (d_1 + d_2)`` is teacher 1's (signal) KD weight, where ``d_t`` is the
  batch-mean squared distance between the student's KTS (transposed to ``(N, K, L)``) and teacher
  ``t``'s KIS, detached. So the student is pulled harder toward the teacher whose knowledge it
  currently reads least like. It is clipped to ``[ALPHA_FLOOR, ALPHA_CAP] = [0.2, 0.8]`` so neither
  teacher is ever switched off. ``alpha_swapped=True`` reverses the direction (``d_2 / (d_1 + d_2)``);
  ``alpha="mean"`` with ``alpha_from="mglwkd"`` is a fixed weight equal to the mean alpha an mGLW-KD
  run of the same data set and seed used, filled in by :func:`with_mean_alpha` before training.
- **Alignment.** The KIS are targets (detached): the alignment trains the student's KTS (and what
  feeds it) but cannot flatten the teachers' maps to uniform, which would satisfy it trivially.
- **Weights.** The group's released code (``TDA_KD/train_ad.py``): ``0.01 CE + 0.99 KD`` (lambda =
  0.99, KD scaled by ``T^2``, ``T = 4``) with logit standardisation (``logit_std=True``) in every
  KD method and mGLW-KD. The KD term's KL is averaged over windows *and classes*
  (``kd_reduction="class_mean"``), as the group's ``nn.KLDivLoss()`` does; ``"window"`` keeps the KL
  per window (``batchmean``, a KD term 6 times larger on HAPT). Alignment weight 10 (the squared
  differences of two distributions over 5 slots are of order 1e-2, so weight 1 would leave the term
  negligible). SP weight 3000 (Tung & Mori's gamma), AT weight 500 (Zagoruyko & Komodakis'
  ``beta / 2`` with ``beta = 1000``); SP and AT keep ``1.0 CE`` on plain logits.
- **Slot temperature.** mGLW-KD's slot attention runs at temperature :data:`SLOT_TEMPERATURE` (0.05;
  the paper's plain ``1 / sqrt(D)`` is 1.0): at 1.0 the slots coincide after one iteration and every
  KIS is uniform (:class:`mglwkd_lite.workspace.WorkspaceConfig`).
- **Residual path.** With ``residual=True`` (mGLW-KD), the workspace transfer is added to the student's
  feature map and the logit terms (CE, KD) are averaged over the plain logits and the logits of the
  enhanced features. The plain student -- the one shipped, whose scores are the method's -- is thus
  trained to classify on its own, and the residual path is trained to help it; both are evaluated
  (:class:`mglwkd_lite.workspace.ResidualStudent`). Nothing bounds the transfer's scale (logit
  standardisation makes the logits' scale free): with the per-window KL and uniform maps it grew to
  about 1,400 times the student's features while carrying no per-window information, so the enhanced
  logits were one constant vector (validation accuracy 0.14 whichever slots were used).
- **Annealing (warm start).** ``anneal=True`` starts the student from the scratch-trained student of the
  same data set, fold and seed, as the group's ``train_ad.py --student-checkpoint`` does. A protocol
  (:class:`mglwkd_lite.presets.Protocol`, :func:`apply_protocol`) turns it on for every method with a
  teacher. ``scratch_long`` is the control such a start needs: the scratch student continued from
  itself with cross-entropy alone, for the same epochs and schedule ("scratch, trained as long"), so
  that a warm-started student's gain can be told apart from its extra epochs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Mapping, Sequence

import torch
from torch import nn

from .losses import (  # ALPHA_CAP, ALPHA_FLOOR and DistillError re-exported: part of a method's vocabulary
    ALPHA_CAP, ALPHA_FLOOR, KD_REDUCTIONS, DistillError, align_loss, at_loss, ce_loss, dynamic_alpha, kd_loss,
    kis_distances, kis_entropy_loss, sp_loss,
)
from .bank import TeacherBank, teacher_bank  # re-exported: the bank is part of a method's inputs
from .presets import Protocol
from .workspace import GlobalWorkspace, WorkspaceConfig, entropy_ratio

__all__ = [
    "DistillError",
    "DistillConfig",
    "METHODS",
    "CONTROLS",
    "TABLE_METHODS",
    "LOSSES",
    "register_loss",
    "Outputs",
    "TeacherBank",
    "teacher_bank",
    "combine",
    "make_objective",
    "method",
    "apply_protocol",
    "KD_TERMS",
    "with_mean_alpha",
    "epoch_spread",
    "KD_LAMBDA",
    "SLOT_TEMPERATURE",
    "build_workspace",
    "LossFn",
    "ALPHA_FLOOR",
    "ALPHA_CAP",
]


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class DistillConfig:
    """One distillation method: weighted loss terms and the settings they read.

    Parameters
    ----------
    name : str
        The method's name (a row of the results table).
    weights : tuple of (str, float)
        ``((loss_name, weight), ...)``; names from :data:`LOSSES`; zero weights are skipped.
    temperature : float
        KD temperature ``T`` (4).
    alpha : "dynamic", "mean" or float
        ``"dynamic"`` for mGLW-KD's coefficient, teacher 1's (signal) fixed KD weight in [0, 1], or
        ``"mean"``: a fixed weight still to be filled in from the method ``alpha_from``
        (:func:`with_mean_alpha`; a config with ``"mean"`` cannot train).
    alpha_floor, alpha_cap : float
        Bounds of the dynamic coefficient.
    alpha_swapped : bool
        Reverse the dynamic coefficient's direction (``d_2 / (d_1 + d_2)``).
    alpha_from : str
        With ``alpha="mean"`` (and kept after filling in): the method whose mean alpha is used.
    logit_std : bool
        Logit standardisation in CE and KD (the group's code; see :func:`mglwkd_lite.losses.kd_loss`).
    workspace : mglwkd_lite.workspace.WorkspaceConfig or None
        The workspace's settings when the method uses one.
    residual : bool
        Average the logit terms over the plain and the workspace-enhanced logits.
    anneal : bool
        Start the student from the scratch-trained student.
    kd_reduction : {"class_mean", "window"}
        How the KD terms' KL is averaged (:data:`mglwkd_lite.losses.KD_REDUCTIONS`): over windows and
        classes as the group's ``nn.KLDivLoss()`` (default), or per window.

    Raises
    ------
    DistillError
        For an unknown or repeated loss, a negative weight, or settings that do not fit together.
    """

    name: str
    weights: tuple[tuple[str, float], ...] = (("ce", 1.0),)
    temperature: float = 4.0
    alpha: str | float = 0.5
    alpha_floor: float = ALPHA_FLOOR
    alpha_cap: float = ALPHA_CAP
    workspace: WorkspaceConfig | None = None
    residual: bool = False
    anneal: bool = False
    alpha_swapped: bool = False
    alpha_from: str = ""
    logit_std: bool = False
    kd_reduction: str = "class_mean"

    def __post_init__(self) -> None:
        if self.kd_reduction not in KD_REDUCTIONS:
            raise DistillError(
                f"DistillConfig {self.name!r}: kd_reduction must be one of {list(KD_REDUCTIONS)}, got {self.kd_reduction!r}"
            )
        names = [n for n, _ in self.weights]
        unknown = sorted(set(names) - set(LOSSES))
        if unknown:
            raise DistillError(f"DistillConfig {self.name!r}: unknown loss(es) {unknown}; known: {sorted(LOSSES)}")
        if len(set(names)) != len(names):
            raise DistillError(f"DistillConfig {self.name!r}: a loss is listed twice in {names}")
        if any(w < 0 for _, w in self.weights):
            raise DistillError(f"DistillConfig {self.name!r}: weights must be >= 0, got {self.weights}")
        if self.temperature <= 0:
            raise DistillError(f"DistillConfig {self.name!r}: temperature must be > 0, got {self.temperature}")
        if self.alpha not in ("dynamic", "mean") and not (
                isinstance(self.alpha, (int, float)) and 0.0 <= self.alpha <= 1.0):
            raise DistillError(
                f"DistillConfig {self.name!r}: alpha must be 'dynamic', 'mean' or in [0, 1], got {self.alpha!r}"
            )
        if self.alpha == "mean" and not self.alpha_from:
            raise DistillError(f"DistillConfig {self.name!r}: alpha='mean' needs alpha_from (the method it is read from)")
        if self.alpha_swapped and self.alpha != "dynamic":
            raise DistillError(f"DistillConfig {self.name!r}: alpha_swapped needs alpha='dynamic'")
        if not 0.0 <= self.alpha_floor <= self.alpha_cap <= 1.0:
            raise DistillError(
                f"DistillConfig {self.name!r}: need 0 <= alpha_floor <= alpha_cap <= 1, "
                f"got {self.alpha_floor}, {self.alpha_cap}"
            )
        needs_ws = self.weight("align") > 0 or self.weight("kis_entropy") > 0 or self.alpha == "dynamic" or self.residual
        if needs_ws and self.workspace is None:
            raise DistillError(
                f"DistillConfig {self.name!r}: the alignment loss, a dynamic alpha and the residual path "
                "need a workspace (set workspace=WorkspaceConfig())"
            )

    def weight(self, loss: str) -> float:
        """Weight of ``loss`` (0.0 when absent)."""
        return float(dict(self.weights).get(loss, 0.0))

    @property
    def active(self) -> tuple[str, ...]:
        """Names of the loss terms with a positive weight."""
        return tuple(n for n, w in self.weights if w > 0)

    @property
    def uses_teachers(self) -> bool:
        """True when any term needs the teachers' outputs."""
        return any(n != "ce" for n in self.active) or self.workspace is not None

    @property
    def has_kd(self) -> bool:
        """True when a term distils a teacher's logits (:data:`KD_TERMS`)."""
        return any(n in KD_TERMS for n in self.active)


KD_TERMS: tuple[str, ...] = ("kd_signal", "kd_pi", "kd_two")
"""The loss terms that distil a teacher's logits (those a protocol's ``logit_std`` applies to)."""


# ----------------------------------------------------------------------------- registry


@dataclass
class Outputs:
    """Everything the loss terms read for one batch.

    Attributes
    ----------
    student_logits : tuple of torch.Tensor
        ``(N, classes)``: the plain logits, and the workspace-enhanced logits when the residual path
        is on (logit terms average over the tuple).
    y : torch.Tensor
        ``(N,)`` labels.
    student_features : torch.Tensor or None
        ``(N, C_s, T_s)``.
    teacher_logits, teacher_features : tuple of torch.Tensor
        Per teacher (signal, PI), or empty when unused.
    kis : tuple of torch.Tensor
        Per teacher ``(N, K, L)``.
    kts : torch.Tensor or None
        ``(N, L, K)`` (None without workspace).
    alpha : torch.Tensor or float
        Teacher 1's KD weight.
    """

    student_logits: tuple[torch.Tensor, ...]
    y: torch.Tensor
    student_features: torch.Tensor | None = None
    teacher_logits: tuple[torch.Tensor, ...] = ()
    teacher_features: tuple[torch.Tensor, ...] = ()
    kis: tuple[torch.Tensor, ...] = ()
    kts: torch.Tensor | None = None
    alpha: torch.Tensor | float = 0.5


LossFn = Callable[[Outputs, DistillConfig], torch.Tensor]
"""``loss(out, cfg) -> scalar tensor``."""
LOSSES: dict[str, LossFn] = {}


def register_loss(name: str) -> Callable[[LossFn], LossFn]:
    """Decorator adding a loss ``fn(out: Outputs, cfg: DistillConfig) -> Tensor`` to :data:`LOSSES`."""

    def add(fn: LossFn) -> LossFn:
        if name in LOSSES:
            raise DistillError(f"a loss named {name!r} is already registered")
        LOSSES[name] = fn
        return fn

    return add


def _need(out: Outputs, what: str, n: int = 2) -> None:
    if len(getattr(out, what)) < n:
        raise DistillError(f"this loss needs {n} teachers' {what.replace('_', ' ')}, got {len(getattr(out, what))}")


def _mean_over_logits(out: Outputs, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    return torch.stack([fn(s) for s in out.student_logits]).mean()


@register_loss("ce")
def _ce(out: Outputs, cfg: DistillConfig) -> torch.Tensor:
    return _mean_over_logits(out, lambda s: ce_loss(s, out.y, cfg.logit_std))


def _kd(s: torch.Tensor, t: torch.Tensor, cfg: DistillConfig) -> torch.Tensor:
    return kd_loss(s, t, cfg.temperature, cfg.logit_std, cfg.kd_reduction)


@register_loss("kd_signal")
def _kd_signal(out: Outputs, cfg: DistillConfig) -> torch.Tensor:
    _need(out, "teacher_logits", 1)
    return _mean_over_logits(out, lambda s: _kd(s, out.teacher_logits[0], cfg))


@register_loss("kd_pi")
def _kd_pi(out: Outputs, cfg: DistillConfig) -> torch.Tensor:
    _need(out, "teacher_logits", 2)
    return _mean_over_logits(out, lambda s: _kd(s, out.teacher_logits[1], cfg))


@register_loss("kd_two")
def _kd_two(out: Outputs, cfg: DistillConfig) -> torch.Tensor:
    _need(out, "teacher_logits", 2)
    a = out.alpha
    return _mean_over_logits(
        out, lambda s: a * _kd(s, out.teacher_logits[0], cfg) + (1 - a) * _kd(s, out.teacher_logits[1], cfg)
    )


@register_loss("align")
def _align(out: Outputs, cfg: DistillConfig) -> torch.Tensor:
    if out.kts is None:
        raise DistillError("the alignment loss needs the workspace's KTS and KIS")
    return align_loss(out.kts, out.kis)


@register_loss("kis_entropy")
def _kis_entropy(out: Outputs, cfg: DistillConfig) -> torch.Tensor:
    if not out.kis:
        raise DistillError("the KIS entropy term needs the workspace's KIS")
    return kis_entropy_loss(out.kis)


@register_loss("sp")
def _sp(out: Outputs, cfg: DistillConfig) -> torch.Tensor:
    _need(out, "teacher_features", 1)
    return torch.stack([sp_loss(out.student_features, t) for t in out.teacher_features]).mean()


@register_loss("at")
def _at(out: Outputs, cfg: DistillConfig) -> torch.Tensor:
    _need(out, "teacher_features", 1)
    return at_loss(out.student_features, out.teacher_features[0])


def combine(out: Outputs, cfg: DistillConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted sum of the config's loss terms.

    Parameters
    ----------
    out : Outputs
    cfg : DistillConfig

    Returns
    -------
    loss : torch.Tensor
        The scalar ``sum_i w_i L_i``.
    logs : dict of str to float
        Each term's unweighted value (``loss_<name>``), and with ``kd_two`` ``alpha`` and ``alpha_sq``
        (its square, so that the epoch's spread over batches follows from the epoch means:
        :func:`epoch_spread`).
    """
    total = torch.zeros((), device=out.y.device)
    logs: dict[str, float] = {}
    for name in cfg.active:
        value = LOSSES[name](out, cfg)
        total = total + cfg.weight(name) * value
        logs[f"loss_{name}"] = float(value.detach())
    if any(n == "kd_two" for n in cfg.active):
        logs["alpha"] = float(out.alpha)
        logs["alpha_sq"] = float(out.alpha) ** 2
    return total, logs


def epoch_spread(history: Sequence[Mapping[str, float]]) -> list[dict[str, float]]:
    """History rows with ``<name>_std`` for every ``<name>_sq`` (the spread over an epoch's batches).

    The training loop averages each logged value over the epoch's windows; the mean of a value's
    square and the mean of the value give its standard deviation over the batches (weighted by
    batch size): ``sqrt(E[a^2] - E[a]^2)``.

    Parameters
    ----------
    history : sequence of mapping
        Per-epoch rows of :func:`mglwkd_lite.train.fit`.

    Returns
    -------
    list of dict
        The rows with the ``_sq`` columns replaced by ``_std`` columns.
    """
    rows = []
    for row in history:
        new = {}
        for key, value in row.items():
            if key.endswith("_sq") and key[:-3] in row:
                mean = float(row[key[:-3]])
                new[f"{key[:-3]}_std"] = max(float(value) - mean * mean, 0.0) ** 0.5
            else:
                new[key] = value
        rows.append(new)
    return rows


# ----------------------------------------------------------------------------- methods

KD_LAMBDA = 0.99
"""Weight of the KD terms (CE gets ``1 - KD_LAMBDA``): the group's ``lambda_`` (``TDA_KD/train_ad.py``)."""
_LOGIT = (("ce", round(1.0 - KD_LAMBDA, 6)),)
_KD = dict(logit_std=True)  # the group's logit standardisation in every KD method
SLOT_TEMPERATURE = 0.05
"""mGLW-KD's slot-attention temperature (:attr:`WorkspaceConfig.attn_temperature`; 1.0 is the paper's
``1 / sqrt(D)``, at which every KIS stays uniform). Chosen on HAPT's validation subjects in the quick
preset among 1, 0.1, 0.05 and 0.03 (the book's method chapter gives the figures)."""
_MGLWKD = DistillConfig(
    "mglwkd", _LOGIT + (("kd_two", KD_LAMBDA), ("align", 10.0)), alpha="dynamic",
    workspace=WorkspaceConfig(attn_temperature=SLOT_TEMPERATURE), residual=True, **_KD,
)

METHODS: dict[str, DistillConfig] = {
    c.name: c
    for c in (
        DistillConfig("scratch", (("ce", 1.0),)),
        # "scratch, trained as long": the warm start's control (cross-entropy alone, from the scratch student)
        DistillConfig("scratch_long", (("ce", 1.0),), anneal=True),
        DistillConfig("kd_signal", _LOGIT + (("kd_signal", KD_LAMBDA),), **_KD),
        DistillConfig("kd_pi", _LOGIT + (("kd_pi", KD_LAMBDA),), **_KD),
        # the group's earlier topological KD: 0.7 PI / 0.3 signal
        DistillConfig("kd_two_fixed", _LOGIT + (("kd_two", KD_LAMBDA),), alpha=0.3, **_KD),
        DistillConfig("kd_two_avg", _LOGIT + (("kd_two", KD_LAMBDA),), alpha=0.5, **_KD),
        DistillConfig("sp", (("ce", 1.0), ("sp", 3000.0))),
        DistillConfig("at", (("ce", 1.0), ("at", 500.0))),
        _MGLWKD,
        replace(_MGLWKD, name="mglwkd_anneal", anneal=True),
        replace(_MGLWKD, name="mglwkd_one_iter",
                workspace=WorkspaceConfig(num_iters=1, working_memory=False, attn_temperature=SLOT_TEMPERATURE)),
        replace(_MGLWKD, name="mglwkd_fixed_alpha", alpha=0.5),
        replace(_MGLWKD, name="mglwkd_no_align", weights=_LOGIT + (("kd_two", KD_LAMBDA),)),
        replace(_MGLWKD, name="mglwkd_alpha_swapped", alpha_swapped=True),
        replace(_MGLWKD, name="mglwkd_no_residual", residual=False),
        # the missing control: two-teacher KD at the mean alpha mGLW-KD used, filled in per run from the
        # mglwkd run of the same data set and seed (listed after it, so that sweeps in this order train
        # mglwkd first)
        DistillConfig("kd_two_mean_alpha", _LOGIT + (("kd_two", KD_LAMBDA),), alpha="mean", alpha_from="mglwkd",
                      **_KD),
    )
}
"""Every method as a configuration: the rows of the results table (the paper's baselines, mGLW-KD and
its ablations) and the protocol's control (:data:`CONTROLS`)."""

CONTROLS: tuple[str, ...] = ("scratch_long",)
"""Methods that are controls of a protocol, not rows of the paper's results table."""
TABLE_METHODS: tuple[str, ...] = tuple(name for name in METHODS if name not in CONTROLS)
"""The rows of the results table, in :data:`METHODS` order (what the ``paper`` sweep and notebook 05 train)."""


def method(name: str, protocol: Protocol | None = None, **changes) -> DistillConfig:
    """The config of method ``name`` (a key of :data:`METHODS`) under a protocol, optionally with fields replaced.

    ``protocol`` (optional) is applied with :func:`apply_protocol`; ``changes`` are fields replaced after it.

    Raises
    ------
    DistillError
        For an unknown method.
    """
    if name not in METHODS:
        raise DistillError(f"unknown method {name!r}; known: {sorted(METHODS)}")
    cfg = apply_protocol(METHODS[name], protocol)
    return replace(cfg, **changes) if changes else cfg


def apply_protocol(cfg: DistillConfig, protocol: Protocol | None) -> DistillConfig:
    """A method's config under a protocol: warm start and logit standardisation of the KD methods.

    Parameters
    ----------
    cfg : DistillConfig
    protocol : mglwkd_lite.presets.Protocol or None
        ``warm_start`` sets ``anneal=True`` on every method that learns from a teacher
        (:attr:`DistillConfig.uses_teachers`); ``logit_std`` (when not None) replaces the setting of
        every method with a KD term (:attr:`DistillConfig.has_kd`). Methods without a teacher (the
        scratch student, ``scratch_long``) are returned unchanged, so they are shared by every
        protocol. None, or the ``cold`` protocol, changes nothing.

    Returns
    -------
    DistillConfig
        Unchanged (the same object) when the protocol changes nothing, so keys stay as they were.
    """
    if protocol is None:
        return cfg
    changes: dict[str, object] = {}
    if protocol.warm_start and cfg.uses_teachers and not cfg.anneal:
        changes["anneal"] = True
    if protocol.logit_std is not None and cfg.has_kd and cfg.logit_std != protocol.logit_std:
        changes["logit_std"] = protocol.logit_std
    return replace(cfg, **changes) if changes else cfg


def with_mean_alpha(config: DistillConfig, alpha: float) -> DistillConfig:
    """``config`` with its ``alpha="mean"`` placeholder filled in (e.g. ``kd_two_mean_alpha``).

    Parameters
    ----------
    config : DistillConfig
        A config with ``alpha="mean"`` (a config already filled in is refilled).
    alpha : float
        The mean alpha of the ``config.alpha_from`` run of the same data set and seed (e.g. the mean
        of its history's per-epoch ``alpha``), in [0, 1]; rounded to 6 decimals so that the cache and
        run keys do not depend on float noise.

    Returns
    -------
    DistillConfig
        With ``alpha`` the fixed value (part of every key hashing the config).

    Raises
    ------
    DistillError
        When ``config`` takes no mean alpha, or ``alpha`` is not in [0, 1].
    """
    if not config.alpha_from:
        raise DistillError(f"method {config.name!r} takes no mean alpha (alpha_from is empty)")
    value = round(float(alpha), 6)
    if not 0.0 <= value <= 1.0:
        raise DistillError(f"the mean alpha must be in [0, 1], got {alpha!r}")
    return replace(config, alpha=value)


# ----------------------------------------------------------------------------- objective


def build_workspace(cfg: DistillConfig, bank: TeacherBank, student_feature_shape: Sequence[int]) -> GlobalWorkspace | None:
    """The workspace a method needs, sized from the teachers' features.

    Parameters
    ----------
    cfg : DistillConfig
    bank : TeacherBank
    student_feature_shape : sequence of int
        The student's last-stage feature shape, no batch axis.

    Returns
    -------
    mglwkd_lite.workspace.GlobalWorkspace or None
        None when the method uses none.
    """
    if cfg.workspace is None:
        return None
    if len(bank.features) < 2:
        raise DistillError(f"method {cfg.name!r} needs both teachers' features in the bank")
    return GlobalWorkspace(bank.feature_shapes, student_feature_shape, cfg.workspace)


def make_objective(cfg: DistillConfig, bank: TeacherBank | None = None,
                   workspace: GlobalWorkspace | None = None) -> Callable[[nn.Module, Mapping], tuple[torch.Tensor, dict]]:
    """The ``objective(model, batch) -> (loss, logs)`` of method ``cfg`` for :func:`mglwkd_lite.train.fit`.

    Parameters
    ----------
    cfg : DistillConfig
        The method.
    bank : TeacherBank, optional
        The teachers' outputs on the training set (needed unless the method is plain CE).
    workspace : mglwkd_lite.workspace.GlobalWorkspace, optional
        The method's workspace (train it jointly: ``fit(..., extra_modules=(workspace,))``).

    Returns
    -------
    callable
        ``objective(model, batch) -> (loss, logs)``.

    Notes
    -----
    ``batch`` is ``{"x": (B, C, T), "y": (B,), "index": (B,)}`` with ``index`` the position in the
    training set. The student must return ``(logits, features)`` with ``return_features=True`` and
    expose ``pool`` and ``fc`` when the residual path is on.
    """
    if cfg.uses_teachers and bank is None:
        raise DistillError(f"method {cfg.name!r} needs a TeacherBank")
    if cfg.alpha == "mean":
        raise DistillError(
            f"method {cfg.name!r}: alpha='mean' must be filled in from the {cfg.alpha_from!r} run first "
            "(with_mean_alpha, or mglwkd_lite.pipeline.resolve_method)"
        )
    if (cfg.workspace is None) != (workspace is None):
        raise DistillError(
            f"method {cfg.name!r} {'needs' if cfg.workspace is not None else 'takes no'} workspace"
        )

    def objective(model: nn.Module, batch: Mapping) -> tuple[torch.Tensor, dict[str, float]]:
        x, y = batch["x"], batch["y"]
        logits, feats = model(x, return_features=True)
        out = Outputs((logits,), y, feats, alpha=cfg.alpha if cfg.alpha != "dynamic" else 0.5)
        if bank is not None and cfg.uses_teachers:
            out.teacher_logits, out.teacher_features = bank.lookup(batch["index"], x.device)
        if workspace is not None:
            ws = workspace(out.teacher_features, feats)
            out.kis, out.kts = ws.kis, ws.kts
            if cfg.residual:
                enhanced = model.fc(torch.flatten(model.pool(ws.enhanced_features), 1))
                out.student_logits = (logits, enhanced)
            if cfg.alpha == "dynamic":
                out.alpha = dynamic_alpha(ws.kts, ws.kis, cfg.alpha_floor, cfg.alpha_cap, swapped=cfg.alpha_swapped)
            with torch.no_grad():
                d = kis_distances(ws.kts, ws.kis)
                # 1 = uniform over the slots: how far the maps are from the flat, inert solution
                entropies = {f"kis_entropy_{i + 1}": float(entropy_ratio(k, dim=1)) for i, k in enumerate(ws.kis)}
                entropies["kts_entropy"] = float(entropy_ratio(ws.kts, dim=2))
        loss, logs = combine(out, cfg)
        if workspace is not None:
            logs.update({f"kis_dist_{i + 1}": float(v) for i, v in enumerate(d)})
            logs.update(entropies)
        return loss, logs

    return objective
