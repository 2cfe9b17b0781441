"""mglwkd-lite: an executable reproduction of mGLW-KD on real wearable accelerometer data.

One module per pipeline stage, imported on demand (importing the package has no side effects):

- :mod:`mglwkd_lite.data` -- packaged data sets, windows, subject splits, normalisation, CSV loader
- :mod:`mglwkd_lite.topology` -- persistence diagrams and persistence images (fast and reference)
- :mod:`mglwkd_lite.models` -- 1-D and 2-D WideResNets returning logits and features
- :mod:`mglwkd_lite.train` -- the one training loop and evaluation
- :mod:`mglwkd_lite.workspace` -- the global latent workspace (slot attention, working memory)
- :mod:`mglwkd_lite.distill` -- distillation losses and methods as configurations
- :mod:`mglwkd_lite.experiments` -- the experiment runner, robustness and cost
- :mod:`mglwkd_lite.deploy` -- export, quantisation and labelling of whole recordings
"""

__version__ = "0.1.0"
