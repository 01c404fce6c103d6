"""adversarial.FGSM and adversarial.FGSMNoise: declarations (validated like every step)."""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

import numpy as np
from pydantic import Field, WithJsonSchema
from pydantic.functional_validators import BeforeValidator

from ..core.errors import ParamError
from ..core.params import MAX_MAGNITUDE, BaseParams, FloatList, Interval, RangeParam, show
from ..core.transform import Example, Transform

#: variant presets: (alpha as a multiple of eps, init, init scale as a multiple of eps, project)
VARIANTS: dict[str, dict[str, Any]] = {
    "fgsm": {"alpha": 1.0, "init": "none", "init_scale": 0.0, "project": True},
    "seed": {"alpha": 1.0, "init": "none", "init_scale": 0.0, "project": True},  # FGSM, then Gaussian noise
    "rfgsm": {"alpha": 0.5, "init": "sign", "init_scale": 0.5, "project": True},  # Tramer et al. 2018
    "fgsm_rs": {"alpha": 1.25, "init": "uniform", "init_scale": 1.0, "project": True},  # Wong, Rice, Kolter 2020
    "nfgsm": {"alpha": 1.0, "init": "uniform", "init_scale": 2.0, "project": False},  # de Jorge et al. 2022
}


#: smallest per-channel std of a normalisation ``(x - mean) / std``: 1 / std stays <= 1e12
MIN_NORM_STD = 1e-12
#: most dimensions of a batch the channel axis can name (N plus up to 7 more: NCTHW and beyond)
MAX_AXIS = 7


def _check_axis(v: Any) -> Any:
    if isinstance(v, np.integer):
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"must be an integer, got {show(v)}")
    if v == 0 or abs(v) > MAX_AXIS:
        raise ValueError(f"must be an axis of the batch other than the batch axis 0: 1 to {MAX_AXIS} or "
                         f"-{MAX_AXIS} to -1, got {show(v)}")
    return v


ChannelAxis = Annotated[int, BeforeValidator(_check_axis), WithJsonSchema(
    {"type": "integer", "minimum": -MAX_AXIS, "maximum": MAX_AXIS, "not": {"const": 0}})]


class AdversarialParams(BaseParams):
    eps: RangeParam(ge=0, le=1, unit="valid-range units") = Field(8 / 255, description="perturbation budget, in units of the data's valid range (e.g. 8/255 for images in [0, 1])")
    targeted: bool = Field(False, description="move towards `targets` (the loss decreases) instead of away from the true class")
    valid_range: Interval() = Field([0.0, 1.0], description="[lo, hi] of the data, lo < hi; results are clipped into it")
    mean: Optional[FloatList()] = Field(None, description="per-channel mean if the batch is normalised ((x - mean) / std); eps stays in data units")
    std: Optional[FloatList(ge=MIN_NORM_STD)] = Field(None, description="per-channel std of that normalisation (>= 1e-12)")
    channel_axis: ChannelAxis = Field(1, description="channel axis of the batch for mean/std (1 for NCHW; not 0, the batch axis)")


def _example_sample() -> dict[str, Any]:
    return {"image": np.linspace(0.2, 0.8, 16, dtype=np.float32).reshape(1, 4, 4)}


def _example_context() -> dict[str, Any]:
    """A fixed linear classifier on 1x4x4 inputs and six targets (no global RNG touched)."""
    import torch

    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.utils.skip_init(torch.nn.Linear, 16, 3))
    w = np.random.default_rng(0).normal(size=(3, 16)).astype(np.float32)
    with torch.no_grad():
        net[1].weight.copy_(torch.from_numpy(w))
        net[1].bias.zero_()
    return {"model": net, "targets": torch.tensor([0, 1, 2, 0, 1, 2])}


class _Adversarial(Transform):
    modality = "adversarial"
    default_field = "image"
    field_conventions = frozenset({"layout", "range", "normalize"})  # the channel axis and the domain
    needs_model = True
    batch_only = "needs the model: it runs in the batch stage only (move it under batch:)"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        q = self.params
        issues = []
        if (q.mean is None) != (q.std is None):
            issues.append(("std" if q.std is None else "mean", "mean and std go together"))
        elif q.std is not None and len(q.std) != len(q.mean):
            issues.append(("std", f"needs one value per mean value ({len(q.mean)}), got {len(q.std)}: {show(q.std)}"))
        elif q.std is not None:
            lo, hi = q.valid_range
            for c, (m, sd) in enumerate(zip(q.mean, q.std)):
                far = max(abs(lo - m), abs(hi - m)) / sd
                if far > MAX_MAGNITUDE:
                    issues.append(("std", f"channel {c}: the valid range normalised, (valid_range - mean) / std, reaches "
                                          f"{far:.3g}, beyond +-{MAX_MAGNITUDE:g} (finite in float32 arithmetic); "
                                          f"mean {show(m)}, std {show(sd)}"))
                    break
        if issues:
            raise ParamError(self.name, issues)

    def draw(self, r: Any) -> dict[str, Any]:
        noise = getattr(self.params, "noise_std", 0.0)
        return {"eps": r.value(self.params.eps), "noise_std": r.value(noise), "key": r.key(), "key2": r.key()}

    def settings(self) -> dict[str, Any]:
        return {"alpha": 1.0, "init": "none", "init_scale": 0.0, "project": True, "noise_std": 0.0}


class FGSM(_Adversarial):
    """Fast gradient sign method: ``x + eps * sign(grad_x loss)``, clipped to the valid range
    (Goodfellow et al. 2015). Targeted: ``x - eps * sign(grad_x loss(x, target))``."""

    name = "adversarial.FGSM"
    Params = AdversarialParams
    examples = (
        Example({"eps": [0.02, 0.1]}, _example_sample, context=_example_context),
        Example({"eps": 0.05, "targeted": True, "p": 0.7}, _example_sample, context=_example_context, strong=False),
    )


class FGSMNoise(_Adversarial):
    """FGSM with noise, covering the known single-step variants by ``variant``:

    * ``seed``: the FGSM example, then Gaussian noise of ``noise_std`` (the seed recipe);
    * ``rfgsm``: R+FGSM (Tramer et al. 2018): a random sign step of ``alpha`` (default eps/2),
      then FGSM with ``eps - alpha``;
    * ``fgsm_rs``: FGSM from a uniform random start in the eps-ball, step ``alpha = 1.25 eps``,
      projected back to the ball (Wong, Rice, Kolter 2020);
    * ``nfgsm``: N-FGSM (de Jorge et al. 2022): uniform noise of 2 eps, step eps, no projection.

    ``alpha``, ``init`` (none|sign|uniform), ``init_scale`` (multiple of eps) and ``project``
    override the preset; ``noise_std`` (data units) adds Gaussian noise at the end in any
    variant. Everything is clipped to the valid range.
    """

    name = "adversarial.FGSMNoise"
    examples = (
        Example({"eps": 0.05, "variant": "fgsm_rs", "noise_std": 0.01}, _example_sample, context=_example_context),
        Example({"eps": [0.01, 0.05], "variant": "nfgsm", "p": 0.7}, _example_sample, context=_example_context),
        Example({"eps": 0.05, "variant": "rfgsm", "mean": [0.5], "std": [0.25]}, _example_sample, context=_example_context),
    )

    class Params(AdversarialParams):
        variant: Literal["seed", "rfgsm", "fgsm_rs", "nfgsm"] = Field("seed", description="preset: seed | rfgsm | fgsm_rs | nfgsm")
        alpha: Optional[float] = Field(None, ge=0, le=10, description="step size as a multiple of eps (preset if unset)")
        init: Optional[Literal["none", "sign", "uniform"]] = Field(None, description="random start (preset if unset)")
        init_scale: Optional[float] = Field(None, ge=0, le=10, description="random start size as a multiple of eps")
        project: Optional[bool] = Field(None, description="project back into the eps-ball (preset if unset)")
        noise_std: RangeParam(ge=0, le=1, unit="valid-range units") = Field(0.0, description="Gaussian noise added at the end")

    def settings(self) -> dict[str, Any]:
        q = self.params
        out = dict(VARIANTS[q.variant])
        for k in ("alpha", "init", "init_scale", "project"):
            if getattr(q, k) is not None:
                out[k] = getattr(q, k)
        if q.variant == "rfgsm" and q.alpha is None and q.init_scale is not None:
            out["alpha"] = 1.0 - q.init_scale
        out["noise_std"] = q.noise_std
        return out
