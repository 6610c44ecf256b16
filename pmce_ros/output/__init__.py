"""What pmce_ros writes for people to look at and for programs to read: overlays, contact sheets, videos,
mesh files and per-frame result files. No ROS."""
