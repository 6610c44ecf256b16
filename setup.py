"""Python entry points of pmce_ros for the development venv (scripts/setup installs it editable).

On a robot the package is built by colcon from CMakeLists.txt, which also generates pmce_ros.msg. The pip
distribution gets its own name: one called pmce_ros would make pip remove the CMake-registered messages.
"""

from setuptools import find_packages, setup

setup(
    name="pmce-ros-python",
    version="0.1.0",
    description="PMCE 3D human mesh estimation for ROS 2 (Python code of the pmce_ros package)",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["pmce_ros", "pmce_ros.*"]),
    package_data={"pmce_ros": ["py.typed", "data/*.pt", "data/*.npz"]},
    entry_points={
        "console_scripts": [
            "pmce-selfcheck = pmce_ros.selfcheck:main",
            "pmce_node = pmce_ros.ros.pmce_node:main",
            "pmce_camera_replay = pmce_ros.ros.camera_replay:main",
            "pmce-process = pmce_ros.process:main",
            "pmce-demo = pmce_ros.ros.demo:main",
            "pmce-train = pmce_ros.training.cli:train_main",
            "pmce-eval = pmce_ros.training.cli:eval_main",
            "pmce-synthetic-benchmark = pmce_ros.training.synthetic_benchmark:main",
            "pmce-capture-set = pmce_ros.training.capture_set:main",
            "pmce-train-forecast = pmce_ros.training.forecast:main",
        ],
    },
)
