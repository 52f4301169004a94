"""reenact: real-time facial expression reenactment.

An actor's expression, tracked by MediaPipe as a deviation from their neutral face, is fused onto a
target face by a landmark-fusion autoencoder and rendered by a U-net generator (or, without weights,
by a training-free warp), smoothed over time and sent to a virtual camera, a stream or a file.
"""

__version__ = "0.1.0"
