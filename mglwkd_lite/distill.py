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
``ce``         cross-entropy with the labels
``kd_signal``  Hinton KD from teacher 1 (signal): ``T^2 KL(softmax(t / T) || softmax(s / T))``
``kd_pi``      the same from teacher 2 (persistence images)
``kd_two``     ``alpha KD_signal + (1 - alpha) KD_pi``; alpha fixed or dynamic (:func:`dynamic_alpha`)
``align``      ``MSE(KTS^T, KIS_signal) + MSE(KTS^T, KIS_pi)`` (see :mod:`mglwkd_lite.workspace`)
``sp``         similarity-preserving loss (Tung & Mori 2019), averaged over both teachers
``at``         attention transfer (Zagoruyko & Komodakis 2017) from the signal teacher
=============  ==================================================================================

Choices the public record leaves open (documented in the book, ablated in notebook 05):

- **Coefficient.** ``alpha = d_1 / (d_1 + d_2)`` is teacher 1's (signal) KD weight, where ``d_t`` is the
  batch-mean squared distance between the student's KTS (transposed to ``(N, K, L)``) and teacher
  ``t``'s KIS, detached. So the student is pulled harder toward the teacher whose knowledge it
  currently reads least like. It is clipped to ``[ALPHA_FLOOR, ALPHA_CAP] = [0.2, 0.8]`` so neither
  teacher is ever switched off.
- **Weights.** Logit terms: ``0.3 CE + 0.7 KD`` (KD scaled by ``T^2``, ``T = 4``). Alignment weight 10
  (the squared differences of two distributions over 5 slots are of order 1e-2, so weight 1 would
  leave the term negligible next to CE). SP weight 3000 (Tung & Mori's gamma), AT weight 500
  (Zagoruyko & Komodakis' ``beta / 2`` with ``beta = 1000``).
- **Residual path.** With ``residual=True`` (mGLW-KD), the workspace transfer is added to the student's
  feature map and the logit terms (CE, KD) are averaged over the plain logits and the logits of the
  enhanced features. The plain student -- the one shipped -- is thus trained to classify on its own,
  and the residual path is trained to help it; both are evaluated
  (:class:`mglwkd_lite.workspace.ResidualStudent`).
- **Annealing.** ``anneal=True`` starts the student from the scratch-trained student's weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .losses import (
    ALPHA_CAP, ALPHA_FLOOR, DistillError, align_loss, at_loss, dynamic_alpha, kd_loss, kis_distances, sp_loss,
)
from .train import predict
from .workspace import GlobalWorkspace, WorkspaceConfig

__all__ = [
    "DistillError",
    "DistillConfig",
    "METHODS",
    "LOSSES",
    "register_loss",
    "Outputs",
    "TeacherBank",
    "teacher_bank",
    "combine",
    "make_objective",
    "method",
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
    alpha : "dynamic" or float
        ``"dynamic"`` for mGLW-KD's coefficient, or teacher 1's (signal) fixed KD weight in [0, 1].
    alpha_floor, alpha_cap : float
        Bounds of the dynamic coefficient.
    workspace : mglwkd_lite.workspace.WorkspaceConfig or None
        The workspace's settings when the method uses one.
    residual : bool
        Average the logit terms over the plain and the workspace-enhanced logits.
    anneal : bool
        Start the student from the scratch-trained student.

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

    def __post_init__(self) -> None:
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
        if self.alpha != "dynamic" and not (isinstance(self.alpha, (int, float)) and 0.0 <= self.alpha <= 1.0):
            raise DistillError(f"DistillConfig {self.name!r}: alpha must be 'dynamic' or in [0, 1], got {self.alpha!r}")
        if not 0.0 <= self.alpha_floor <= self.alpha_cap <= 1.0:
            raise DistillError(
                f"DistillConfig {self.name!r}: need 0 <= alpha_floor <= alpha_cap <= 1, "
                f"got {self.alpha_floor}, {self.alpha_cap}"
            )
        needs_ws = self.weight("align") > 0 or self.alpha == "dynamic" or self.residual
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
    return _mean_over_logits(out, lambda s: F.cross_entropy(s, out.y))


@register_loss("kd_signal")
def _kd_signal(out: Outputs, cfg: DistillConfig) -> torch.Tensor:
    _need(out, "teacher_logits", 1)
    return _mean_over_logits(out, lambda s: kd_loss(s, out.teacher_logits[0], cfg.temperature))


@register_loss("kd_pi")
def _kd_pi(out: Outputs, cfg: DistillConfig) -> torch.Tensor:
    _need(out, "teacher_logits", 2)
    return _mean_over_logits(out, lambda s: kd_loss(s, out.teacher_logits[1], cfg.temperature))


@register_loss("kd_two")
def _kd_two(out: Outputs, cfg: DistillConfig) -> torch.Tensor:
    _need(out, "teacher_logits", 2)
    a = out.alpha
    return _mean_over_logits(
        out, lambda s: a * kd_loss(s, out.teacher_logits[0], cfg.temperature)
        + (1 - a) * kd_loss(s, out.teacher_logits[1], cfg.temperature)
    )


@register_loss("align")
def _align(out: Outputs, cfg: DistillConfig) -> torch.Tensor:
    if out.kts is None:
        raise DistillError("the alignment loss needs the workspace's KTS and KIS")
    return align_loss(out.kts, out.kis)


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
        Each term's unweighted value (``loss_<name>``) and ``alpha``.
    """
    total = torch.zeros((), device=out.y.device)
    logs: dict[str, float] = {}
    for name in cfg.active:
        value = LOSSES[name](out, cfg)
        total = total + cfg.weight(name) * value
        logs[f"loss_{name}"] = float(value.detach())
    if any(n == "kd_two" for n in cfg.active):
        logs["alpha"] = float(out.alpha)
    return total, logs


# ----------------------------------------------------------------------------- methods

_LOGIT = (("ce", 0.3),)
_MGLWKD = DistillConfig(
    "mglwkd", _LOGIT + (("kd_two", 0.7), ("align", 10.0)), alpha="dynamic",
    workspace=WorkspaceConfig(), residual=True,
)

METHODS: dict[str, DistillConfig] = {
    c.name: c
    for c in (
        DistillConfig("scratch", (("ce", 1.0),)),
        DistillConfig("kd_signal", _LOGIT + (("kd_signal", 0.7),)),
        DistillConfig("kd_pi", _LOGIT + (("kd_pi", 0.7),)),
        # the group's earlier topological KD: 0.7 PI / 0.3 signal
        DistillConfig("kd_two_fixed", _LOGIT + (("kd_two", 0.7),), alpha=0.3),
        DistillConfig("kd_two_avg", _LOGIT + (("kd_two", 0.7),), alpha=0.5),
        DistillConfig("sp", (("ce", 1.0), ("sp", 3000.0))),
        DistillConfig("at", (("ce", 1.0), ("at", 500.0))),
        _MGLWKD,
        replace(_MGLWKD, name="mglwkd_anneal", anneal=True),
        replace(_MGLWKD, name="mglwkd_one_iter", workspace=WorkspaceConfig(num_iters=1, working_memory=False)),
        replace(_MGLWKD, name="mglwkd_fixed_alpha", alpha=0.5),
        replace(_MGLWKD, name="mglwkd_no_align", weights=_LOGIT + (("kd_two", 0.7),)),
    )
}
"""Every row of the results table (the paper's baselines, mGLW-KD and its ablations) as a configuration."""


def method(name: str, **changes) -> DistillConfig:
    """The config of method ``name`` (a key of :data:`METHODS`), optionally with fields replaced.

    Raises
    ------
    DistillError
        For an unknown method.
    """
    if name not in METHODS:
        raise DistillError(f"unknown method {name!r}; known: {sorted(METHODS)}")
    return replace(METHODS[name], **changes) if changes else METHODS[name]


# ----------------------------------------------------------------------------- teachers' outputs


@dataclass
class TeacherBank:
    """The frozen teachers' outputs on the training set, looked up by ``batch["index"]``.

    Attributes
    ----------
    logits : tuple of torch.Tensor
        Per teacher ``(N_train, classes)``.
    features : tuple of torch.Tensor
        Per teacher ``(N_train, C_t, T_t)`` or ``(N_train, C_t, H_t, W_t)`` (may be float16 to halve
        memory; cast to float32 on lookup).
    """

    logits: tuple[torch.Tensor, ...]
    features: tuple[torch.Tensor, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        n = {int(t.shape[0]) for t in (*self.logits, *self.features)}
        if len(n) != 1:
            raise DistillError(f"teacher outputs must cover the same windows, got lengths {sorted(n)}")

    def __len__(self) -> int:
        return int(self.logits[0].shape[0])

    @property
    def feature_shapes(self) -> list[tuple[int, ...]]:
        """Per teacher, the feature shape without the batch axis."""
        return [tuple(f.shape[1:]) for f in self.features]

    def lookup(self, index: torch.Tensor,
               device: torch.device | str = "cpu") -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
        """``(logits, features)`` tuples for the windows at ``index`` ``(B,)``, float32 on ``device``."""
        index = torch.as_tensor(index, dtype=torch.long).cpu()
        if index.numel() and (int(index.min()) < 0 or int(index.max()) >= len(self)):
            raise DistillError(
                f"batch index out of range [0, {len(self)}): got {int(index.min())}..{int(index.max())}; "
                "the teacher bank covers the training set only"
            )
        logits = tuple(t[index].to(device, torch.float32) for t in self.logits)
        feats = tuple(t[index].to(device, torch.float32) for t in self.features)
        return logits, feats


@torch.no_grad()
def teacher_bank(teachers: Sequence[nn.Module], inputs: Sequence[torch.Tensor], batch_size: int = 256,
                 feature_dtype: torch.dtype = torch.float32) -> TeacherBank:
    """Run the frozen teachers once (eval mode) over the training inputs.

    Parameters
    ----------
    teachers : sequence of torch.nn.Module
        E.g. ``[signal_teacher, pi_teacher]``.
    inputs : sequence of torch.Tensor
        Per teacher, its training inputs in training-set order: ``(N, C, T)`` windows,
        ``(N, C, R, R)`` persistence images.
    batch_size : int
        Windows per forward pass.
    feature_dtype : torch.dtype
        Storage type of the features (float16 halves the memory).

    Returns
    -------
    TeacherBank
    """
    if len(teachers) != len(inputs):
        raise DistillError(f"got {len(teachers)} teachers but {len(inputs)} inputs")
    logits, feats = [], []
    for net, x in zip(teachers, inputs):
        x = torch.as_tensor(x, dtype=torch.float32)
        # The one prediction routine of the project (eval mode, batched, training state restored);
        # labels are not needed here, so zeros stand in for them.
        lo, _, fe = predict(net, (x, torch.zeros(len(x), dtype=torch.long)), batch_size=batch_size,
                            return_features=True)
        logits.append(torch.from_numpy(lo))
        feats.append(torch.from_numpy(fe).to(feature_dtype))
    return TeacherBank(tuple(logits), tuple(feats))


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
                out.alpha = dynamic_alpha(ws.kts, ws.kis, cfg.alpha_floor, cfg.alpha_cap)
            with torch.no_grad():
                d = kis_distances(ws.kts, ws.kis)
        loss, logs = combine(out, cfg)
        if workspace is not None:
            logs.update({f"kis_dist_{i + 1}": float(v) for i, v in enumerate(d)})
        return loss, logs

    return objective
