"""Engine: weights (safetensors only), the shipped weights, devices and the CPU backends. Nothing
above it."""
