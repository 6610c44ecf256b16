"""Transformer pieces shared by the lifter and the decoder, named like the timm modules the authors used
(`qkv`, `proj`, `fc1`, `fc2`) so that their state dicts load unchanged."""

import torch
import torch.nn.functional as F
from torch import nn


class DropPath(nn.Module):
    """Stochastic depth: drops the whole residual branch per sample while training, rescaling the kept ones."""

    def __init__(self, probability: float):
        super().__init__()
        self.probability = probability

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.probability == 0.0:
            return x
        keep = 1.0 - self.probability
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


def drop_path(probability: float) -> nn.Module:
    return DropPath(probability) if probability > 0 else nn.Identity()


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, fused: bool) -> torch.Tensor:
    """Softmax attention over (B, heads, N, d) tensors with scale d**-0.5."""
    if fused:
        return F.scaled_dot_product_attention(q, k, v)
    weights = (q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5
    return weights.softmax(dim=-1) @ v


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    batch, tokens, width = x.shape
    return x.reshape(batch, tokens, heads, width // heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    batch, heads, tokens, head_dim = x.shape
    return x.transpose(1, 2).reshape(batch, tokens, heads * head_dim)


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, fused: bool = False):
        super().__init__()
        self.heads = heads
        self.fused = fused
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, width = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        return self.proj(merge_heads(attend(qkv[0], qkv[1], qkv[2], self.fused)))


class AdaLayerNorm(nn.Module):
    """Layer norm whose scale and shift are predicted from the image feature (paper eq. 3).

    Quirks of the release kept for checkpoint parity: the standard deviation is the unbiased one (N - 1) and eps
    is added to it, not to the variance; gamma and beta are each one Linear from the feature, no activation.
    """

    def __init__(self, dim: int, feature_dim: int, eps: float = 1e-6):
        super().__init__()
        self.mlp_gamma = nn.Linear(feature_dim, dim)
        self.mlp_beta = nn.Linear(feature_dim, dim)
        self.eps = eps

    def forward(self, x: torch.Tensor, feature: torch.Tensor) -> torch.Tensor:
        """x: (B, N, C); feature: (B, feature_dim)."""
        mean = x.mean(-1, keepdim=True)
        centred = x - mean
        # torch.std's generic reduction is 3x slower on a CPU than these element-wise steps (same N - 1 estimate).
        std = (centred.square().sum(-1, keepdim=True) / (x.shape[-1] - 1)).sqrt()
        gamma = self.mlp_gamma(feature).unsqueeze(1)
        beta = self.mlp_beta(feature).unsqueeze(1)
        return gamma * centred / (std + self.eps) + beta
