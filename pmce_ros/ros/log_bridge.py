"""The package's Python log lines (a backend that fell back to torch, ...) in the node's ROS log, where rosout,
launch and `ros2 node` tools show them; without this they would reach stderr only."""

import logging

PACKAGE_LOGGER = "pmce_ros"


class RosLogHandler(logging.Handler):
    def __init__(self, ros_logger):
        super().__init__(logging.INFO)
        self.ros_logger = ros_logger

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.ros_logger.error(record.getMessage())
        elif record.levelno >= logging.WARNING:
            self.ros_logger.warning(record.getMessage())
        else:
            self.ros_logger.info(record.getMessage())


def forward_package_logs(ros_logger) -> RosLogHandler:
    """Sends the package's log records at INFO and above to `ros_logger`; returns the handler. (Python's
    last-resort stderr output then stays silent: it speaks only for records no handler takes.)"""
    handler = RosLogHandler(ros_logger)
    package = logging.getLogger(PACKAGE_LOGGER)
    package.addHandler(handler)
    package.setLevel(logging.INFO)
    return handler
