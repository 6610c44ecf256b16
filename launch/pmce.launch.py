"""Starts pmce_node on a robot: `ros2 launch pmce_ros pmce.launch.py image_topic:=/camera/color/image_raw
camera_info_topic:=/camera/color/camera_info pmce_weights:=/path/mesh_vis.pth.tar device:=cuda`.

Parameters come from params_file (default: the package's config/pmce.yaml); the weight and device arguments
override their namesakes when given (left empty, the params file's values stand).

The node is a launch_ros LifecycleNode that always waits for transitions (its `managed` parameter is true).
With managed:=false (the default) this file drives them itself, as ROS4HRI's launch files do: a configure event
at start, and an activate event once configuring has reached inactive. With managed:=true a lifecycle manager
(nav2_lifecycle_manager, `ros2 lifecycle set`) does.
"""

import os

from launch import LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    EmitEvent,
    OpaqueFunction,
    RegisterEventHandler,
    SetEnvironmentVariable,
)
from launch.conditions import IfCondition
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState
from launch_ros.substitutions import FindPackageShare
from lifecycle_msgs.msg import Transition

OVERRIDES = {
    "pose_weights": "Ultralytics YOLO pose weights (.pt), absolute path",
    "feature_weights": "SPIN checkpoint or torchvision ResNet-50 state dict",
    "pmce_weights": "PMCE checkpoint in the authors' format",
    "smpl_model": "SMPL .npz/.pkl (empty: the generated body named by body, Anny's by default)",
    "authors_assets": "folder with the PMCE release's base data (needed with smpl_model)",
    "device": "torch device: cpu, cuda, cuda:0, ...",
    "live_view": "true: serve a live 3D view in the browser at http://localhost:9090 (live_view_host to open it up)",
    "latency_mode": "auto (causal with the package's weights, centered with the authors'), centered or causal",
}

SWITCHES = {"live_view"}  # boolean parameters among OVERRIDES: launch arguments are strings


def _pmce_node(context):
    overrides = {name: LaunchConfiguration(name).perform(context) for name in OVERRIDES}
    overrides = {name: value for name, value in overrides.items() if value}
    overrides.update({name: overrides[name].lower() == "true" for name in SWITCHES if name in overrides})
    overrides["managed"] = True  # transitions come from this file's events or from a lifecycle manager
    node = LifecycleNode(
        package="pmce_ros",
        executable="pmce_node",
        name="pmce_node",
        namespace=LaunchConfiguration("namespace").perform(context),
        output="screen",
        parameters=[LaunchConfiguration("params_file"), overrides],
        remappings=[
            ("image", LaunchConfiguration("image_topic")),
            ("camera_info", LaunchConfiguration("camera_info_topic")),
        ],
    )
    profile = []
    if not (os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE") or os.environ.get("FASTRTPS_DEFAULT_PROFILES_FILE")):
        # Large images need larger DDS buffers than the defaults; a profile the user set is left alone.
        large_images = PathJoinSubstitution([FindPackageShare("pmce_ros"), "config", "fastdds_large_images.xml"])
        profile = [SetEnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", large_images)]
    if LaunchConfiguration("managed").perform(context).lower() == "true":
        return [*profile, node]
    configure = EmitEvent(
        event=ChangeState(lifecycle_node_matcher=matches_action(node), transition_id=Transition.TRANSITION_CONFIGURE)
    )
    activate_when_configured = RegisterEventHandler(
        OnStateTransition(
            target_lifecycle_node=node,
            start_state="configuring",
            goal_state="inactive",
            entities=[
                EmitEvent(
                    event=ChangeState(
                        lifecycle_node_matcher=matches_action(node), transition_id=Transition.TRANSITION_ACTIVATE
                    )
                )
            ],
        )
    )
    return [*profile, node, activate_when_configured, configure]


def generate_launch_description() -> LaunchDescription:
    arguments = [
        DeclareLaunchArgument("image_topic", default_value="/camera/image_raw", description="sensor_msgs/Image input"),
        DeclareLaunchArgument(
            "camera_info_topic",
            default_value="/camera/camera_info",
            description="sensor_msgs/CameraInfo of that camera",
        ),
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution([FindPackageShare("pmce_ros"), "config", "pmce.yaml"]),
            description="pmce_node parameters (YAML)",
        ),
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the node and its topics"),
        DeclareLaunchArgument("rviz", default_value="false", description="true: also start RViz with config/pmce.rviz"),
        DeclareLaunchArgument(
            "fixed_frame", default_value="camera_optical_frame", description="RViz fixed frame: the image's frame_id"
        ),
        DeclareLaunchArgument(
            "managed",
            default_value="false",
            description="true: leave the transitions to a lifecycle manager; false: configure and activate at launch",
        ),
    ]
    arguments += [
        DeclareLaunchArgument(name, default_value="", description=f"{text}; empty: params_file's value")
        for name, text in OVERRIDES.items()
    ]
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        arguments=[
            "-d",
            PathJoinSubstitution([FindPackageShare("pmce_ros"), "config", "pmce.rviz"]),
            "-f",
            LaunchConfiguration("fixed_frame"),
        ],
        condition=IfCondition(LaunchConfiguration("rviz")),
    )
    return LaunchDescription(arguments + [OpaqueFunction(function=_pmce_node), rviz])
