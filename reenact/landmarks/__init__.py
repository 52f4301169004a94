"""Landmarks: MediaPipe face tracking, the canonical aligned crop, mesh regions, the actor's
neutral, One Euro smoothing and the one-channel landmark image.

Submodules are imported explicitly (`from reenact.landmarks.align import compute_alignment`);
importing this package imports nothing heavy (MediaPipe loads only when a tracker is built).
"""
