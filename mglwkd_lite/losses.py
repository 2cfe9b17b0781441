"""The loss functions of distillation and mGLW-KD's dynamic coefficient, on plain tensors.

Each function takes the student's and the teachers' tensors of one batch and returns a scalar
tensor (or the per-teacher distances); :mod:`mglwkd_lite.distill` registers them as the named loss
terms of its methods. The coefficient's design is explained in :mod:`mglwkd_lite.distill`.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from .workspace import entropy_ratio, kts_as_kis

__all__ = [
    "DistillError",
    "ALPHA_FLOOR",
    "ALPHA_CAP",
    "STD_TEMPERATURE",
    "standardise_logits",
    "ce_loss",
    "kd_loss",
    "sp_loss",
    "at_loss",
    "kis_distances",
    "align_loss",
    "kis_entropy_loss",
    "KD_REDUCTIONS",
    "dynamic_alpha",
]

ALPHA_FLOOR = 0.2
"""Lowest value of the dynamic coefficient (neither teacher is ever switched off)."""
ALPHA_CAP = 0.8
"""Highest value of the dynamic coefficient."""
STD_TEMPERATURE = 0.5
"""Temperature applied to standardised logits in KD (the group's ``2 * logits / std``)."""


KD_REDUCTIONS = ("class_mean", "window")
"""How the KD term's KL is averaged: ``"class_mean"`` over windows *and* classes, as the group's
``nn.KLDivLoss()`` (reduction ``"mean"``) does, i.e. the per-window KL divided by the class count;
``"window"`` the KL per window (``batchmean``)."""


class DistillError(ValueError):
    """Invalid distillation setting or inputs (unknown loss or method, missing teacher outputs)."""


def standardise_logits(logits: torch.Tensor) -> torch.Tensor:
    """Each logit vector divided by its own standard deviation (per sample, unbiased as ``torch.std``).

    Parameters
    ----------
    logits : torch.Tensor
        ``(N, classes)``.

    Returns
    -------
    torch.Tensor
        ``logits / std(logits, dim=1)``, the logit standardisation of the group's released code
        (``TDA_KD/train_ad.py``); the mean is not removed (softmax ignores it).
    """
    return logits / logits.std(dim=1, keepdim=True).clamp_min(1e-6)


def ce_loss(logits: torch.Tensor, y: torch.Tensor, standardise: bool = False) -> torch.Tensor:
    """Cross-entropy with the labels, on the standardised logits when ``standardise``.

    Parameters
    ----------
    logits : torch.Tensor
        ``(N, classes)``.
    y : torch.Tensor
        ``(N,)`` labels.
    standardise : bool
        Use ``logits / std`` (:func:`standardise_logits`), as the group's code does.

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    return F.cross_entropy(standardise_logits(logits) if standardise else logits, y)


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 4.0,
            standardise: bool = False, reduction: str = "window") -> torch.Tensor:
    """Hinton KD: ``T^2 KL(softmax(t / T) || softmax(s / T))``, mean over the batch.

    Parameters
    ----------
    student_logits, teacher_logits : torch.Tensor
        ``(N, classes)``.
    temperature : float
        ``T``; the ``T^2`` factor keeps gradient sizes comparable across temperatures.
    standardise : bool
        The group's logit standardisation: each logit vector is divided by its own std and the
        softmax taken at :data:`STD_TEMPERATURE` (``2 * logits / std``), while the factor stays
        ``T^2`` (16 at ``T = 4``), as in ``TDA_KD/train_ad.py``.
    reduction : {"window", "class_mean"}
        ``"window"``: the KL per window, averaged over the batch (``batchmean``); ``"class_mean"``:
        also divided by the number of classes, as the group's ``nn.KLDivLoss()`` (see
        :data:`KD_REDUCTIONS`).

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    if reduction not in KD_REDUCTIONS:
        raise DistillError(f"unknown KD reduction {reduction!r}; known: {list(KD_REDUCTIONS)}")
    if student_logits.shape != teacher_logits.shape:
        raise DistillError(f"KD needs logits of one shape, got {tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}")
    t = float(temperature)
    if standardise:
        s = standardise_logits(student_logits) / STD_TEMPERATURE
        q = standardise_logits(teacher_logits) / STD_TEMPERATURE
    else:
        s, q = student_logits / t, teacher_logits / t
    log_p_s = F.log_softmax(s, dim=1)
    log_p_t = F.log_softmax(q, dim=1)
    kl = F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True) * t * t
    return kl / student_logits.shape[1] if reduction == "class_mean" else kl


def sp_loss(student_features: torch.Tensor, teacher_features: torch.Tensor) -> torch.Tensor:
    """Similarity-preserving loss (Tung & Mori 2019): ``||G_s - G_t||_F^2 / N^2``.

    ``G = normalise_rows(F F^T)`` is the ``(N, N)`` similarity of the flattened features of the batch,
    so student and teacher may have any (different) feature shapes.

    Parameters
    ----------
    student_features, teacher_features : torch.Tensor
        ``(N, ...)`` each.

    Returns
    -------
    torch.Tensor
        A scalar.
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
    (or space).

    Parameters
    ----------
    student_features, teacher_features : torch.Tensor
        ``(N, C, T...)`` with the same time / space size (channels may differ).

    Returns
    -------
    torch.Tensor
        A scalar.
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
    kts : torch.Tensor
        ``(N, L, K)``.
    kis : sequence of torch.Tensor
        ``(N, K, L)`` each.

    Returns
    -------
    torch.Tensor
        ``(len(kis),)`` distances, averaged over the batch, slots and tokens.
    """
    ref = kts_as_kis(kts)
    for k in kis:
        if k.shape != ref.shape:
            raise DistillError(f"KIS {tuple(k.shape)} does not match KTS^T {tuple(ref.shape)}")
    return torch.stack([(ref - k).pow(2).mean() for k in kis])


def align_loss(kts: torch.Tensor, kis: Sequence[torch.Tensor]) -> torch.Tensor:
    """Alignment ``sum_t MSE(KTS^T, KIS_t)`` with the KIS as targets (detached).

    Parameters
    ----------
    kts : torch.Tensor
        ``(N, L, K)``; the only side the loss trains.
    kis : sequence of torch.Tensor
        ``(N, K, L)`` each; detached, so the alignment cannot move the teachers' maps (left free,
        the workspace satisfies it by flattening every map to uniform).

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    return kis_distances(kts, [k.detach() for k in kis]).sum()


def kis_entropy_loss(kis: Sequence[torch.Tensor]) -> torch.Tensor:
    """Mean entropy of the teachers' KIS relative to uniform (1 = uniform), with its gradient.

    Minimising it rewards slots that claim tokens, the opposite of the flat maps the workspace
    otherwise settles in (an optional term; the paper has none).

    Parameters
    ----------
    kis : sequence of torch.Tensor
        ``(N, K, L)`` each, every column a distribution over the ``K`` slots.

    Returns
    -------
    torch.Tensor
        A scalar in ``[0, 1]``.
    """
    if len(kis) < 1:
        raise DistillError("the KIS entropy needs at least one KIS")
    return torch.stack([entropy_ratio(k, dim=1) for k in kis]).mean()


def dynamic_alpha(kts: torch.Tensor, kis: Sequence[torch.Tensor], floor: float = ALPHA_FLOOR,
                  cap: float = ALPHA_CAP, eps: float = 1e-12, swapped: bool = False) -> torch.Tensor:
    """mGLW-KD's coefficient ``alpha = d_1 / (d_1 + d_2)``, detached and clipped to ``[floor, cap]``.

    ``d_t`` is :func:`kis_distances` for teacher ``t``; alpha weights teacher 1's KD term and
    ``1 - alpha`` teacher 2's. Equal distances (including both zero) give 0.5.

    Parameters
    ----------
    kts : torch.Tensor
        ``(N, L, K)``.
    kis : sequence of torch.Tensor
        The two teachers' ``(N, K, L)``.
    floor, cap : float
        The clipping range.
    eps : float
        Keeps equal zero distances at 0.5.
    swapped : bool
        Reverse the direction: ``alpha = d_2 / (d_1 + d_2)`` (the ablation of the direction).

    Returns
    -------
    torch.Tensor
        A scalar in ``[floor, cap]`` without gradient.
    """
    if len(kis) != 2:
        raise DistillError(f"the dynamic coefficient needs two teachers' KIS, got {len(kis)}")
    d = kis_distances(kts.detach(), [k.detach() for k in kis])
    alpha = (d[1 if swapped else 0] + eps) / (d.sum() + 2 * eps)
    return alpha.clamp(float(floor), float(cap))
