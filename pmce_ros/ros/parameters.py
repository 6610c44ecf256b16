"""pmce_node's parameters as ROS sees them: declared from pmce_ros.settings with descriptors (`ros2 param
describe` shows description, range and choices), and the rule for changes: live ones apply at once, the others
are read at configure and refused while configured."""

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, SetParametersResult

from pmce_ros import settings


def descriptor(spec: settings.Parameter) -> ParameterDescriptor:
    when = "live: applies to the running node" if spec.live else "read at configure"
    described = ParameterDescriptor(description=f"{spec.description} ({when})")
    if spec.choices:
        described.additional_constraints = f"one of: {', '.join(spec.choices)}"
    if spec.range and isinstance(spec.default, float):
        described.floating_point_range = [
            FloatingPointRange(from_value=float(spec.range[0]), to_value=float(spec.range[1]))
        ]
    elif spec.range:
        described.integer_range = [IntegerRange(from_value=int(spec.range[0]), to_value=int(spec.range[1]))]
    return described


def declare(node) -> dict:
    """Declares every setting and `managed`; returns the settings' values."""
    for spec in settings.PARAMETERS:
        node.declare_parameter(spec.name, spec.default, descriptor(spec))
    node.declare_parameter(
        "managed",
        False,
        ParameterDescriptor(
            description="Wait for a lifecycle manager instead of configuring and activating at start",
            read_only=True,
        ),
    )
    return current_values(node)


def current_values(node) -> dict:
    return {spec.name: node.get_parameter(spec.name).value for spec in settings.PARAMETERS}


def review_changes(parameters, configured: bool) -> tuple[SetParametersResult, dict]:
    """Whether a set-parameters request may go ahead, and the live values it changes."""
    fixed = sorted(p.name for p in parameters if p.name in settings.BY_NAME and not settings.BY_NAME[p.name].live)
    if fixed and configured:
        reason = f"{', '.join(fixed)} take effect at configure: deactivate and clean up the node first"
        return SetParametersResult(successful=False, reason=reason), {}
    changes = {p.name: p.value for p in parameters if p.name in settings.BY_NAME}
    try:
        settings.validate(changes)
    except ValueError as error:
        return SetParametersResult(successful=False, reason=str(error)), {}
    live = {name: value for name, value in changes.items() if settings.BY_NAME[name].live}
    return SetParametersResult(successful=True), live
