"""albumentations steps are thread-safe, keyed with full-width seeds, never touch a global random
generator (OpenCV's included), and refuse at construction what can never run (issue 14)."""
import inspect
import pickle
import random
import re
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

import augnoise
from augnoise.image.albu import REFUSED, AlbumentationsStep

IMG = np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8)


def _registry() -> dict:
    from albumentations.core.serialization import SERIALIZABLE_REGISTRY
    from albumentations.core.transforms_interface import BasicTransform

    return {n: c for n, c in SERIALIZABLE_REGISTRY.items() if isinstance(c, type) and issubclass(c, BasicTransform)}


def _accepted_defaults() -> list[AlbumentationsStep]:
    """Every albumentations transform augnoise accepts with its default parameters."""
    steps = []
    for name in sorted(_registry()):
        try:
            steps.append(AlbumentationsStep(name))
        except augnoise.ParamError:
            continue  # refused, or needs parameters
    return steps


def _refused(name: str) -> bool:
    """Whether augnoise refuses ``albumentations.<name>`` whatever its parameters."""
    try:
        AlbumentationsStep(name)
    except augnoise.ParamError as err:
        return "cannot be an augnoise step" in str(err)
    return False


_CV2_GLOBAL = re.compile(r"cv2\.(setRNGSeed|randn|randu|randShuffle|theRNG)\b")


def _albu_functions() -> dict[str, str]:
    """Source of every module-level function of albumentations and albucore, by short name."""
    import albumentations  # noqa: F401

    out = {}
    for mname, mod in list(sys.modules.items()):
        if mod is None or not mname.startswith(("albumentations", "albucore")):
            continue
        for name, f in vars(mod).items():
            if inspect.isfunction(f) and f.__module__ == mname:
                try:
                    out[name] = out.get(name, "") + inspect.getsource(f)
                except OSError:
                    pass
    return out


def _methods_source(cls: type) -> str:
    """Source of every method ``cls`` has from albumentations (its own and inherited)."""
    out = []
    for klass in cls.__mro__:
        for v in vars(klass).values():
            f = getattr(v, "__func__", v)
            if inspect.isfunction(f) and f.__module__.startswith("albumentations"):
                try:
                    out.append(inspect.getsource(f))
                except OSError:
                    pass
    return "".join(out)


def _cv2_draw() -> np.ndarray:
    out = np.zeros(64, np.float64)
    cv2.randu(out, 0.0, 1.0)
    return out


def test_issue14_albu_threads_keyed():
    # one shared step used to set the shared transform's generators and then call it: calls on
    # 4 threads interleaved and 1 to 12 of 400 keys differed from the sequential run per pass
    img = np.random.default_rng(1).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    p = augnoise.loads("seed: 11\nsample:\n  - albumentations.Rotate: {limit: 45, p: 1}\n"
                       "  - albumentations.GaussianBlur: {blur_limit: [3, 7], p: 0.5}\n")
    sequential = [p(img, index=i).tobytes() for i in range(400)]
    assert len(set(sequential)) == 400
    with ThreadPoolExecutor(4) as ex:
        passes = [[x.tobytes() for x in ex.map(lambda i: p(img, index=i), range(400))],
                  [x.tobytes() for x in ex.map(lambda i: p(img, index=i), reversed(range(400)))][::-1],
                  [x.tobytes() for x in ex.map(lambda i: p(img, index=i), range(400))]]
    assert [sum(a != b for a, b in zip(sequential, run)) for run in passes] == [0, 0, 0]


def test_issue14_albu_step_pickles_and_compares_after_threads():
    p = augnoise.loads("seed: 4\nsample:\n  - albumentations.Rotate: {limit: 30, p: 0.7}\n")
    with ThreadPoolExecutor(2) as ex:
        before = [x.tobytes() for x in ex.map(lambda i: p(IMG, index=i), range(20))]
    q = pickle.loads(pickle.dumps(p))
    assert q == p and q.dumps() == p.dumps()
    assert [q(IMG, index=i).tobytes() for i in range(20)] == before
    step = p.sample[0] if hasattr(p, "sample") else None
    if isinstance(step, AlbumentationsStep):
        assert pickle.loads(pickle.dumps(step)) == step


def test_issue14_albu_cv2_global_rng_untouched():
    steps = _accepted_defaults()
    names = {s.name for s in steps}
    assert {"albumentations.ISONoise", "albumentations.ShotNoise", "albumentations.MultiplicativeNoise",
            "albumentations.SaltAndPepper", "albumentations.CoarseDropout", "albumentations.Rotate"} <= names
    assert not names & {f"albumentations.{n}" for n in REFUSED}
    cv2.setRNGSeed(1234)
    expected = _cv2_draw()
    np_state, py_state = np.random.get_state(), random.getstate()
    cv2.setRNGSeed(1234)
    for k, step in enumerate(steps):
        pipe = augnoise.Pipeline(sample=[step], seed=k)
        try:
            pipe(IMG, index=k)
        except augnoise.InputError:
            pass  # default parameters that do not fit a 48x48 image (e.g. Crop to 1024x1024)
    assert np.array_equal(_cv2_draw(), expected), "an accepted albumentations step moved OpenCV's global RNG"
    assert np.array_equal(np.random.get_state()[1], np_state[1]) and random.getstate() == py_state


def test_issue14_albu_gaussnoise_refused():
    for name, pointer in [("GaussNoise", "image.GaussianNoise"), ("AdditiveNoise", "image.GaussianNoise"),
                          ("RGBShift", "no per-channel colour shift yet")]:
        with pytest.raises(augnoise.ParamError, match=rf"albumentations.{name}: cannot be an augnoise step: "
                                                      rf"reseeds OpenCV's global random generator.*{pointer}"):
            AlbumentationsStep(name, p=1.0)
        # why: the albumentations transform itself moves OpenCV's global generator
        import albumentations as A

        t = getattr(A, name)(p=1.0)
        cv2.setRNGSeed(5)
        expected = _cv2_draw()
        cv2.setRNGSeed(5)
        t(image=IMG.copy())
        assert not np.array_equal(_cv2_draw(), expected)
    with pytest.raises(augnoise.ConfigError, match=r"<string>:3: step 1 \(albumentations.GaussNoise\): "
                                                   r"cannot be an augnoise step: .*use image.GaussianNoise"):
        augnoise.loads("seed: 1\nsample:\n  - albumentations.GaussNoise: {std_range: [0.1, 0.2]}\n")
    # every entry of the table is refused, with its pointer, one line each
    for name, (_why, instead) in REFUSED.items():
        with pytest.raises(augnoise.ParamError) as err:
            AlbumentationsStep(name)
        assert instead in str(err.value) and "\n" not in str(err.value)


def test_issue14_albu_global_rng_table_is_complete():
    """Every albumentations transform whose code reaches OpenCV's global generator (directly or
    through albumentations' own functions, followed by name) is refused."""
    funcs = _albu_functions()
    reach = {n for n, src in funcs.items() if _CV2_GLOBAL.search(src)}
    while True:
        calls = re.compile(r"\b(" + "|".join(map(re.escape, reach)) + r")\(")
        more = {n for n, src in funcs.items() if n not in reach and calls.search(src)}
        if not more:
            break
        reach |= more
    assert "generate_noise" in reach  # the scan sees albumentations 2's reseeding helper
    calls = re.compile(r"\b(" + "|".join(map(re.escape, reach)) + r")\(|" + _CV2_GLOBAL.pattern)
    hits = {name for name, cls in _registry().items() if calls.search(_methods_source(cls))}
    assert {"GaussNoise", "AdditiveNoise", "RGBShift"} <= hits
    assert all(name in REFUSED or _refused(name) for name in hits), sorted(hits)


def test_issue14_albu_fda_refused():
    with pytest.raises(augnoise.ParamError, match=r"albumentations.FDA: cannot be an augnoise step: needs metadata "
                                                  r"\(reference images or elements, named by metadata_key\)"):
        AlbumentationsStep("FDA", beta_limit=[0, 0.1])
    cases = {
        "HistogramMatching": "needs metadata", "Mosaic": "needs metadata",
        "MaskDropout": "needs mask with every call",  # targets_as_params
        "RandomCropNearBBox": "needs cropping_bbox with every call",
        "BBoxSafeRandomCrop": "needs bounding boxes",  # reads data["bboxes"]: in the table
        "CenterCrop3D": "acts on volumes", "CubicSymmetry": "acts on volumes",
        "BasicTransform": "base classes", "BaseCrop": "base classes",
    }
    for name, why in cases.items():
        with pytest.raises(augnoise.ParamError, match=rf"albumentations.{name}: cannot be an augnoise step: .*{why}"):
            AlbumentationsStep(name)
    with pytest.raises(augnoise.ConfigError, match=r"step 1 \(albumentations.FDA\): cannot be an augnoise step"):
        augnoise.loads("seed: 1\nsample:\n  - albumentations.FDA: {}\n")


def test_issue14_albu_accepted_needs_only_the_image():
    """No accepted transform reads targets beyond the image (masks, boxes, volumes, metadata)."""
    other = re.compile(r"""data(?:\[|\.get\()\s*["'](mask|masks|bboxes|keypoints|volume)["']""")
    allowed = {"CropNonEmptyMaskIfExists"}  # crops anywhere when no mask is given
    for name, cls in _registry().items():
        if name in allowed or _refused(name):
            continue
        src = inspect.getsource(cls.get_params_dependent_on_data)
        assert not other.search(src), name


def test_issue14_albu_full_width_seed(monkeypatch):
    seeds = []
    default_rng = np.random.default_rng

    def spy(seed=None):
        if isinstance(seed, (int, np.integer)):
            seeds.append(int(seed))
        return default_rng(seed)

    monkeypatch.setattr(np.random, "default_rng", spy)
    img = IMG[:16, :16]
    for name, params in [("ISONoise", {"intensity": [0.3, 0.6], "color_shift": [0.02, 0.05]}), ("ShotNoise", {}),
                         ("CoarseDropout", {"fill": "random", "hole_height_range": [4, 8], "hole_width_range": [4, 8]})]:
        seeds.clear()
        pipe = augnoise.Pipeline(sample=[AlbumentationsStep(name, p=1.0, **params)], seed=21)
        outs = {pipe(img, index=i).tobytes() for i in range(1500)}
        assert len(outs) == 1500, name
        # albumentations gets the step's whole 64-bit key (the top bit is used) ...
        keys = [s for s in seeds if s < 2**64]
        assert len(keys) == 1500 and any(s >= 2**63 for s in keys), name
        # ... and its 32-bit seeds (apply's seed / random_seed) are replaced by ones from that key
        wide = [s for s in seeds if s >= 2**64]
        assert len(wide) == 1500 and len(set(wide)) == 1500, name
        assert all(s >= 2**32 for s in seeds), name


def test_issue14_albu_narrowing_seeds_are_widened():
    """Every accepted transform that narrows its generator to 16 or 32 bits does it through an
    ``apply`` parameter that augnoise replaces by a seed from the whole key."""
    from augnoise.image.albu import _narrow_seed_params

    narrow = re.compile(r"2\s*\*\*\s*(16|31|32)\b")
    hits = {name for name, cls in _registry().items() if narrow.search(_methods_source(cls))}
    assert {"ISONoise", "ShotNoise", "CoarseDropout", "GridDropout", "XYMasking"} <= hits
    for name in sorted(hits):
        if not _refused(name):
            assert _narrow_seed_params(_registry()[name]), name


def test_issue14_albu_classes_without_strict():
    """Transforms whose ``__init__`` albumentations does not wrap (no ``strict``) used to be refused
    with "unexpected keyword argument 'strict'"."""
    for name in ("MedianBlur", "RandomRotate90", "ToSepia"):
        out = augnoise.Pipeline(sample=[AlbumentationsStep(name, p=1.0)], seed=1)(IMG, index=0)
        assert out.shape == IMG.shape
    with pytest.raises(augnoise.ParamError, match=r"albumentations.MedianBlur: .*'bogus'"):
        AlbumentationsStep("MedianBlur", bogus=1)


def test_issue14_albu_run_errors_are_input_errors():
    pipe = augnoise.Pipeline(sample=[AlbumentationsStep("Crop", x_max=100, y_max=100)], seed=1)
    with pytest.raises(augnoise.InputError, match=r"step 1 \(albumentations.Crop\): albumentations could not "
                                                  r"transform field 'image' \(shape \(48, 48, 3\), uint8\): ") as err:
        pipe(IMG, index=0)
    assert "\n" not in str(err.value)


def test_issue14_albu_construction_never_leaks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in _registry():
            try:
                AlbumentationsStep(name)
            except augnoise.ParamError as err:
                assert "\n" not in str(err)
