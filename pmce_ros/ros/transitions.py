"""How every pmce_node transition callback fails: loudly, and releasing what it holds (rclpy would swallow the
exception and leave the node half-built)."""

import functools

from rclpy.lifecycle import State, TransitionCallbackReturn


def guarded(on_exception: TransitionCallbackReturn):
    """Wraps a transition callback: an exception is logged with its type and message and kept as the node's
    `fault` (diagnostics report it); a failed configure releases everything (`node.close()`); the transition
    returns `on_exception` (FAILURE: back to unconfigured; ERROR: on_error releases everything)."""

    def wrap(callback):
        @functools.wraps(callback)
        def run(node, state: State) -> TransitionCallbackReturn:
            name = callback.__name__.removeprefix("on_")
            try:
                return callback(node, state)
            except Exception as error:
                node.fault = f"{name} failed: {type(error).__name__}: {error}"
                node.get_logger().error(node.fault)
                if on_exception == TransitionCallbackReturn.FAILURE:
                    node.close()
                return on_exception

        return run

    return wrap
