"""PMCE 3D human mesh estimation for ROS 2.

The generated interfaces (pmce_ros.msg) are installed by CMake into the environment, while the hand-written
code may live in a checkout: extending the package path lets one import name cover both.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
