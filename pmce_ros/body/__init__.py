"""SMPL-format body models (smplx), joint sets and regressors, the coarse mesh, and the synthetic stand-in body.
No ROS, no image I/O."""
