"""Recipes built on the same pipelines: a denoising autoencoder, anomaly detection, and noise
regularisers beyond the input (weights, hidden units, targets). Import the submodules
(``augnoise.recipes.regularizers``, ``.denoise``, ``.anomaly``); they need torch."""
