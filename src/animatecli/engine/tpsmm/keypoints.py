"""TPSMM keypoint detector: a ResNet-18 regressing ``5T`` keypoints (no heatmaps, no
Jacobians), spec §1.8 and §2."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..blocks import float32_forward
from ..keypoints import Keypoints


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with batch norm and an identity (or projected) shortcut."""

    # The norms that apply to one convolution's output (`inference.fold_batch_norms`).
    CONV_NORM_PAIRS = (("conv1", "bn1"), ("conv2", "bn2"))

    def __init__(self, in_features: int, out_features: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_features, out_features, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_features)
        self.conv2 = nn.Conv2d(out_features, out_features, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_features)
        self.downsample: nn.Sequential | None = None
        if stride != 1 or in_features != out_features:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_features, out_features, 1, stride, bias=False),
                nn.BatchNorm2d(out_features),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


class ResNet18(nn.Module):
    """The torchvision ResNet-18 layout (same state-dict names), ending in a linear layer
    of ``outputs`` after global average pooling: ``B×C×H×W`` → ``B×outputs``."""

    CONV_NORM_PAIRS = (("conv1", "bn1"),)

    def __init__(self, in_channels: int, outputs: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, 2), BasicBlock(512, 512))
        self.fc = nn.Linear(512, outputs)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of the max pooling and of the four stages (for diagnostics)."""
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, stride=2, padding=1)
        outputs = [x]
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            outputs.append(layer(outputs[-1]))
        return outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.adaptive_avg_pool2d(self.features(x)[-1], 1).flatten(1)
        return self.fc(pooled)


class KeypointDetector(nn.Module):
    """``B×3×S×S`` in ``[0, 1]`` (no mean/std normalisation, full resolution) →
    ``B×5T×2`` keypoints ``2·sigmoid(fc) − 1``, read as consecutive (x, y) pairs.

    It computes in ``compute_dtype`` (None: its weights' dtype) and returns keypoints in
    the image's: on the CPU, `inference.prepare_for_inference` makes it compute in
    float64 (``FLOAT64_ON_CPU``). Its float32 rounding, from the first convolution on,
    was most of TPSMM's distance from a float64 run (4-8× the rest), for about 5% of a
    frame's time.
    """

    FLOAT64_ON_CPU = True
    compute_dtype: torch.dtype | None = None

    def __init__(self, num_tps: int):
        super().__init__()
        self.fg_encoder = ResNet18(3, 10 * num_tps)

    @float32_forward
    def forward(self, image: torch.Tensor) -> Keypoints:
        dtype = self.compute_dtype or self.fg_encoder.fc.weight.dtype
        logits = self.fg_encoder(image.to(dtype))
        value = 2 * torch.sigmoid(logits) - 1
        return Keypoints(value.to(image.dtype).view(value.shape[0], -1, 2))
