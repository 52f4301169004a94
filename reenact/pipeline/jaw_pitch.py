"""The share of the tracked head pitch that is the actor's jaw, learnt per actor and taken out.

The face mesh reads an opening jaw as the head tilting back, so every syllable would nod the
head. How much differs from face to face, in size and sign, so `JawPitch` learns it per actor: the
slope of the high-passed pitch on the high-passed gap (each minus its `JAW_PITCH_TAU_S` moving
average, so slow nods drop out; real nods are not locked to syllables), over every frame since the
neutral was taken, shrunk towards none by `JAW_PITCH_PRIOR` (IOD squared seconds of gap
variance), and takes that slope times the gap from the neutral's out of the pitch
(`reenact.pipeline.head_motion.HeadMotion`, `jaw_decouple=True`; `head.jaw_decouple`). A single
slope for everyone would double the nod of the faces whose own slope is near 0 or the other way.
"""

from __future__ import annotations

import math

JAW_PITCH_TAU_S = 1.0  # the high-pass of `JawPitch`: each value minus its moving average over this
JAW_PITCH_PRIOR = 0.013  # IOD^2 s of high-passed gap variance the learnt slope is shrunk by
# (0.003 / 0.013 / 0.033 scored alike on the 37 clips, median 0.26 / 0.27 / 0.30 degrees left,
# p90 1.44 / 1.20 / 1.11: the middle one)
JAW_PITCH_LIMIT = 15.0  # the learnt slope's bound, degrees per IOD (the clips' IQR: -11 to -2)


class JawPitch:
    """The share of the tracked pitch that is the actor's jaw, learnt and taken out (the module
    docstring). `correct(pitch, gap, t_s)`: pitch in degrees, gap the inner-lip gap's change from
    the neutral's in IOD, t_s stream seconds -> the pitch without the jaw's part."""

    def __init__(
        self,
        *,
        tau_s: float = JAW_PITCH_TAU_S,
        prior: float = JAW_PITCH_PRIOR,
        limit: float = JAW_PITCH_LIMIT,
    ) -> None:
        self.tau_s, self.prior, self.limit = float(tau_s), float(prior), float(limit)
        self.reset()

    def reset(self) -> None:
        """A new neutral or a new actor: learn again from nothing."""
        self.gap_var = self.covariance = 0.0
        self.lost()

    def lost(self) -> None:
        """The face was lost: restart the moving averages (what was learnt stays)."""
        self._means: tuple[float, float] | None = None
        self._last_t = 0.0

    @property
    def slope(self) -> float:
        """Degrees of pitch per IOD of gap, as learnt so far (0 before any evidence)."""
        k = self.covariance / (self.gap_var + self.prior)
        return float(min(max(k, -self.limit), self.limit))  # NaN stays NaN, as np.clip's

    def correct(self, pitch: float, gap: float, t_s: float) -> float:
        # in Python floats: two numbers a frame, where numpy's calls cost more than the sums;
        # each operation is the one numpy made, in its order, so the bits are the same
        if not (math.isfinite(pitch) and math.isfinite(gap)):
            return pitch  # nothing to learn from, and nothing to take out
        if self._means is None:
            self._means, dt = (float(pitch), float(gap)), 0.0
        else:
            step = float(t_s - self._last_t)
            dt = min(step, 0.2) if step > 0.0 else 0.0  # no time (or not a number): 0
            share = 1.0 - math.exp(-dt / self.tau_s)
            mean_pitch, mean_gap = self._means
            self._means = (
                mean_pitch + share * (pitch - mean_pitch),
                mean_gap + share * (gap - mean_gap),
            )
        self._last_t = t_s
        high_pitch, high_gap = pitch - self._means[0], gap - self._means[1]
        self.gap_var += high_gap * high_gap * dt
        self.covariance += high_gap * high_pitch * dt
        return pitch - self.slope * gap
