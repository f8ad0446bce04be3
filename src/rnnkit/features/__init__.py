"""Train-time transforms, fitted or configured when a model is trained and saved with it (``config.json``),
so prediction computes exactly the same inputs:

* :mod:`.standardize` — :class:`Standardizer`, per-channel ``(x - mean) / std`` fitted on training frames;
* :mod:`.motion` — :class:`GravitySplit` (gravity / body acceleration) and :class:`SensorAugment`;
* :mod:`.audio` — :class:`FeatureConfig` and :func:`compute_features` (log-mel / MFCC frames, librosa);
* :mod:`.cache` — :func:`cached_features`: the speech feature cache, keyed by each WAV's content, verified.

Import from the submodules (``from rnnkit.features.motion import GravitySplit``): torch and librosa are
only imported by the transforms that need them.
"""
