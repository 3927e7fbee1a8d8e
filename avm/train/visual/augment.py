"""On-the-fly picture edits in torch, on batches of gray views [B, 1, H, W] with values in 0..1.

Each function does one edit for a whole batch, with per-view parameters: :func:`render` cuts boxes out of
source frames (crops, pans, zooms, mirror images) with antialiasing; :func:`composite` pastes pictures into
boxes of others (picture-in-picture, logos); :func:`text_band` draws a caption box with glyph-like strokes;
:func:`tone` changes gamma, contrast and brightness; :func:`gaussian_blur` blurs; :func:`add_bars` squeezes
the picture between letterbox/pillarbox bars that decoding did not fully remove; :func:`degrade` imitates
a low-resolution, noisy re-encode. :func:`edit_views` draws a random chain of them per view
(:class:`AugmentOptions`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from avm.config import ranged


@dataclass
class AugmentOptions:
    """Probabilities and ranges of the edits (``train.augment`` of train=visual)."""

    view_size: int = ranged(128, 16)  # views are rendered at the decoded frame size (media.frame_size)
    full_frame: float = ranged(0.5, 0.0, 1.0)  # probability that a pair shows a whole training frame, else a part of it (a pan)
    part_side: tuple[float, float] = (0.55, 1.0)  # side of that part, relative to the frame (each axis)
    clean_anchor: float = ranged(0.5, 0.0, 1.0)  # probability that the first view is left unedited (like a reference)
    jitter: float = ranged(0.04, 0.0, 0.5)  # pan/zoom of both views: up to this fraction of the box (motion between frames)
    flip: float = ranged(0.5, 0.0, 1.0)
    crop: float = ranged(0.6, 0.0, 1.0)  # probability of a crop keeping crop_keep of each side, anywhere
    crop_keep: tuple[float, float] = (0.7, 0.97)
    pip: float = ranged(0.3, 0.0, 1.0)  # picture-in-picture: the view scaled to pip_side of the side (36-90 % of the area)
    pip_side: tuple[float, float] = (0.6, 0.95)
    logo: float = ranged(0.3, 0.0, 1.0)  # a patch of another picture in a corner
    logo_side: tuple[float, float] = (0.10, 0.25)
    logo_opacity: tuple[float, float] = (0.6, 1.0)
    text: float = ranged(0.3, 0.0, 1.0)  # a caption band at the top or bottom
    text_height: tuple[float, float] = (0.05, 0.12)
    bars: float = ranged(0.2, 0.0, 1.0)  # bars left over after decoding (dark, 0-level_max gray), squeezing the picture
    bars_fraction: tuple[float, float] = (0.02, 0.12)  # of the height (width), both bars together
    bars_level: float = ranged(0.12, 0.0, 1.0)
    tone: float = ranged(0.8, 0.0, 1.0)
    gamma: tuple[float, float] = (0.6, 1.6)
    contrast: tuple[float, float] = (0.7, 1.35)
    brightness: float = ranged(0.1, 0.0, 1.0)  # ± added
    blur: float = ranged(0.3, 0.0, 1.0)
    blur_sigma: tuple[float, float] = (0.4, 2.0)  # pixels at view_size
    degrade: float = ranged(0.5, 0.0, 1.0)  # down/up-scaling and noise (a low-resolution, lossy re-encode)
    degrade_scale: tuple[float, float] = (0.3, 0.8)
    noise: float = ranged(0.03, 0.0, 1.0)  # up to this standard deviation


def interp_matrix(lo: torch.Tensor, hi: torch.Tensor, n_out: int, n_in: int, clamp: bool = True) -> torch.Tensor:
    """Resampling matrices [B, n_out, n_in]: output pixel j of row b samples the input around the point
    ``lo + (j + ½)/n_out · (hi - lo)`` (fractions of the input; ``hi < lo`` mirrors). Weights are the overlap of
    the output pixel's footprint (at least one input pixel wide) with each input pixel: area averaging when
    the input is shrunk (as the decoder's scaler), linear interpolation when it is enlarged. Outside the input
    the edge is repeated (``clamp``) or the output is 0 (its row of weights is empty)."""
    j = torch.arange(n_out, device=lo.device, dtype=torch.float32)
    centre = (lo[:, None] + (j[None, :] + 0.5) / n_out * (hi - lo)[:, None]) * n_in - 0.5  # [B, n_out]
    inside = (centre >= -0.5) & (centre <= n_in - 0.5)
    if clamp:
        centre = centre.clamp(0, n_in - 1)
    half = ((hi - lo).abs() * n_in / n_out).clamp_min(1.0)[:, None, None] / 2
    i = torch.arange(n_in, device=lo.device, dtype=torch.float32)[None, None, :]
    c = centre[:, :, None]
    weights = (torch.minimum(c + half, i + 0.5) - torch.maximum(c - half, i - 0.5)).clamp_min(0)
    weights = weights / weights.sum(dim=2, keepdim=True).clamp_min(1e-12)
    return weights if clamp else weights * inside[:, :, None]


def render(sources: torch.Tensor, boxes: torch.Tensor, size: int, flip: torch.Tensor | None = None) -> torch.Tensor:
    """``boxes`` [B, 4] = (x0, y0, x1, y1) in 0..1 of ``sources`` [B, 1, S, S], resampled to [B, 1, size, size]
    (mirrored where ``flip``); separable, antialiased, edges repeated."""
    x0, y0, x1, y1 = boxes.unbind(1)
    if flip is not None:
        x0, x1 = torch.where(flip, x1, x0), torch.where(flip, x0, x1)
    rows = interp_matrix(y0, y1, size, sources.shape[2])
    cols = interp_matrix(x0, x1, size, sources.shape[3])
    return (rows @ sources[:, 0] @ cols.transpose(1, 2)).unsqueeze(1)


def composite(background: torch.Tensor, inset: torch.Tensor, rects: torch.Tensor,
              opacity: torch.Tensor | None = None) -> torch.Tensor:
    """``inset`` [B, 1, h, w] scaled into ``rects`` [B, 4] (0..1 of the canvas) of ``background`` [B, 1, H, W], at
    ``opacity`` [B] (1 = opaque)."""
    x0, y0, x1, y1 = rects.unbind(1)
    # canvas 0..1 seen from the inset: the rect maps onto 0..1 of the inset
    rows = interp_matrix(-y0 / (y1 - y0), (1 - y0) / (y1 - y0), background.shape[2], inset.shape[2], clamp=False)
    cols = interp_matrix(-x0 / (x1 - x0), (1 - x0) / (x1 - x0), background.shape[3], inset.shape[3], clamp=False)
    pasted = (rows @ inset[:, 0] @ cols.transpose(1, 2)).unsqueeze(1)
    mask = (rows.sum(dim=2)[:, :, None] * cols.sum(dim=2)[:, None, :]).unsqueeze(1)
    if opacity is not None:
        mask = mask * opacity.view(-1, 1, 1, 1)
    return background * (1 - mask) + pasted * mask


def text_band(x: torch.Tensor, height: torch.Tensor, top: torch.Tensor, generator: torch.Generator | None = None,
              box_alpha: float = 0.5) -> torch.Tensor:
    """A caption over ``x`` [B, 1, H, W]: a half-transparent black band of ``height`` [B] (fraction of H) at the top
    (``top`` [B] bool) or bottom, with white glyph-like strokes (random on-cells of a 5-row grid) in a run of
    random length."""
    b, _, h, w = x.shape
    device = x.device
    rows = torch.arange(h, device=device, dtype=torch.float32)[None, :] / h
    band_h = height.view(-1, 1)
    start = torch.where(top.view(-1, 1), torch.full_like(band_h, 0.02), 0.98 - band_h)
    in_band = ((rows >= start) & (rows < start + band_h)).float()  # [B, H]
    # glyph cells: 5 rows across the band, 3 columns per character of about 0.6 band height
    cells_y = ((rows - start) / band_h * 5).clamp(0, 4.999).long()  # [B, H]
    char_w = (band_h * h * 0.6 / w).clamp_min(1.0 / w)  # character width as a fraction of W
    cols = torch.arange(w, device=device, dtype=torch.float32)[None, :] / w  # [1, W]
    text_start = torch.rand(b, 1, generator=generator, device=device) * 0.4
    text_len = 0.3 + torch.rand(b, 1, generator=generator, device=device) * 0.6
    cells_x = ((cols - text_start) / (char_w / 3)).floor().clamp(0, 511).long()  # [B, W]
    in_text = ((cols >= text_start) & (cols < text_start + text_len)).float()
    bits = torch.rand(b, 5, 512, generator=generator, device=device) < 0.45
    spaces = (torch.arange(512, device=device) % 3 == 2)[None, None, :]  # a gap column after every 2 glyph columns
    bits = bits & ~spaces
    strokes = bits[torch.arange(b, device=device)[:, None, None], cells_y[:, :, None], cells_x[:, None, :]].float()
    strokes = strokes * in_band[:, :, None] * in_text[:, None, :]
    band = in_band[:, None, :, None]
    out = x * (1 - box_alpha * band)
    return torch.maximum(out, strokes[:, None])


def tone(x: torch.Tensor, gamma: torch.Tensor, contrast: torch.Tensor, brightness: torch.Tensor) -> torch.Tensor:
    """Contrast around mid-gray and brightness, clipped to 0..1, then the power ``gamma`` (all [B]): the order of
    ffmpeg's ``eq`` filter (whose ``gamma=g`` is the power 1/g)."""
    v = lambda t: t.view(-1, 1, 1, 1)  # noqa: E731
    return (((x - 0.5) * v(contrast) + 0.5 + v(brightness)).clamp(0, 1)) ** v(gamma)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur with a standard deviation of ``sigma`` [B] pixels per view (reflected edges)."""
    b, c, h, w = x.shape
    radius = int(torch.ceil(3 * sigma.max()).item()) if len(sigma) else 0
    if radius < 1:
        return x
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (t[None, :] / sigma[:, None].clamp_min(1e-3)) ** 2)
    kernel = kernel / kernel.sum(dim=1, keepdim=True)  # [B, K]
    y = F.pad(x.reshape(1, b * c, h, w), (radius, radius, radius, radius), mode="reflect")
    k = kernel.repeat_interleave(c, dim=0)
    y = F.conv2d(y, k[:, None, None, :], groups=b * c)
    y = F.conv2d(y, k[:, None, :, None], groups=b * c)
    return y.reshape(b, c, h, w)


def add_bars(x: torch.Tensor, fraction: torch.Tensor, vertical: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
    """Squeeze the picture so that two bars of gray ``level`` [B] take ``fraction`` [B] of the height (letterbox) or,
    where ``vertical``, of the width (pillarbox)."""
    half = fraction / 2
    zeros, ones = torch.zeros_like(half), torch.ones_like(half)
    rects = torch.stack([torch.where(vertical, half, zeros), torch.where(vertical, zeros, half),
                         torch.where(vertical, 1 - half, ones), torch.where(vertical, ones, 1 - half)], dim=1)
    return composite(level.view(-1, 1, 1, 1).expand_as(x).contiguous(), x, rects)


def degrade(x: torch.Tensor, scale: torch.Tensor, noise: torch.Tensor, generator: torch.Generator | None = None,
            levels: int = 4) -> torch.Tensor:
    """Down-scale to ``scale`` [B] of the size (area; rounded to one of ``levels`` sizes), up-scale back
    (bilinear), add Gaussian noise of standard deviation ``noise`` [B], quantise to 8 bits."""
    b, _, h, w = x.shape
    out = x.clone()
    grid = torch.linspace(float(scale.min()), float(scale.max()), levels) if len(scale) else torch.zeros(0)
    nearest = (scale[:, None].cpu() - grid[None, :]).abs().argmin(dim=1) if len(scale) else scale
    for i, s in enumerate(grid.tolist()):
        rows = torch.nonzero(nearest == i).flatten().to(x.device)
        if len(rows):
            small = F.interpolate(x[rows], size=(max(8, round(h * s)), max(8, round(w * s))), mode="area")
            out[rows] = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    out = out + noise.view(-1, 1, 1, 1) * torch.randn(out.shape, generator=generator, device=x.device)
    return (out.clamp(0, 1) * 255).round() / 255


@dataclass
class Draw:
    """Random draws for a batch: numpy for choices, a torch generator for pixels."""

    rng: np.random.Generator
    generator: torch.Generator | None
    device: torch.device

    def mask(self, rows: np.ndarray | int, p: float) -> np.ndarray:
        n = rows if isinstance(rows, int) else len(rows)
        chosen = self.rng.random(n) < p
        return chosen if isinstance(rows, int) else chosen & rows

    def uniform(self, low: float, high: float, n: int) -> torch.Tensor:
        return torch.as_tensor(self.rng.uniform(low, high, n), dtype=torch.float32, device=self.device)

    def index(self, mask: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.flatnonzero(mask)).to(self.device)


def jitter_boxes(boxes: torch.Tensor, amount: float, draw: Draw) -> torch.Tensor:
    """Boxes panned by up to ``amount`` of their size and zoomed by up to ±``amount``, kept inside 0..1."""
    n = len(boxes)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]) / 2 * (1 + draw.uniform(-amount, amount, n))[:, None]
    centre = centre + 2 * half * draw.uniform(-amount, amount, 2 * n).view(n, 2)
    half = half.clamp(max=0.5)
    centre = torch.maximum(torch.minimum(centre, 1 - half), half)
    return torch.cat([centre - half, centre + half], dim=1)


def crop_boxes(boxes: torch.Tensor, keep: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """Sub-boxes keeping ``keep`` [B] of each side of ``boxes``, placed at ``where`` [B, 2] (0..1) inside them."""
    size = boxes[:, 2:] - boxes[:, :2]
    start = boxes[:, :2] + size * (1 - keep[:, None]) * where
    return torch.cat([start, start + size * keep[:, None]], dim=1)


def random_rects(side: torch.Tensor, draw: Draw, corner: bool = False, margin: float = 0.03) -> torch.Tensor:
    """Square-ish rects [B, 4] of ``side`` [B] (fraction of the canvas), anywhere or (``corner``) in a corner."""
    n = len(side)
    if corner:
        pos = torch.as_tensor(draw.rng.integers(0, 2, (n, 2)), dtype=torch.float32, device=side.device)
        start = margin + pos * (1 - 2 * margin - side[:, None])
    else:
        start = draw.uniform(0, 1, 2 * n).view(n, 2) * (1 - side[:, None])
    return torch.cat([start, start + side[:, None]], dim=1)


def edit_views(views: torch.Tensor, edited: np.ndarray, opts: AugmentOptions, others: torch.Tensor,
               draw: Draw) -> torch.Tensor:
    """Apply a random chain (picture-in-picture → logo → text → bars → tone → blur → degrade) to the rows of
    ``views`` [B, 1, H, W] where ``edited``; ``others`` [B, 1, H, W] are unrelated pictures (backgrounds for
    picture-in-picture, logo patches). Geometry (crop, pan, zoom, mirror) is applied when views are rendered
    (:mod:`avm.train.visual.pairs`)."""
    x = views.clone()

    def apply(p: float, edit) -> None:
        rows = draw.mask(edited, p)
        if rows.any():
            idx = draw.index(rows)
            x[idx] = edit(x[idx], idx, len(idx))

    apply(opts.pip, lambda v, idx, n: composite(others[idx], v, random_rects(draw.uniform(*opts.pip_side, n), draw)))
    apply(opts.logo, lambda v, idx, n: composite(v, others[idx].flip(0) if n > 1 else others[idx],
                                                 random_rects(draw.uniform(*opts.logo_side, n), draw, corner=True),
                                                 draw.uniform(*opts.logo_opacity, n)))
    apply(opts.text, lambda v, idx, n: text_band(v, draw.uniform(*opts.text_height, n),
                                                 torch.from_numpy(draw.rng.random(n) < 0.5).to(v.device),
                                                 draw.generator))
    apply(opts.bars, lambda v, idx, n: add_bars(v, draw.uniform(*opts.bars_fraction, n),
                                                torch.from_numpy(draw.rng.random(n) < 0.5).to(v.device),
                                                draw.uniform(0, opts.bars_level, n)))
    apply(opts.tone, lambda v, idx, n: tone(v, torch.exp(draw.uniform(*np.log(opts.gamma), n)),
                                            draw.uniform(*opts.contrast, n),
                                            draw.uniform(-opts.brightness, opts.brightness, n)))
    apply(opts.blur, lambda v, idx, n: gaussian_blur(v, draw.uniform(*opts.blur_sigma, n)))
    apply(opts.degrade, lambda v, idx, n: degrade(v, draw.uniform(*opts.degrade_scale, n),
                                                  draw.uniform(0, opts.noise, n), draw.generator))
    return x
