"""Training both networks: data preparation, pairs, datasets, the two trainers, checkpoints.

`reenact prepare` -> `prepare.prepare` (cache.py holds the format, docs/DATA.md documents it);
`reenact train fusion|generator` -> `fusion_trainer.FusionTrainer` / `generator_trainer.
GeneratorTrainer`, both on the shared loop in `loop.Trainer`. Submodules are imported explicitly;
importing this package imports nothing heavy.
"""
