"""Training loops as people write them: keys through every adapter, epochs from the sampler,
repeated indices, streams, user collate functions, label fields, key reuse."""
import warnings

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, IterableDataset, WeightedRandomSampler

import augnoise
from augnoise.torch import (EpochRepeatWarning, KeyedDataset, KeyedSampler, NoiseTransform, hf_transform,
                            make_loader)

Z = 6.0  # standard errors allowed for the statistical checks below
NOISE = augnoise.loads("seed: 3\nsample:\n  - image.GaussianNoise: {std: 0.1}\n")
FLAT = torch.full((3, 8, 8), 0.5)  # identical inputs: equal outputs would mean a repeated key


class Flat(torch.utils.data.Dataset):
    """(CHW float tensor, label) items, all the same image, with an optional transform chain."""

    def __init__(self, n=12, transform=None):
        self.n, self.transform = n, transform

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        x = FLAT.clone()
        return (self.transform(x) if self.transform else x), i


class Compose:
    """A torchvision-style chain (torchvision is not a dependency)."""

    def __init__(self, ts):
        self.ts = ts

    def __call__(self, x):
        for t in self.ts:
            x = t(x)
        return x


def by_label(loader):
    out = {}
    for x, y in loader:
        for a, b in zip(x, y.tolist()):
            out.setdefault(b, []).append(a.clone())
    return out


# -- explicit keys ---------------------------------------------------------------------------------------------------
def test_a_call_without_an_index_is_an_error_that_says_how_to_key_it():
    with pytest.raises(augnoise.InputError, match=r"needs the sample's key: pass index="):
        NOISE(FLAT)
    assert torch.equal(NOISE(FLAT, index=2), NOISE(FLAT, index=2)) and not torch.equal(NOISE(FLAT, index=2),
                                                                                         NOISE(FLAT, index=3))


def test_noise_transform_in_a_compose_chain_is_keyed_by_the_dataset_position_and_epoch():
    chain = Compose([lambda x: x * 1.0, NoiseTransform(NOISE)])
    ds = KeyedDataset(Flat(12, chain))
    sampler = KeyedSampler(length=len(ds), shuffle=True, seed=1)
    loader = DataLoader(ds, batch_size=4, sampler=sampler, num_workers=2)
    sampler.set_epoch(0)
    e0 = by_label(loader)
    sampler.set_epoch(1)
    e1 = by_label(loader)
    sampler.set_epoch(0)
    e0_again = by_label(loader)
    assert len({v[0].numpy().tobytes() for v in e0.values()}) == 12  # distinct per sample
    for i in range(12):
        assert torch.equal(e0[i][0], NOISE(FLAT, index=i, epoch=0))  # same key, same bytes as the pipeline
        assert torch.equal(e0[i][0], e0_again[i][0]) and not torch.equal(e0[i][0], e1[i][0])
    with pytest.raises(augnoise.InputError, match=r"NoiseTransform does not know which sample it sees: wrap"):
        Flat(2, chain)[0]  # the same chain outside a keyed dataset
    assert torch.equal(NoiseTransform(NOISE)(FLAT, index=5, epoch=2), NOISE(FLAT, index=5, epoch=2))


def test_noise_transform_inside_an_augmented_dataset_is_keyed_too():
    inner = Flat(6, NoiseTransform(NOISE))
    loader = make_loader(inner, augnoise.Pipeline(seed=0), batch_size=3)
    loader.set_epoch(4)
    got = by_label(loader)
    assert all(torch.equal(got[i][0], NOISE(FLAT, index=i, epoch=4)) for i in range(6))


# -- epochs ------------------------------------------------------------------------------------------------------------
ANNEALED = augnoise.loads("""
seed: 2
sample:
  - image.GaussianNoise: {std: 0.05}
batch:
  - gan.InstanceNoise: {std: [0.3, 0.1], epochs: 2, schedule: linear}
""")


class Zeros(torch.utils.data.Dataset):
    def __len__(self):
        return 64

    def __getitem__(self, i):
        return torch.full((3, 16, 16), 0.5), i


def test_sampler_set_epoch_moves_both_stages_as_lightning_calls_it():
    loader = make_loader(Zeros(), ANNEALED, batch_size=64)
    stds, firsts = [], []
    for epoch in range(3):
        loader.sampler.set_epoch(epoch)  # what Lightning and DDP code call
        x, _ = next(iter(loader))
        # the sample stage's noise is std 0.05 and independent of the batch stage's
        stds.append(float(x.std()))
        firsts.append(x[0].clone())
    n = 64 * 3 * 16 * 16
    for got, want in zip(stds, (0.3, 0.2, 0.1)):
        total = (want**2 + 0.05**2) ** 0.5
        assert abs(got - total) < Z * total / np.sqrt(2 * n)
    assert not torch.equal(firsts[0], firsts[1]) and not torch.equal(firsts[1], firsts[2])
    assert loader.epoch == 2


def test_iterating_twice_in_one_epoch_warns_once():
    loader = make_loader(Zeros(), ANNEALED, batch_size=32)
    list(loader)
    with pytest.warns(EpochRepeatWarning, match=r"already iterated in epoch 0: the noise repeats"):
        list(loader)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(loader)  # once only
        loader.set_epoch(1)
        list(loader)


# -- repeats ---------------------------------------------------------------------------------------------------------
class Heavy(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return FLAT.clone(), i


@pytest.mark.parametrize("workers", [0, 2])
def test_a_sampler_with_replacement_gives_each_copy_its_own_noise(workers):
    weights = [1.0, 0.0, 0.0, 0.0]  # index 0 only
    sampler = WeightedRandomSampler(weights, num_samples=8, replacement=True, generator=torch.Generator().manual_seed(0))
    loader = make_loader(Heavy(), NOISE, batch_size=3, sampler=sampler, num_workers=workers)
    copies = by_label(loader)[0]
    assert len(copies) == 8 and len({c.numpy().tobytes() for c in copies}) == 8
    want = [NOISE(FLAT, index=0, epoch=0, occurrence=k) for k in range(8)]
    assert all(torch.equal(c, w) for c, w in zip(copies, want))  # occurrence k for the k-th copy, any workers


def test_repeated_augmentation_keys_do_not_depend_on_the_number_of_ranks():
    def keys(world):
        got = []
        for rank in range(world):
            got += list(KeyedSampler(length=10, shuffle=True, seed=4, repeats=3, num_replicas=world, rank=rank))
        return got
    single = keys(1)
    assert len(single) == 30 and len(set(single)) == 30  # every copy its own key
    assert sorted({(i, o) for _, i, o in single}) == [(i, o) for i in range(10) for o in range(3)]
    for world in (2, 3, 4):
        got = keys(world)
        assert set(got) == set(single)  # padding repeats some keys, as DistributedSampler does
        assert len(got) - len(single) < world


# -- loader breadth -------------------------------------------------------------------------------------------------------
class Stream(IterableDataset):
    def __iter__(self):
        for i in range(10):
            yield FLAT.clone(), i


@pytest.mark.parametrize("workers", [0, 2])
def test_an_iterable_dataset_is_keyed_by_stream_position_and_sharded_across_workers(workers):
    loader = make_loader(Stream(), NOISE, batch_size=3, num_workers=workers)
    loader.set_epoch(1)
    got = by_label(loader)
    assert sorted(got) == list(range(10)) and all(len(v) == 1 for v in got.values())  # no overlap, none lost
    assert all(torch.equal(got[p][0], NOISE(FLAT, index=p, epoch=1)) for p in range(10))
    with pytest.raises(ValueError, match=r"has no indices to sample or shuffle"):
        make_loader(Stream(), NOISE, shuffle=True)
    with pytest.raises(ValueError, match=r"persistent workers would keep"):
        make_loader(Stream(), NOISE, num_workers=1, persistent_workers=True)


class Dicts(torch.utils.data.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return {"image": FLAT.clone(), "label": torch.tensor(i % 3)}


def test_zero_d_tensors_stay_zero_d_and_a_user_collate_fn_and_loader_kwargs_pass_through():
    calls = []

    def collate(items):
        calls.append(len(items))
        return torch.utils.data.default_collate(items)

    loader = make_loader(Dicts(), NOISE, batch_size=4, collate_fn=collate, prefetch_factor=3, num_workers=1,
                         timeout=60)
    batch = next(iter(loader))
    assert batch["label"].shape == (4,) and batch["image"].shape == (4, 3, 8, 8) and calls == []  # in the worker
    assert loader.loader.prefetch_factor == 3 and loader.loader.timeout == 60
    torch.nn.functional.cross_entropy(torch.zeros(4, 3), batch["label"])  # the shape a plain DataLoader gives
    plain = next(iter(make_loader(Dicts(), NOISE, batch_size=4, collate_fn=collate)))
    assert calls == [4] and plain["label"].tolist() == [0, 1, 2, 0]


def test_a_batch_sampler_is_keyed_with_occurrences():
    loader = make_loader(Heavy(), NOISE, batch_sampler=[[0, 1], [0, 2], [0, 0]])
    copies = by_label(loader)[0]
    assert len(copies) == 4 and len({c.numpy().tobytes() for c in copies}) == 4


LABELS = augnoise.loads("seed: 1\nsample:\n  - labels.LabelFlip: {classes: 6, rate: 1.0}\n")


def test_label_steps_take_the_label_position_or_refuse_clearly():
    got = next(iter(make_loader(Flat(6), LABELS, batch_size=6)))
    assert torch.equal(got[0], FLAT.expand(6, 3, 8, 8))  # the image is untouched
    assert all(int(a) != i and 0 <= int(a) < 6 for i, a in enumerate(got[1]))  # rate 1: every label flipped
    with pytest.raises(augnoise.InputError, match=r"label steps act on field 'label' but the items are single arrays"):
        next(iter(make_loader([FLAT] * 3, LABELS, batch_size=3)))


def test_apply_batch_with_the_same_keys_on_new_data_warns_once():
    pipe = augnoise.loads("seed: 1\nsample: []\nbatch:\n  - image.GaussianNoise: {std: 0.1}\n")
    fake = torch.rand(4, 3, 8, 8)
    pipe.apply_batch(fake, range(4))
    pipe.apply_batch(fake, range(4))  # the same batch again: a replay, not a repeat
    with pytest.warns(augnoise.KeyReuseWarning, match=r"same indices, epoch and occurrences on other data"):
        pipe.apply_batch(torch.rand(4, 3, 8, 8), range(4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for step in range(3):
            pipe.apply_batch(torch.rand(4, 3, 8, 8), torch.arange(4) + 4 * (step + 1))


# -- HuggingFace datasets ----------------------------------------------------------------------------------------------
def test_hf_transform_keys_rows_by_position_or_index_column():
    datasets = pytest.importorskip("datasets")
    img = np.full((8, 8, 3), 128, np.uint8)
    features = datasets.Features({"img": datasets.Image(), "label": datasets.Value("int64")})
    ds = datasets.Dataset.from_dict({"img": [img] * 6, "label": list(range(6))}, features=features)  # PIL rows
    ds.set_transform(hf_transform(NOISE, {"img": "image"}))
    sampler = KeyedSampler(length=6)
    sampler.set_epoch(2)
    loader = DataLoader(KeyedDataset(ds), batch_size=3, sampler=sampler, num_workers=2,
                        collate_fn=lambda rows: rows)
    rows = [r for batch in loader for r in batch]
    outs = [r["img"] for r in rows]
    assert len({o.tobytes() for o in outs}) == 6
    assert all(np.array_equal(o, NOISE(img, index=r["label"], epoch=2)) for o, r in zip(outs, rows))
    with pytest.raises(augnoise.InputError, match=r"hf_transform does not know which sample it sees"):
        ds[0]
    indexed = datasets.Dataset.from_dict({"img": [img] * 3, "idx": [7, 8, 9]},
                                         features=datasets.Features({"img": datasets.Image(), "idx": datasets.Value("int64")}))
    indexed.set_transform(hf_transform(NOISE, {"img": "image"}, index_column="idx", epoch=2))
    assert np.array_equal(indexed[1]["img"], NOISE(img, index=8, epoch=2))
    with pytest.raises(augnoise.InputError, match=r"no column 'row'"):
        indexed.with_transform(hf_transform(NOISE, {"img": "image"}, index_column="row"))[0]
