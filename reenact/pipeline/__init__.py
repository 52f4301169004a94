"""The per-frame pipeline: reenactor, prepared target, target video, compositor, face-lost policy,
timing and the factory that builds the stages from config."""
