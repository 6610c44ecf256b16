"""Training and evaluation: metrics exactly as the authors compute them (more to come: losses, trainer, data)."""
