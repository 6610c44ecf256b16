"""Training and evaluation: metrics and losses as the authors compute them, datasets (the authors' formats and
synthetic mocap), the two-stage trainer and the pmce-train / pmce-eval / pmce-synthetic-benchmark commands."""
