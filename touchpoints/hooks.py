"""Hooks other apps register to hear about touchpoints, so this app never imports them.

A hook runs inside the transaction that logs the touchpoint: if it fails, nothing is logged.
"""

from collections.abc import Callable

TouchpointHook = Callable[["Touchpoint"], None]  # noqa: F821

_logged_hooks: list[TouchpointHook] = []


def on_touchpoint_logged(hook: TouchpointHook) -> TouchpointHook:
    """Register `hook(touchpoint)`; usable as a decorator from an AppConfig.ready()."""
    if hook not in _logged_hooks:
        _logged_hooks.append(hook)
    return hook


def touchpoint_logged(touchpoint) -> None:
    for hook in _logged_hooks:
        hook(touchpoint)
