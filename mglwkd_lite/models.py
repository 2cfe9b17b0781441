"""Pre-activation WideResNets in 1-D (signals) and 2-D (persistence images) from one implementation.

The architecture is the standard WRN-d-k of Zagoruyko & Komodakis (2016) as used by the paper's
group: a 3-tap convolution stem with 16 channels, three groups of ``n = (d - 4) / 6`` pre-activation
basic blocks (BN-ReLU-conv3, BN-ReLU-conv3) of widths ``16k, 32k, 64k``, a bias-free 1x1 shortcut
convolution where the shape changes, a final BN-ReLU, global average pooling and a linear layer.
Strides are ``[1, 1, 2, 2]`` (stem, group 1, group 2, group 3), so a 128-sample window leaves the
last group with 32 time steps and a 64 x 64 image with 16 x 16 pixels.

All convolutions are bias-free with kernel 3 (stem and blocks) or 1 (shortcuts); only the final
linear layer has a bias. With these choices the parameter counts of the group's released PAMAP2
checkpoints are reproduced exactly (``tests/test_models.py``), e.g. 63,020 for a 1-D WRN16-1 with 40
input channels and 12 classes.

The 1-D and 2-D networks differ only in their layer classes (``Conv1d``/``BatchNorm1d`` versus
``Conv2d``/``BatchNorm2d``), passed to the shared :class:`WideResNet` through :class:`Ops`.

Examples
--------
>>> import torch
>>> net = wrn1d(16, 1, in_channels=3, num_classes=6)
>>> logits, feats = net(torch.zeros(2, 3, 128), return_features=True)
>>> tuple(logits.shape), tuple(feats.shape)
((2, 6), (2, 64, 32))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = [
    "ModelError",
    "Ops",
    "OPS",
    "ModelSpec",
    "PreActBlock",
    "WideResNet",
    "wrn1d",
    "wrn2d",
    "build_model",
    "count_parameters",
    "count_macs",
    "PAPER_PARAMETER_COUNTS",
]


class ModelError(ValueError):
    """An invalid architecture setting (depth, width, channels, input shape)."""


@dataclass(frozen=True)
class Ops:
    """The layer classes that make a WideResNet 1-D or 2-D.

    Attributes
    ----------
    dim : int
        1 or 2.
    conv, bn, pool : type of torch.nn.Module
        Convolution, batch norm and adaptive average pooling of that dimension.
    """

    dim: int
    conv: type[nn.Module]
    bn: type[nn.Module]
    pool: type[nn.Module]


OPS = {
    1: Ops(1, nn.Conv1d, nn.BatchNorm1d, nn.AdaptiveAvgPool1d),
    2: Ops(2, nn.Conv2d, nn.BatchNorm2d, nn.AdaptiveAvgPool2d),
}


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild a network (stored in checkpoints and used in cache keys).

    Parameters
    ----------
    dim : int
        1 for signals ``(N, C, T)``, 2 for images ``(N, C, H, W)``.
    depth : int
        WRN depth ``d`` (16, 22, 28, 40, ...; ``(d - 4)`` divisible by 6).
    width : int
        Widening factor ``k``.
    in_channels, num_classes : int
        Input channels and output classes.
    dropout : float
        Dropout rate between the two convolutions of a block (0 in the group's runs).
    """

    dim: int
    depth: int
    width: int
    in_channels: int
    num_classes: int
    dropout: float = 0.0

    @property
    def name(self) -> str:
        """Short name such as ``"WRN16-1 (1-D)"``."""
        return f"WRN{self.depth}-{self.width} ({self.dim}-D)"


class PreActBlock(nn.Module):
    """Pre-activation basic block: BN-ReLU-conv3(stride) then BN-ReLU-(dropout)-conv3.

    When the number of channels or the stride changes, the shortcut is a bias-free 1x1 convolution
    applied to the pre-activated input (as in the reference WRN code); otherwise it is the identity.
    """

    def __init__(self, ops: Ops, c_in: int, c_out: int, stride: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.bn1 = ops.bn(c_in)
        self.conv1 = ops.conv(c_in, c_out, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = ops.bn(c_out)
        self.conv2 = ops.conv(c_out, c_out, kernel_size=3, stride=1, padding=1, bias=False)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.shortcut = (
            ops.conv(c_in, c_out, kernel_size=1, stride=stride, padding=0, bias=False)
            if (c_in != c_out or stride != 1)
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = torch.relu(self.bn1(x))
        out = self.conv1(pre)
        out = self.conv2(self.dropout(torch.relu(self.bn2(out))))
        return out + (x if self.shortcut is None else self.shortcut(pre))


class WideResNet(nn.Module):
    """A pre-activation WideResNet for 1-D or 2-D inputs.

    Parameters
    ----------
    spec : ModelSpec
        Dimension, depth, width, channels, classes, dropout.

    Raises
    ------
    ModelError
        For an invalid depth, width, channel or class count, or dropout.

    Notes
    -----
    ``forward(x)`` returns logits ``(N, num_classes)``; ``forward(x, return_features=True)`` returns
    ``(logits, features)`` with the last-stage feature maps after the final BN-ReLU, right before
    pooling: ``(N, 64k, T / 4)`` in 1-D, ``(N, 64k, H / 4, W / 4)`` in 2-D (lengths rounded up).
    """

    strides = (1, 1, 2, 2)  # stem, group 1, group 2, group 3

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        if spec.dim not in OPS:
            raise ModelError(f"dim must be 1 or 2, got {spec.dim!r}")
        if spec.depth < 10 or (spec.depth - 4) % 6 != 0:
            raise ModelError(f"WRN depth must be 6n + 4 with n >= 1 (10, 16, 22, 28, ...), got {spec.depth!r}")
        if spec.width < 1 or spec.in_channels < 1 or spec.num_classes < 2:
            raise ModelError(
                f"need width >= 1, in_channels >= 1, num_classes >= 2; got width={spec.width}, "
                f"in_channels={spec.in_channels}, num_classes={spec.num_classes}"
            )
        if not 0.0 <= spec.dropout < 1.0:
            raise ModelError(f"dropout must be in [0, 1), got {spec.dropout!r}")
        self.spec = spec
        ops = OPS[spec.dim]
        n = (spec.depth - 4) // 6
        widths = (16, 16 * spec.width, 32 * spec.width, 64 * spec.width)
        self.stem = ops.conv(spec.in_channels, widths[0], kernel_size=3, stride=self.strides[0], padding=1, bias=False)
        groups = []
        for g in range(3):
            blocks = [
                PreActBlock(ops, widths[g] if b == 0 else widths[g + 1], widths[g + 1],
                            self.strides[g + 1] if b == 0 else 1, spec.dropout)
                for b in range(n)
            ]
            groups.append(nn.Sequential(*blocks))
        self.groups = nn.Sequential(*groups)
        self.bn = ops.bn(widths[3])
        self.pool = ops.pool(1)
        self.fc = nn.Linear(widths[3], spec.num_classes)
        self.feature_channels = widths[3]
        self._init_weights()

    def _init_weights(self) -> None:
        # The reference WRN initialisation: He-normal convolutions, unit BN, zero linear bias.
        for m in self.modules():
            if isinstance(m, (nn.Conv1d, nn.Conv2d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        """Logits ``(N, classes)``, or ``(logits, features)`` when ``return_features``."""
        if x.dim() != self.spec.dim + 2 or x.shape[1] != self.spec.in_channels:
            expected = "(N, C, T)" if self.spec.dim == 1 else "(N, C, H, W)"
            raise ModelError(
                f"{self.spec.name} expects input {expected} with C={self.spec.in_channels}, "
                f"got shape {tuple(x.shape)}"
            )
        feats = torch.relu(self.bn(self.groups(self.stem(x))))
        logits = self.fc(torch.flatten(self.pool(feats), 1))
        return (logits, feats) if return_features else logits


def build_model(spec: ModelSpec) -> WideResNet:
    """Build the network described by ``spec``.

    Parameters
    ----------
    spec : ModelSpec

    Returns
    -------
    WideResNet
        Freshly initialised (the caller seeds first for fixed weights).
    """
    return WideResNet(spec)


def wrn1d(depth: int, width: int, in_channels: int, num_classes: int, dropout: float = 0.0) -> WideResNet:
    """1-D pre-activation WRN-``depth``-``width`` for windows ``(N, in_channels, T)``."""
    return WideResNet(ModelSpec(1, depth, width, in_channels, num_classes, dropout))


def wrn2d(depth: int, width: int, in_channels: int, num_classes: int, dropout: float = 0.0) -> WideResNet:
    """2-D pre-activation WRN-``depth``-``width`` for images ``(N, in_channels, H, W)``."""
    return WideResNet(ModelSpec(2, depth, width, in_channels, num_classes, dropout))


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters.

    Parameters
    ----------
    model : torch.nn.Module
    trainable_only : bool
        Count only those with ``requires_grad``.

    Returns
    -------
    int
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_macs(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-accumulates of one forward pass on a zero tensor of ``input_shape``.

    Counted by :class:`torch.utils.flop_counter.FlopCounterMode` (convolutions and matrix products;
    MACs = FLOPs / 2). Batch norm, ReLU and pooling are not counted, as is customary. Pass a batch
    size of 1 for a per-window figure, e.g. ``(1, 3, 128)``.

    Parameters
    ----------
    model : torch.nn.Module
    input_shape : sequence of int
        With the batch axis.

    Returns
    -------
    int
    """
    param = next(model.parameters())
    x = torch.zeros(tuple(int(s) for s in input_shape), dtype=param.dtype, device=param.device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops()) // 2


#: Parameter counts of the group's released checkpoints (40 channels, 12 classes: PAMAP2) and of the
#: same architectures for 3 channels and 14 classes (GENEActiv): ``(dim, depth, width, in, classes)``.
PAPER_PARAMETER_COUNTS: dict[tuple[int, int, int, int, int], int] = {
    (1, 16, 1, 40, 12): 63_020,
    (1, 28, 1, 40, 12): 128_428,
    (2, 16, 1, 40, 12): 180_524,
    (2, 28, 1, 40, 12): 374_956,
    (1, 16, 1, 3, 14): 61_374,
    (1, 16, 3, 3, 14): 536_254,
    (2, 16, 1, 3, 14): 175_326,
    (2, 16, 3, 3, 14): 1_550_302,
}
