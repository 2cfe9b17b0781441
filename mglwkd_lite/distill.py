"""Distillation into a time-series-only student: losses, the dynamic coefficient, methods as configs.

Every method of the results table -- the scratch student, Hinton KD from either teacher, two-teacher
KD with fixed or averaged weights, SP / AT feature distillation, mGLW-KD and its ablations -- is a
:class:`DistillConfig`: a set of named loss terms with weights, plus the few settings the terms read
(temperature, coefficient, workspace). :func:`make_objective` turns a config into the
``objective(model, batch) -> (loss, logs)`` of the project's one training loop,
:func:`mglwkd_lite.train.fit`; the teachers' logits and features are looked up by ``batch["index"]``
in a precomputed :class:`TeacherBank`, so the (frozen) teachers are never run during distillation.

Losses (registered by name in :data:`LOSSES`, one signature ``loss(out: Outputs, cfg) -> Tensor``):

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
  and the residual path is trained to help it; both are evaluated (:class:`ResidualStudent`).
- **Annealing.** ``anneal=True`` starts the student from the scratch-trained student's weights.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .train import Batch, predict
from .workspace import GlobalWorkspace, WorkspaceConfig, kts_as_kis

__all__ = [
    "DistillError",
    "DistillConfig",
    "METHODS",
    "LOSSES",
    "register_loss",
    "Outputs",
    "TeacherBank",
    "teacher_bank",
    "kd_loss",
    "sp_loss",
    "at_loss",
    "align_loss",
    "kis_distances",
    "dynamic_alpha",
    "combine",
    "make_objective",
    "method",
    "build_workspace",
    "LossFn",
    "ALPHA_FLOOR",
    "ALPHA_CAP",
]

ALPHA_FLOOR = 0.2
ALPHA_CAP = 0.8


class DistillError(ValueError):
    """Invalid distillation setting or inputs (unknown loss or method, missing teacher outputs)."""


# ----------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class DistillConfig:
    """One distillation method: weighted loss terms and the settings they read.

    Parameters
    ----------
    name : the method's name (a row of the results table).
    weights : ``((loss_name, weight), ...)``; names from :data:`LOSSES`; zero weights are skipped.
    temperature : KD temperature ``T`` (4).
    alpha : ``"dynamic"`` for mGLW-KD's coefficient, or teacher 1's (signal) fixed KD weight in [0, 1].
    alpha_floor, alpha_cap : bounds of the dynamic coefficient.
    workspace : :class:`WorkspaceConfig` when the method uses the workspace, else None.
    residual : average the logit terms over the plain and the workspace-enhanced logits.
    anneal : start the student from the scratch-trained student.
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
        """Weight of ``loss`` (0 when absent)."""
        return float(dict(self.weights).get(loss, 0.0))

    @property
    def active(self) -> tuple[str, ...]:
        """Names of the loss terms with a positive weight."""
        return tuple(n for n, w in self.weights if w > 0)

    @property
    def uses_teachers(self) -> bool:
        """True when any term needs the teachers' outputs."""
        return any(n != "ce" for n in self.active) or self.workspace is not None


# ----------------------------------------------------------------------------- loss functions


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 4.0) -> torch.Tensor:
    """Hinton KD: ``T^2 KL(softmax(t / T) || softmax(s / T))``, mean over the batch.

    Parameters
    ----------
    student_logits, teacher_logits : ``(N, classes)``.
    temperature : ``T``; the ``T^2`` factor keeps gradient sizes comparable across temperatures.
    """
    if student_logits.shape != teacher_logits.shape:
        raise DistillError(f"KD needs logits of one shape, got {tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}")
    t = float(temperature)
    log_p_s = F.log_softmax(student_logits / t, dim=1)
    log_p_t = F.log_softmax(teacher_logits / t, dim=1)
    return F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True) * t * t


def sp_loss(student_features: torch.Tensor, teacher_features: torch.Tensor) -> torch.Tensor:
    """Similarity-preserving loss (Tung & Mori 2019): ``||G_s - G_t||_F^2 / N^2``.

    ``G = normalise_rows(F F^T)`` is the ``(N, N)`` similarity of the flattened features of the batch,
    so student and teacher may have any (different) feature shapes.

    Parameters
    ----------
    student_features : ``(N, ...)``; teacher_features : ``(N, ...)``.
    """
    n = student_features.shape[0]
    if teacher_features.shape[0] != n:
        raise DistillError(f"SP needs the same batch, got {student_features.shape[0]} and {teacher_features.shape[0]}")
    fs, ft = student_features.reshape(n, -1), teacher_features.reshape(n, -1)
    gs = F.normalize(fs @ fs.t(), dim=1)
    gt = F.normalize(ft @ ft.t(), dim=1)
    return (gs - gt).pow(2).sum() / (n * n)


def _attention_map(features: torch.Tensor) -> torch.Tensor:
    return F.normalize(features.pow(2).mean(1).flatten(1), dim=1)


def at_loss(student_features: torch.Tensor, teacher_features: torch.Tensor) -> torch.Tensor:
    """Attention transfer (Zagoruyko & Komodakis 2017): ``mean((a_s - a_t)^2)``.

    ``a = normalise(mean_c(f^2))`` is the L2-normalised map of where a network's activity lies in time
    (or space). Parameters: student and teacher features ``(N, C, T...)`` with the same time / space
    size (channels may differ).
    """
    if student_features.shape[2:] != teacher_features.shape[2:]:
        raise DistillError(
            f"AT needs the same time/space size, got {tuple(student_features.shape)} and {tuple(teacher_features.shape)}"
        )
    return (_attention_map(student_features) - _attention_map(teacher_features)).pow(2).mean()


def kis_distances(kts: torch.Tensor, kis: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-teacher mean squared distance between the student's KTS and each teacher's KIS.

    Parameters
    ----------
    kts : ``(N, L, K)``; kis : sequence of ``(N, K, L)``.

    Returns
    -------
    ``(len(kis),)`` distances, averaged over the batch, slots and tokens.
    """
    ref = kts_as_kis(kts)
    for k in kis:
        if k.shape != ref.shape:
            raise DistillError(f"KIS {tuple(k.shape)} does not match KTS^T {tuple(ref.shape)}")
    return torch.stack([(ref - k).pow(2).mean() for k in kis])


def align_loss(kts: torch.Tensor, kis: Sequence[torch.Tensor]) -> torch.Tensor:
    """Alignment ``sum_t MSE(KTS^T, KIS_t)``: KTS ``(N, L, K)``, each KIS ``(N, K, L)``."""
    return kis_distances(kts, kis).sum()


def dynamic_alpha(kts: torch.Tensor, kis: Sequence[torch.Tensor], floor: float = ALPHA_FLOOR,
                  cap: float = ALPHA_CAP, eps: float = 1e-12) -> torch.Tensor:
    """mGLW-KD's coefficient ``alpha = d_1 / (d_1 + d_2)``, detached and clipped to ``[floor, cap]``.

    ``d_t`` is :func:`kis_distances` for teacher ``t``; alpha weights teacher 1's KD term and
    ``1 - alpha`` teacher 2's. Equal distances (including both zero) give 0.5.

    Returns
    -------
    A scalar tensor in ``[floor, cap]`` without gradient.
    """
    if len(kis) != 2:
        raise DistillError(f"the dynamic coefficient needs two teachers' KIS, got {len(kis)}")
    d = kis_distances(kts.detach(), [k.detach() for k in kis])
    alpha = (d[0] + eps) / (d.sum() + 2 * eps)
    return alpha.clamp(float(floor), float(cap))


# ----------------------------------------------------------------------------- registry


@dataclass
class Outputs:
    """Everything the loss terms read for one batch.

    Attributes
    ----------
    student_logits : tuple of ``(N, classes)``: the plain logits, and the workspace-enhanced logits
        when the residual path is on (logit terms average over the tuple).
    y : ``(N,)`` labels.
    student_features : ``(N, C_s, T_s)``.
    teacher_logits, teacher_features : per teacher (signal, PI), or empty when unused.
    kis : per teacher ``(N, K, L)``; kts : ``(N, L, K)`` (None without workspace).
    alpha : teacher 1's KD weight (scalar tensor or float).
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

    Returns
    -------
    loss : scalar tensor ``sum_i w_i L_i``.
    logs : each term's unweighted value (``loss_<name>``) and ``alpha``, as floats.
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
    """The config of method ``name`` (a key of :data:`METHODS`), optionally with fields replaced."""
    if name not in METHODS:
        raise DistillError(f"unknown method {name!r}; known: {sorted(METHODS)}")
    return replace(METHODS[name], **changes) if changes else METHODS[name]


# ----------------------------------------------------------------------------- teachers' outputs


@dataclass
class TeacherBank:
    """The frozen teachers' outputs on the training set, looked up by ``batch["index"]``.

    Attributes
    ----------
    logits : per teacher ``(N_train, classes)``.
    features : per teacher ``(N_train, C_t, T_t)`` or ``(N_train, C_t, H_t, W_t)`` (may be float16 to
        halve memory; cast to float32 on lookup).
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

    def lookup(self, index: torch.Tensor, device: torch.device | str = "cpu"):
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
    teachers : e.g. ``[signal_teacher, pi_teacher]``.
    inputs : per teacher, its training inputs in training-set order: ``(N, C, T)`` windows,
        ``(N, C, R, R)`` persistence images.
    batch_size : windows per forward pass.
    feature_dtype : storage type of the features (float16 halves the memory).
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
    """The workspace a method needs (None when it uses none), sized from the teachers' features."""
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
    cfg : the method.
    bank : the teachers' outputs on the training set (needed unless the method is plain CE).
    workspace : the method's :class:`GlobalWorkspace` (train it jointly: ``fit(...,
        extra_modules=(workspace,))``).

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
