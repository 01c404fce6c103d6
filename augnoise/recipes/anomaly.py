"""Anomaly detection recipe, two ways, beside IsolationForest on the same split:

(a) autoencoder reconstruction error (trained on normal samples);
(b) the seed's noise-contrastive idea: a classifier trained to tell normal samples from the
    same samples passed through the pipeline; its probability of "noisy" is the anomaly score.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import InputError
from ..core.files import atomic_write
from ..core.pipeline import Pipeline
from .data import Data, Standardizer, class_code, load_data, split


def _train(model: Any, x: Any, target: Any, loss: Any, epochs: int, seed: int, batch: int = 64, lr: float = 2e-3,
           desc: str = "training") -> Any:
    import sys

    import torch
    from tqdm import tqdm

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = np.random.Generator(np.random.Philox(np.random.SeedSequence(entropy=seed, spawn_key=(5,))))
    model.train()
    for _ in tqdm(range(epochs), desc=desc, unit="epoch", file=sys.stderr, disable=None, leave=False):  # a terminal only
        order = torch.from_numpy(gen.permutation(len(x)))
        for i in range(0, len(x), batch):
            idx = order[i : i + batch]
            opt.zero_grad()
            loss(model(x[idx]), target[idx]).backward()
            opt.step()
    return model.eval()


def detect_anomalies(pipeline: Pipeline, data: str | Data = "digits", *, normal_class: int | str | None = None,
                     anomaly_class: int | str | None = None, epochs: int = 40, out_dir: str | None = None, seed: int = 0,
                     label_column: str | None = None) -> dict[str, Any]:
    """ROC-AUC of the AE score, the noise-contrastive score and IsolationForest.

    Normal samples are class ``normal_class`` (the rest are anomalies), or everything but
    ``anomaly_class``; defaults: digits hold out class 9 as anomalies, breast_cancer takes the
    benign class (1) as normal. 70% of the normal samples train, the rest and all anomalies test.
    """
    import torch
    import torch.nn.functional as F
    from ..core.extras import import_extra

    IsolationForest = import_extra("sklearn.ensemble", "anomaly detection (its IsolationForest scorer)").IsolationForest
    roc_auc_score = import_extra("sklearn.metrics", "anomaly detection (ROC-AUC)").roc_auc_score

    from .models import AutoEncoder, Classifier, seeded

    d = data if isinstance(data, Data) else load_data(data, label_column)
    if d.y is None:
        raise InputError(f"{d.name}: anomaly detection needs labels (digits, breast_cancer, or a CSV with --label-column)")
    if normal_class is not None and anomaly_class is not None:
        raise InputError("give normal_class or anomaly_class, not both (the other classes are the rest)")
    if normal_class is not None:
        normal_class = class_code(d, normal_class, "normal class")
    if anomaly_class is not None:
        anomaly_class = class_code(d, anomaly_class, "anomaly class")
    if normal_class is None and anomaly_class is None:
        if d.name == "digits":
            anomaly_class = 9
        else:
            normal_class = 1 if d.name == "breast_cancer" else int(np.bincount(d.y).argmax())
    normal = d.y == normal_class if normal_class is not None else d.y != anomaly_class
    if normal.all() or not normal.any():
        raise InputError("the chosen class split leaves no normal or no anomalous samples")
    idx_n = np.nonzero(normal)[0]
    tr, te = split(len(idx_n), 0.3, seed)
    train_idx, test_idx = idx_n[tr], np.concatenate([idx_n[te], np.nonzero(~normal)[0]])
    is_anomaly = (~normal[test_idx]).astype(int)
    field = d.field
    if d.kind == "tabular":
        pipeline.fit(features=d.x[train_idx], names=d.names)
        scale = Standardizer(d.x[train_idx])
        prep = lambda a: torch.from_numpy(scale(np.asarray(a)))  # noqa: E731
    else:
        prep = lambda a: torch.from_numpy(np.asarray(a, np.float32))  # noqa: E731
    x_train, x_test = prep(d.x[train_idx]), prep(d.x[test_idx])
    dim = int(np.prod(d.x.shape[1:]))

    ae = _train(seeded(lambda: AutoEncoder(dim, 128, bounded=d.kind == "image"), seed), x_train, x_train,
                F.mse_loss, epochs, seed, desc="anomaly: autoencoder")
    with torch.no_grad():
        ae_score = ((ae(x_test) - x_test) ** 2).flatten(1).mean(1).numpy()

    noisy = prep(np.stack([pipeline({field: d.x[i]}, index=int(i), epoch=0)[field] for i in train_idx]))
    xc = torch.cat([x_train, noisy])
    yc = torch.cat([torch.zeros(len(x_train), dtype=torch.int64), torch.ones(len(noisy), dtype=torch.int64)])
    clf = _train(seeded(lambda: Classifier(dim), seed), xc, yc, F.cross_entropy, epochs, seed + 1,
                 desc="anomaly: noise-contrastive classifier")
    with torch.no_grad():
        nc_score = torch.softmax(clf(x_test), 1)[:, 1].numpy()

    forest = IsolationForest(random_state=seed).fit(x_train.flatten(1).numpy())
    if_score = -forest.score_samples(x_test.flatten(1).numpy())
    scores = {"autoencoder": ae_score, "noise_contrastive": nc_score, "isolation_forest": if_score}
    out: dict[str, Any] = {"data": d.name, "normal_train": len(train_idx), "test_normal": int((is_anomaly == 0).sum()),
                           "test_anomalies": int(is_anomaly.sum())}
    for k, s in scores.items():
        out[f"auc_{k}"] = float(roc_auc_score(is_anomaly, s))
    if out_dir is not None:
        out["histogram"] = str(_histogram(Path(out_dir) / "anomaly_scores.png", scores, is_anomaly, out))
    return out


def _histogram(path: Path, scores: dict[str, np.ndarray], is_anomaly: np.ndarray, res: dict[str, Any]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scipy.stats import rankdata

    # each scorer's scores as percentiles of the test set: one scale for all three (a
    # classifier's probabilities pile up near 0 and 1, a reconstruction error has a long tail)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), sharey=True)
    bins = np.linspace(0, 100, 21)
    for ax, (name, s) in zip(axes, scores.items()):
        pct = 100.0 * (rankdata(s) - 0.5) / len(s)
        ax.hist(pct[is_anomaly == 0], bins=bins, alpha=0.6, label=f"normal ({int((is_anomaly == 0).sum())})")
        ax.hist(pct[is_anomaly == 1], bins=bins, alpha=0.6, label=f"anomaly ({int(is_anomaly.sum())})")
        ax.set_title(f"{name.replace('_', ' ')}: ROC-AUC {res[f'auc_{name}']:.3f}", fontsize=9)
        ax.set_xlabel("score percentile in the test set (higher: more anomalous)", fontsize=8)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("test samples")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return atomic_write(path, buf.getvalue())
