"""`--ros-args -p name:=value` arguments for starting ROS nodes as processes (demo, tests, benchmarks)."""


def _yaml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_yaml_value(v) for v in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"   # YAML single-quoted: empty strings and paths stay strings


def ros_arguments(parameters: dict, remappings: dict | None = None) -> list[str]:
    args = ["--ros-args"]
    for name, value in parameters.items():
        args += ["-p", f"{name}:={_yaml_value(value)}"]
    for source, target in (remappings or {}).items():
        args += ["-r", f"{source}:={target}"]
    return args
