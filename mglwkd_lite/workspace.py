"""The multimodal global latent workspace of mGLW-KD: preprocessing, binding and transfer.

Three small modules, each returning its output and (where it has one) its attention map, and one
module that chains them:

1. :class:`Preprocess` turns one network's last-stage feature maps into tokens: ``L`` tokens
   (the channels) of ``D`` dimensions (flattened time or space), brought to the common ``L x D``
   with Linear-ReLU-Linear projections + LayerNorm where the shape differs, plus learnable
   positional parameters initialised at zero.
2. :class:`SlotAttention` (knowledge binding and refinement, the paper's Theta): ``K`` learned,
   Xavier-initialised slots query both teachers' tokens; the attention is a softmax over the
   *slots* (scaled by ``1 / sqrt(D)`` and divided by :attr:`WorkspaceConfig.attn_temperature`),
   renormalised over the tokens; the two teachers' updates
   are averaged and fed through a GRU cell (the working memory); ``n_iters`` iterations, the last
   one on detached slots. Its attention maps are the **knowledge importance scores** (KIS).
3. :class:`CrossAttention` (knowledge transfer, Omega): multi-head attention with the student's
   tokens as queries and the slots as keys and values, added to the student's tokens (residual).
   Its head-averaged attention is the **knowledge transfer score** (KTS).

:class:`GlobalWorkspace` chains them and returns a :class:`WorkspaceOutput`.

Shapes and the KIS / KTS convention
-----------------------------------
``KIS_t`` has shape ``(N, K, L)``: entry ``[n, k, l]`` is how much slot ``k`` claims token ``l`` of
teacher ``t``; each *column* sums to one over the slots (the slot-attention softmax).
``KTS`` has shape ``(N, L, K)``: entry ``[n, l, k]`` is how much student token ``l`` reads from slot
``k``; each *row* sums to one over the slots. Both are therefore, for every token ``l``, a
distribution over the ``K`` slots; the losses compare ``KTS.transpose(1, 2)`` (shape ``(N, K, L)``)
with ``KIS_t`` entry by entry (see :func:`kts_as_kis`). Token ``l`` is the ``l``-th projected
channel of each network; the comparison relies on the shared positional parameters and the
alignment loss to give the token axis a common meaning, as in the paper.

Heads
-----
The paper's default of 5 heads does not divide the feature dimension met here (``D = 32`` for
128-sample windows). :class:`CrossAttention` therefore gives each head ``ceil(D / heads)`` dimensions
(7 for ``D = 32``: an inner width of 35) and projects back to ``D``, so any head count works with
any ``D`` and no head is narrower than ``D / heads``.

Inference without teachers
--------------------------
The slots are refined from the teachers' tokens, so at test time (no teachers) the workspace uses
``slot_mean``, an exponential moving average of the batch-mean refined slots kept during training
(momentum :attr:`WorkspaceConfig.slot_momentum`). :class:`ResidualStudent` wraps a student with the
student preprocessing and the transfer on those averaged slots, for the "with residual path"
evaluation; the shipped student is the plain network without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

__all__ = [
    "WorkspaceError",
    "WorkspaceConfig",
    "Preprocess",
    "SlotAttention",
    "CrossAttention",
    "GlobalWorkspace",
    "WorkspaceOutput",
    "ResidualStudent",
    "kts_as_kis",
    "entropy_ratio",
    "common_shape",
    "token_shape",
]


class WorkspaceError(ValueError):
    """Invalid workspace settings or feature shapes."""


@dataclass(frozen=True)
class WorkspaceConfig:
    """Settings of the global latent workspace (the paper's class defaults).

    Parameters
    ----------
    num_slots : int
        Number of knowledge slots ``K`` (5).
    num_heads : int
        Heads of the transfer cross-attention (5; each head gets ``ceil(D / heads)`` dims).
    num_iters : int
        Slot-attention iterations (3); the last runs on detached slots.
    working_memory : bool
        Pass the averaged update through a GRU cell (True). False replaces the slots by the update
        itself (plus the MLP), the "no working memory" ablation.
    mlp_hidden : int
        Hidden width of the preprocessing and slot MLPs (100).
    dropout : float
        Dropout in the MLPs and the transfer attention (0.1).
    slot_momentum : float
        EMA momentum of :attr:`GlobalWorkspace.slot_mean` (the slots used without teachers).
    attn_temperature : float
        Temperature of the slot-attention softmax: the logits ``q k^T / sqrt(D)`` are divided by it.
        1.0 is the paper's (and slot attention's) ``1 / sqrt(D)`` scaling. At 1.0 the logits of the
        learned slots spread by about 0.3 over the slots, the near-uniform attention gives every slot
        nearly the same update, and after one GRU step the slots coincide (cosine 0.999): every KIS
        is uniform. A lower temperature keeps the slots competing for the tokens (see the book).
    """

    num_slots: int = 5
    num_heads: int = 5
    num_iters: int = 3
    working_memory: bool = True
    mlp_hidden: int = 100
    dropout: float = 0.1
    slot_momentum: float = 0.05
    attn_temperature: float = 1.0

    def __post_init__(self) -> None:
        for name in ("num_slots", "num_heads", "num_iters", "mlp_hidden"):
            if int(getattr(self, name)) < 1:
                raise WorkspaceError(f"WorkspaceConfig.{name} must be >= 1, got {getattr(self, name)!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise WorkspaceError(f"WorkspaceConfig.dropout must be in [0, 1), got {self.dropout!r}")
        if not 0.0 < self.slot_momentum <= 1.0:
            raise WorkspaceError(f"WorkspaceConfig.slot_momentum must be in (0, 1], got {self.slot_momentum!r}")
        if not self.attn_temperature > 0.0:
            raise WorkspaceError(f"WorkspaceConfig.attn_temperature must be > 0, got {self.attn_temperature!r}")


def token_shape(feature_shape: Sequence[int]) -> tuple[int, int]:
    """Tokens ``(L, D)`` of one sample's feature map: channels x flattened time or space.

    Parameters
    ----------
    feature_shape : sequence of int
        ``(C, T)`` (1-D network) or ``(C, H, W)`` (2-D network), without the batch axis.

    Returns
    -------
    tuple of (int, int)
    """
    shape = tuple(int(s) for s in feature_shape)
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise WorkspaceError(f"feature shape must be (C, T) or (C, H, W) with positive sizes, got {shape}")
    return shape[0], int(math.prod(shape[1:]))


def common_shape(*feature_shapes: Sequence[int]) -> tuple[int, int]:
    """The common token shape ``(L, D)`` of several feature shapes (see :func:`token_shape`).

    Returns
    -------
    tuple of (int, int)
        The smallest token count and the smallest dimension.
    """
    tokens = [token_shape(s) for s in feature_shapes]
    return min(t[0] for t in tokens), min(t[1] for t in tokens)


def _mlp(n_in: int, hidden: int, n_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_out))


class Preprocess(nn.Module):
    """Feature maps ``(N, C, T)`` or ``(N, C, H, W)`` -> tokens ``(N, L, D)``.

    The channels are the tokens and the flattened time (or space) their dimensions. A token count
    ``C != L`` is projected along the token axis and a dimension ``C_dim != D`` along the dimension
    axis, each with Linear-ReLU-Linear; LayerNorm over ``D`` follows when either projection is used.
    Learnable positional parameters ``(L, D)``, initialised at zero, are always added, so a network
    whose shape already is ``L x D`` starts as the identity.

    Parameters
    ----------
    feature_shape : sequence of int
        ``(C, T)`` or ``(C, H, W)`` of the incoming features (no batch axis).
    tokens, dim : int
        The common ``L`` and ``D``.
    hidden : int
        Hidden width of the projections.
    dropout : float
        Dropout inside the projections.
    """

    def __init__(self, feature_shape: Sequence[int], tokens: int, dim: int, hidden: int = 100,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.feature_shape = tuple(int(s) for s in feature_shape)
        self.in_tokens, self.in_dim = token_shape(self.feature_shape)
        self.tokens, self.dim = int(tokens), int(dim)
        self.token_proj = _mlp(self.in_tokens, hidden, self.tokens, dropout) if self.in_tokens != self.tokens else None
        self.dim_proj = _mlp(self.in_dim, hidden, self.dim, dropout) if self.in_dim != self.dim else None
        projected = self.token_proj is not None or self.dim_proj is not None
        self.norm = nn.LayerNorm(self.dim) if projected else nn.Identity()
        self.pos = nn.Parameter(torch.zeros(self.tokens, self.dim))

    @property
    def is_identity_shape(self) -> bool:
        """True when the input already has ``L x D`` tokens (no projection, only the positions)."""
        return self.token_proj is None and self.dim_proj is None

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Tokens ``(N, L, D)`` of ``features`` ``(N, C, T)`` or ``(N, C, H, W)``."""
        if tuple(features.shape[1:]) != self.feature_shape:
            raise WorkspaceError(
                f"Preprocess expects features (N, {', '.join(map(str, self.feature_shape))}), "
                f"got {tuple(features.shape)}"
            )
        x = features.flatten(2)  # (N, C, D_in)
        if self.dim_proj is not None:
            x = self.dim_proj(x)  # (N, C, D)
        if self.token_proj is not None:
            x = self.token_proj(x.transpose(1, 2)).transpose(1, 2)  # (N, L, D)
        return self.norm(x) + self.pos


class SlotAttention(nn.Module):
    """Knowledge binding and refinement: slots attend to several teachers' tokens.

    Parameters
    ----------
    dim : int
        Token dimension ``D``.
    num_sources : int
        Number of teachers whose tokens are bound (2 in mGLW-KD).
    num_slots, num_iters, working_memory, mlp_hidden, dropout
        See :class:`WorkspaceConfig`.
    temperature : float
        :attr:`WorkspaceConfig.attn_temperature` (1.0: the plain ``1 / sqrt(D)`` scaling).

    Notes
    -----
    One iteration, for slots ``S`` ``(N, K, D)`` and teacher ``t`` with tokens ``X_t`` ``(N, L, D)``:
    ``A_t = softmax_K(q(LN(S)) k_t(LN(X_t))^T / (tau sqrt(D)))`` ``(N, K, L)`` (``tau`` the temperature);
    ``U_t = (A_t / sum_L A_t) v_t(LN(X_t))`` ``(N, K, D)``; ``U = mean_t U_t``;
    ``S <- GRU(U, S)`` then ``S <- S + MLP(LN(S))``. Before the last iteration the slots are detached
    and the initial slots re-attached with a straight-through term (``S.detach() + S0 - S0.detach()``,
    as in implicit slot attention), so backpropagation runs through one iteration only yet the learned
    initial slots still receive a gradient. The returned attention maps are those of the last
    iteration.
    """

    def __init__(self, dim: int, num_sources: int = 2, num_slots: int = 5, num_iters: int = 3,
                 working_memory: bool = True, mlp_hidden: int = 100, dropout: float = 0.1,
                 temperature: float = 1.0) -> None:
        super().__init__()
        if num_sources < 1 or num_slots < 1 or num_iters < 1:
            raise WorkspaceError(
                f"need num_sources, num_slots, num_iters >= 1; got {num_sources}, {num_slots}, {num_iters}"
            )
        self.dim, self.num_sources, self.num_iters = int(dim), int(num_sources), int(num_iters)
        self.slots = nn.Parameter(torch.empty(num_slots, dim))
        nn.init.xavier_uniform_(self.slots)
        self.norm_inputs = nn.ModuleList(nn.LayerNorm(dim) for _ in range(num_sources))
        self.to_k = nn.ModuleList(nn.Linear(dim, dim, bias=False) for _ in range(num_sources))
        self.to_v = nn.ModuleList(nn.Linear(dim, dim, bias=False) for _ in range(num_sources))
        self.norm_slots = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.gru = nn.GRUCell(dim, dim) if working_memory else None
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = _mlp(dim, mlp_hidden, dim, dropout)
        if not temperature > 0.0:
            raise WorkspaceError(f"temperature must be > 0, got {temperature!r}")
        self.scale = dim ** -0.5 / float(temperature)

    def forward(self, sources: Sequence[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Refine the slots on the teachers' tokens.

        Parameters
        ----------
        sources : sequence of torch.Tensor
            One token tensor ``(N, L_t, D)`` per teacher (token counts may differ).

        Returns
        -------
        slots : torch.Tensor
            ``(N, K, D)`` refined slots.
        attention : list of torch.Tensor
            One KIS ``(N, K, L_t)`` per teacher; every column sums to one over the slots.
        """
        if len(sources) != self.num_sources:
            raise WorkspaceError(f"SlotAttention was built for {self.num_sources} sources, got {len(sources)}")
        n = sources[0].shape[0]
        for i, x in enumerate(sources):
            if x.dim() != 3 or x.shape[0] != n or x.shape[2] != self.dim:
                raise WorkspaceError(f"source {i} must be (N={n}, L, D={self.dim}), got {tuple(x.shape)}")
        keys, values = [], []
        for norm, to_k, to_v, x in zip(self.norm_inputs, self.to_k, self.to_v, sources):
            x = norm(x)
            keys.append(to_k(x))
            values.append(to_v(x))
        init = self.slots.unsqueeze(0).expand(n, -1, -1)
        slots = init
        attention: list[torch.Tensor] = []
        for it in range(self.num_iters):
            if it == self.num_iters - 1 and self.num_iters > 1:
                slots = slots.detach() + (init - init.detach())
            slots, attention = self._step(slots, keys, values)
        return slots, attention

    def _step(self, slots: torch.Tensor, keys: list[torch.Tensor], values: list[torch.Tensor]):
        q = self.to_q(self.norm_slots(slots))  # (N, K, D)
        updates, attention = [], []
        for k, v in zip(keys, values):
            attn = torch.softmax(torch.einsum("nkd,nld->nkl", q, k) * self.scale, dim=1)  # over slots
            weights = attn / (attn.sum(dim=2, keepdim=True) + 1e-8)  # weighted mean over tokens
            updates.append(torch.einsum("nkl,nld->nkd", weights, v))
            attention.append(attn)
        update = torch.stack(updates).mean(0)  # the two teachers' updates averaged
        if self.gru is not None:
            n, k, d = slots.shape
            slots = self.gru(update.reshape(n * k, d), slots.reshape(n * k, d)).reshape(n, k, d)
        else:
            slots = update
        return slots + self.mlp(self.norm_mlp(slots)), attention


class CrossAttention(nn.Module):
    """Knowledge transfer: multi-head attention of the student's tokens on the slots, residual.

    Parameters
    ----------
    dim : int
        Token dimension ``D`` (queries and slots).
    num_heads : int
        Number of heads; each head has ``ceil(D / num_heads)`` dimensions.
    dropout : float
        Dropout on the attention weights and the output.
    """

    def __init__(self, dim: int, num_heads: int = 5, dropout: float = 0.1) -> None:
        super().__init__()
        if num_heads < 1:
            raise WorkspaceError(f"num_heads must be >= 1, got {num_heads}")
        self.dim, self.num_heads = int(dim), int(num_heads)
        self.head_dim = -(-self.dim // self.num_heads)
        inner = self.head_dim * self.num_heads
        self.norm_q = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(dim, inner, bias=False)
        self.to_v = nn.Linear(dim, inner, bias=False)
        self.out = nn.Linear(inner, dim)
        self.drop_attn = nn.Dropout(dropout)
        self.drop_out = nn.Dropout(dropout)

    def forward(self, queries: torch.Tensor, slots: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Student tokens read from the slots.

        Parameters
        ----------
        queries : torch.Tensor
            Student tokens ``(N, L, D)``.
        slots : torch.Tensor
            ``(N, K, D)``, or ``(K, D)`` shared by the batch (the averaged slots).

        Returns
        -------
        output : torch.Tensor
            ``queries + transfer`` ``(N, L, D)``.
        attention : torch.Tensor
            KTS ``(N, L, K)``, averaged over heads (before dropout); rows sum to one.
        """
        if queries.dim() != 3 or queries.shape[2] != self.dim:
            raise WorkspaceError(f"queries must be (N, L, D={self.dim}), got {tuple(queries.shape)}")
        if slots.dim() == 2:
            slots = slots.unsqueeze(0).expand(queries.shape[0], -1, -1)
        if slots.dim() != 3 or slots.shape[0] != queries.shape[0] or slots.shape[2] != self.dim:
            raise WorkspaceError(f"slots must be (N={queries.shape[0]}, K, D={self.dim}) or (K, D), got {tuple(slots.shape)}")
        n, l, _ = queries.shape
        k = slots.shape[1]
        h, dh = self.num_heads, self.head_dim
        q = self.to_q(self.norm_q(queries)).reshape(n, l, h, dh).transpose(1, 2)  # (N, H, L, dh)
        kv = self.norm_kv(slots)
        key = self.to_k(kv).reshape(n, k, h, dh).transpose(1, 2)  # (N, H, K, dh)
        val = self.to_v(kv).reshape(n, k, h, dh).transpose(1, 2)
        attn = torch.softmax(q @ key.transpose(-1, -2) / math.sqrt(dh), dim=-1)  # (N, H, L, K)
        ctx = (self.drop_attn(attn) @ val).transpose(1, 2).reshape(n, l, h * dh)
        return queries + self.drop_out(self.out(ctx)), attn.mean(dim=1)


def kts_as_kis(kts: torch.Tensor) -> torch.Tensor:
    """KTS ``(N, L, K)`` in the layout of a KIS ``(N, K, L)`` (a transpose), for comparison."""
    return kts.transpose(1, 2)


def entropy_ratio(attention: torch.Tensor, dim: int) -> torch.Tensor:
    """Mean entropy of attention distributions relative to uniform (1 = uniform, 0 = one-hot).

    Parameters
    ----------
    attention : torch.Tensor
        Distributions summing to one along ``dim``: a KIS ``(N, K, L)`` with ``dim=1`` (each token
        over the slots) or a KTS ``(N, L, K)`` with ``dim=2``.
    dim : int
        The axis of the distribution; its size ``K`` gives the uniform entropy ``log K``.

    Returns
    -------
    torch.Tensor
        A scalar: ``mean(-sum p log p) / log K`` (1 when ``K = 1``).
    """
    k = attention.shape[dim]
    if k < 2:
        return torch.ones((), device=attention.device)
    p = attention.clamp_min(1e-12)
    return (-(attention * p.log()).sum(dim=dim)).mean() / math.log(k)


@dataclass
class WorkspaceOutput:
    """What one pass of the workspace returns (``N`` windows, ``K`` slots, ``L x D`` tokens).

    Attributes
    ----------
    slots : torch.Tensor
        ``(N, K, D)`` refined slots.
    kis : tuple of torch.Tensor
        One ``(N, K, L)`` KIS per teacher (columns sum to one over slots).
    kts : torch.Tensor
        ``(N, L, K)`` KTS (rows sum to one over slots).
    student_tokens : torch.Tensor
        ``(N, L, D)`` the student's preprocessed tokens.
    transferred : torch.Tensor
        ``(N, L, D)`` student tokens after the transfer (residual added).
    enhanced_features : torch.Tensor
        ``(N, C_s, T_s)`` the student's own feature map plus the transfer
        (``transferred - student_tokens``), ready for the student's pooling and classifier.
    """

    slots: torch.Tensor
    kis: tuple[torch.Tensor, ...]
    kts: torch.Tensor
    student_tokens: torch.Tensor
    transferred: torch.Tensor
    enhanced_features: torch.Tensor


class GlobalWorkspace(nn.Module):
    """Preprocessing + slot attention over the teachers + transfer to the student.

    Parameters
    ----------
    teacher_shapes : sequence of sequence of int
        Feature shapes (no batch axis) of the teachers, e.g. ``[(192, 32), (64, 16, 16)]``.
    student_shape : sequence of int
        Feature shape of the student, e.g. ``(64, 32)``. The student must have the
        smallest token count and dimension (true for a small student), so its tokens keep its own
        channel and time layout and the transfer can be added back to its feature map.
    cfg : WorkspaceConfig

    Examples
    --------
    >>> ws = GlobalWorkspace([(48, 32), (16, 8, 8)], (16, 32))
    >>> out = ws([torch.randn(2, 48, 32), torch.randn(2, 16, 8, 8)], torch.randn(2, 16, 32))
    >>> tuple(out.kis[0].shape), tuple(out.kts.shape), tuple(out.enhanced_features.shape)
    ((2, 5, 16), (2, 16, 5), (2, 16, 32))
    """

    def __init__(self, teacher_shapes: Sequence[Sequence[int]], student_shape: Sequence[int],
                 cfg: WorkspaceConfig = WorkspaceConfig()) -> None:
        super().__init__()
        if len(teacher_shapes) < 1:
            raise WorkspaceError("need at least one teacher feature shape")
        self.cfg = cfg
        self.tokens, self.dim = common_shape(*teacher_shapes, student_shape)
        if token_shape(student_shape) != (self.tokens, self.dim):
            raise WorkspaceError(
                f"the student's tokens {token_shape(student_shape)} (from features {tuple(student_shape)}) "
                f"must be the smallest, but the common shape is {(self.tokens, self.dim)}: use a student "
                "with no more channels and time steps than each teacher"
            )
        self.teacher_pre = nn.ModuleList(
            Preprocess(s, self.tokens, self.dim, cfg.mlp_hidden, cfg.dropout) for s in teacher_shapes
        )
        self.student_pre = Preprocess(student_shape, self.tokens, self.dim, cfg.mlp_hidden, cfg.dropout)
        self.binding = SlotAttention(self.dim, len(teacher_shapes), cfg.num_slots, cfg.num_iters,
                                     cfg.working_memory, cfg.mlp_hidden, cfg.dropout, cfg.attn_temperature)
        self.transfer = CrossAttention(self.dim, cfg.num_heads, cfg.dropout)
        self.register_buffer("slot_mean", self.binding.slots.detach().clone())

    def forward(self, teacher_features: Sequence[torch.Tensor], student_features: torch.Tensor) -> WorkspaceOutput:
        """Bind the teachers' features into slots and transfer them to the student.

        Parameters
        ----------
        teacher_features : sequence of torch.Tensor
            One feature map per teacher, ``(N, C_t, T_t)`` or ``(N, C_t, H_t, W_t)``.
        student_features : torch.Tensor
            ``(N, C_s, T_s)``.

        Returns
        -------
        WorkspaceOutput

        Notes
        -----
        In training mode the batch-mean refined slots update :attr:`slot_mean` (EMA).
        """
        if len(teacher_features) != len(self.teacher_pre):
            raise WorkspaceError(f"expected {len(self.teacher_pre)} teacher feature maps, got {len(teacher_features)}")
        sources = [pre(f) for pre, f in zip(self.teacher_pre, teacher_features)]
        slots, kis = self.binding(sources)
        if self.training:
            with torch.no_grad():
                self.slot_mean.lerp_(slots.mean(0), self.cfg.slot_momentum)
        tokens = self.student_pre(student_features)
        transferred, kts = self.transfer(tokens, slots)
        enhanced = student_features + (transferred - tokens).reshape(student_features.shape)
        return WorkspaceOutput(slots, tuple(kis), kts, tokens, transferred, enhanced)

    def transfer_without_teachers(self, student_features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Transfer from the training-averaged slots (no teachers needed).

        Parameters
        ----------
        student_features : torch.Tensor
            ``(N, C_s, T_s)``.

        Returns
        -------
        enhanced_features : torch.Tensor
            ``(N, C_s, T_s)`` student features plus the transfer.
        kts : torch.Tensor
            ``(N, L, K)``.
        """
        tokens = self.student_pre(student_features)
        transferred, kts = self.transfer(tokens, self.slot_mean)
        return student_features + (transferred - tokens).reshape(student_features.shape), kts


class ResidualStudent(nn.Module):
    """A student evaluated *with* the workspace's residual path on the training-averaged slots.

    ``forward(x)`` ``(N, C, T)`` -> logits ``(N, classes)``: the student's features, plus the transfer
    from :attr:`GlobalWorkspace.slot_mean`, through the student's own pooling and classifier. Needs
    the student and the workspace, not the teachers. The student must expose ``pool`` and ``fc``
    (as :class:`mglwkd_lite.models.WideResNet` does).
    """

    def __init__(self, student: nn.Module, workspace: GlobalWorkspace) -> None:
        super().__init__()
        self.student = student
        self.workspace = workspace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, feats = self.student(x, return_features=True)
        enhanced, _ = self.workspace.transfer_without_teachers(feats)
        return self.student.fc(torch.flatten(self.student.pool(enhanced), 1))
