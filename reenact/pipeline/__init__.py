"""The per-frame pipeline: reenactor, prepared target, target video, compositor, face-lost policy,
timing, the factory that builds the stages from config, and the checks on a run's outputs."""
