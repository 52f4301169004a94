"""The whole-frame device renderer, able to run a personal avatar's generator.

An avatar's generator has the shipped one's architecture (`reenact.avatar` checks it), so its
fp16 tensors are copied into the same parameters in place: the captured CUDA graphs read those
tensors by address and replay with the avatar's weights, with nothing captured again.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from reenact.render.avatar_backend import check_fits
from reenact.render.corrections.apply import paste
from reenact.render.generator_cuda import DeviceFrameRenderer
from reenact.render.face_bank import PARTS, AvatarParts, Part

log = logging.getLogger(__name__)


class AvatarDeviceRenderer(DeviceFrameRenderer):
    """`DeviceFrameRenderer` with `set_avatar(avatar | None)`.

    avatar_keeps: (eyes, mouth) from the warp pasted over an avatar's own (True only where the
    config set "warp" itself); they can only turn the shipped generator's keeps off, so the
    keep plane captured in the graph stays and is left at zero; so does the chroma step's weight
    for an avatar, unless `renderer.chroma` is "warp".
    """

    def __init__(
        self,
        *,
        avatar_keeps: tuple[bool, bool] = (False, False),
        avatar_parts: tuple[Part, ...] = PARTS,
        **options,
    ) -> None:
        super().__init__(**options)
        self.avatar = None
        self._shipped_keeps = (self.eyes_from_warp, self.mouth_from_warp)
        # where the eyes' keep is drawn by an `eye_keep` painter, it is dropped with the flag
        self._eye_keep = getattr(self, "eye_keep", None)
        self._avatar_keeps = (
            bool(avatar_keeps[0]) and self.eyes_from_warp,
            bool(avatar_keeps[1]) and self.mouth_from_warp,
        )
        self._shipped_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self._avatar_states: dict[str, dict[str, torch.Tensor]] = {}
        self.parts = AvatarParts(avatar_parts)  # an avatar's own mouths and eyes, on the host

    def set_target(self, crop: np.ndarray, landmarks: np.ndarray) -> None:
        super().set_target(crop, landmarks)
        self.parts.target_set()

    def render(self, fused: np.ndarray) -> np.ndarray:
        out = super().render(fused)
        own = self.parts.patches(fused, out)
        return paste(out, own) if own else out

    def _state_of(self, avatar) -> dict[str, torch.Tensor]:
        state = self._avatar_states.get(avatar.key)
        if state is None:
            check_fits(avatar, size=self.size, variant=self.variant, channels=self.channels)
            own = self.model.state_dict()
            state = {
                k: torch.from_numpy(np.array(v)).to(self.device, own[k].dtype).reshape(own[k].shape)
                for k, v in avatar.generator_weights.items()
            }
            self._avatar_states[avatar.key] = state
        return state

    @torch.no_grad()
    def set_avatar(self, avatar) -> None:
        """Run `avatar`'s generator (a `reenact.avatar.Avatar`) from the next frame; None: the
        weights this renderer was built with. InputError when its generator does not fit.
        After `set_target` with the avatar's picture, its face bank draws on that target."""
        if self.warp is not None:
            self.parts.avatar_set(avatar)
        if avatar is self.avatar:
            return
        state = self._shipped_state if avatar is None else self._state_of(avatar)
        if self.cuda:
            torch.cuda.synchronize(self.device)
        for key, tensor in self.model.state_dict().items():
            tensor.copy_(state[key])
        self.chroma.avatar(avatar)  # its own colours unless the config set "warp"
        self.chroma_weight.fill_(float(self.chroma.on))
        if self.cuda:
            torch.cuda.synchronize(self.device)
        keeps = self._shipped_keeps if avatar is None else self._avatar_keeps
        self.eyes_from_warp, self.mouth_from_warp = keeps
        if hasattr(self, "eye_keep"):
            self.eye_keep = self._eye_keep if keeps[0] else None
        if avatar is not None:
            log.info("avatar %s: its own generator on %s", avatar.name, self.backend_name)
        self.avatar = avatar
