"""How every pmce_node transition callback fails: loudly, and releasing what it holds (rclpy would swallow the
exception and leave the node half-built); and how a transition the current state does not offer is refused."""

import functools

from rclpy._rclpy_pybind11 import RCLError
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


def refuse_unavailable_transitions(node) -> None:
    """A transition asked for that the current state does not offer (a second deactivate racing the first, an
    activate from unconfigured) is answered success=False with one warning. rclpy's change_state service (the
    lifecycle mixin's `_service_change_state`) raises instead, out of the executor, and the node dies with a
    traceback."""
    service = node._service_change_state
    answer = service.callback

    def checked(request, response):
        try:
            return answer(request, response)
        except RCLError as error:
            asked = request.transition.label or request.transition.id
            node.get_logger().warning(f"transition {asked} refused: the current state does not offer it ({error})")
            response.success = False
            return response

    service.callback = checked
