"""Image and landmark measures shared by train and eval.

Pure functions on numpy arrays (no I/O, no state), one module per kind of measure:

- `image`      SSIM, PSNR, L1, inter-frame SSIM, landmark error and jitter;
- `series`     Pearson r and regression gain of an output series against an actor series;
- `expression` expression features relative to a neutral face (mouth, eyes, brows);
- `gaze`       iris position inside the eye opening, eye openness (gaze, blinks);
- `head`       head roll / pitch / yaw from the 478-point mesh's own 3-D coordinates;
- `seam`       the step across a pasted face's blend boundary in the composited frame;
- `sharpness`  high-frequency energy ratio, mouth and eye boxes cut by the landmarks;
- `haarpsi`    the HaarPSI perceptual similarity (Reisenhofer et al. 2018), no learned weights;
- `image`      SSIM, PSNR, L1 and landmark error (moved from eval/metrics.py).
"""
