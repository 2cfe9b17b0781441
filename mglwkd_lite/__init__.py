"""mglwkd-lite: an executable reproduction of mGLW-KD on real wearable accelerometer data.

One module per job, imported on demand (importing the package has no side effects). Imports run
downwards only: a module uses the ones above it in this list, never those below.

- :mod:`mglwkd_lite.presets` -- the one registry of preset names (data, models, sweeps)
- :mod:`mglwkd_lite.data` -- packaged data sets, windows, subject splits, normalisation, CSV loader
- :mod:`mglwkd_lite.topology` -- persistence diagrams and persistence images (fast and reference)
- :mod:`mglwkd_lite.models` -- 1-D and 2-D WideResNets returning logits and features
- :mod:`mglwkd_lite.workspace` -- the global latent workspace (slot attention, working memory)
- :mod:`mglwkd_lite.train` -- the one training loop, prediction and evaluation (:mod:`mglwkd_lite.batches`:
  its data sets and loaders)
- :mod:`mglwkd_lite.checkpoint` -- checkpoint files and the cache of trained models
- :mod:`mglwkd_lite.model_presets` -- the models of a preset (``ModelsPreset``)
- :mod:`mglwkd_lite.records` -- plain-file records of trained models (teachers in run records)
- :mod:`mglwkd_lite.losses` -- the distillation losses and the dynamic coefficient
- :mod:`mglwkd_lite.bank` -- the frozen teachers' outputs on the training windows, looked up by batch
- :mod:`mglwkd_lite.distill` -- distillation methods as configurations, the teacher bank, the objective
- :mod:`mglwkd_lite.pipeline` -- the cached, preset-driven wiring: train or load, distil or load
- :mod:`mglwkd_lite.experiments` -- the experiment runner (one record per run, robustness)
- :mod:`mglwkd_lite.stats` -- paired comparisons, corrected confidence intervals, the verdict rule
- :mod:`mglwkd_lite.claims` -- the paper's claims judged on the run records
- :mod:`mglwkd_lite.deploy` -- export, quantisation and labelling of whole recordings
- :mod:`mglwkd_lite.report` -- the book's tables and figures, one module per chapter
- :mod:`mglwkd_lite.cli` -- the command line (``python -m mglwkd_lite``)

Beside them: :mod:`mglwkd_lite.repro` (seeding, versions), :mod:`mglwkd_lite.timing` (one timer, on
``timeit``), :mod:`mglwkd_lite.robustness` (perturbed test windows) and ``_io`` (atomic files, hashes).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
