"""DataLoader determinism: the augmented tensors for (seed, epoch, index) never depend on the
worker count, persistence, batch size, batching path or rank."""

import numpy as np
import pytest
import torch
from torch.utils.data import DistributedSampler

import augnoise
from augnoise.torch import AugmentedDataset, make_loader

PIPE = augnoise.loads("""
seed: 21
sample:
  - image.GaussianNoise: {std: [0.02, 0.1], p: 0.9}
  - OneOf:
      transforms:
        - image.SaltAndPepper: {amount: 0.05}
        - image.SpeckleNoise: {std: 0.2}
batch: []
""")


class Images:
    """A map-style dataset of (image, label) tuples."""

    def __init__(self, n=24):
        rng = np.random.default_rng(0)
        self.x = rng.integers(0, 256, (n, 12, 12, 3), dtype=np.uint8)
        self.y = np.arange(n)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], int(self.y[i])


def collect(loader, epoch=0):
    loader.set_epoch(epoch)
    out = {}
    for images, labels in loader:
        for img, lab in zip(images, labels):
            out[int(lab)] = img.clone()
    return out


REFERENCE = None


def reference():
    global REFERENCE
    if REFERENCE is None:
        ds = Images()
        REFERENCE = {i: torch.from_numpy(PIPE(ds.x[i], index=i, epoch=0)) for i in range(len(ds))}
    return REFERENCE


@pytest.mark.parametrize("workers, persistent, batch_size", [
    (0, False, 1), (0, False, 5), (1, False, 4), (1, True, 7), (2, False, 3), (2, True, 8), (4, False, 6), (4, True, 2),
])
def test_same_bytes_for_any_worker_count_and_batch_size(workers, persistent, batch_size):
    loader = make_loader(Images(), PIPE, batch_size=batch_size, shuffle=True, num_workers=workers,
                         persistent_workers=persistent)
    got = collect(loader)
    ref = reference()
    assert sorted(got) == sorted(ref)
    assert all(torch.equal(got[i], ref[i]) for i in ref)


def test_epochs_differ_and_persistent_workers_see_the_new_epoch():
    loader = make_loader(Images(), PIPE, batch_size=4, num_workers=2, persistent_workers=True)
    e0, e1, e0_again = collect(loader, 0), collect(loader, 1), collect(loader, 0)
    assert all(torch.equal(e0[i], e0_again[i]) for i in e0)
    assert sum(torch.equal(e0[i], e1[i]) for i in e0) == 0
    ds = Images()
    assert all(torch.equal(e1[i], torch.from_numpy(PIPE(ds.x[i], index=i, epoch=1))) for i in e1)


def test_workers_never_repeat_each_others_noise():
    ds = Images(16)
    ds.x[:] = 128  # identical inputs: any repeated noise would show as equal outputs
    pipe = augnoise.Pipeline(sample=[augnoise.get_transform("image.GaussianNoise")(std=0.1)], seed=1)
    got = collect(make_loader(ds, pipe, batch_size=2, num_workers=4))
    flat = [got[i].numpy().tobytes() for i in got]
    assert len(set(flat)) == 16


def test_shuffle_order_is_keyed_by_seed_and_epoch():
    def order(seed, epoch):
        loader = make_loader(Images(), PIPE, batch_size=24, shuffle=True, seed=seed)
        loader.set_epoch(epoch)
        return next(iter(loader))[1].tolist()
    assert order(1, 0) == order(1, 0) != order(1, 1)
    assert order(1, 0) != order(2, 0) and sorted(order(1, 0)) == list(range(24))


def test_distributed_sampler_ranks_match_single_process():
    ref = reference()
    seen = {}
    for world in (2, 3):
        for rank in range(world):
            sampler = DistributedSampler(Images(), num_replicas=world, rank=rank, shuffle=True, seed=5)
            loader = make_loader(Images(), PIPE, batch_size=3, num_workers=1, sampler=sampler)
            part = collect(loader)
            for i, img in part.items():
                assert torch.equal(img, ref[i])
                seen.setdefault(world, set()).add(i)
    assert seen[2] == seen[3] == set(ref)


def test_getitems_batched_path_equals_item_path():
    ds = AugmentedDataset(Images(), PIPE)
    keys = [(3, i) for i in (5, 0, 17, 9, 9)]
    batched = ds.__getitems__(keys)
    single = [ds[k] for k in keys]
    assert all(np.array_equal(a[0], b[0]) and a[1] == b[1] for a, b in zip(batched, single))
    plain = AugmentedDataset(Images(), PIPE, batched=False)
    loader_a = make_loader(Images(), PIPE, batch_size=5, num_workers=2)
    loader_b = make_loader(Images(), PIPE, batch_size=5, num_workers=2, batched=False)
    a, b = collect(loader_a), collect(loader_b)
    assert all(torch.equal(a[i], b[i]) for i in a) and plain.__getitems__ is None


def test_dict_and_tensor_items_keep_their_structure():
    class Dicts(Images):
        def __getitem__(self, i):  # torchvision-style CHW tensors
            return {"img": torch.from_numpy(self.x[i]).permute(2, 0, 1), "label": i}

    pipe = augnoise.Pipeline(sample=[augnoise.get_transform("image.GaussianNoise")(std=0.1)], seed=2)
    ds = AugmentedDataset(Dicts(), pipe, fields={"img": "image"})
    item = ds[(0, 4)]
    assert set(item) == {"img", "label"} and isinstance(item["img"], torch.Tensor) and item["label"] == 4
    # a CHW tensor gets the noise of the same image as a numpy HWC array
    assert torch.equal(item["img"], torch.from_numpy(pipe(Images().x[4], index=4)).permute(2, 0, 1))
    batch = next(iter(make_loader(Dicts(), pipe, batch_size=4, fields={"img": "image"})))
    assert batch["img"].shape == (4, 3, 12, 12) and batch["label"].tolist() == [0, 1, 2, 3]
