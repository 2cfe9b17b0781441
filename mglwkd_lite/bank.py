"""The frozen teachers' outputs on the training windows, looked up by batch index during distillation.

:func:`teacher_bank` runs the teachers once over the training inputs; :class:`TeacherBank` holds their
logits and features and hands out the rows of a batch (``batch["index"]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import nn

from .losses import DistillError
from .train import predict

__all__ = ["TeacherBank", "teacher_bank"]



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
