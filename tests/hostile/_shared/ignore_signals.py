"""Shared part (hang_at_import, hang_in_function): ignore every signal a timeout might send but SIGKILL."""
import signal


def _ignore_signals():
    for name in ("SIGALRM", "SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGXCPU", "SIGVTALRM"):
        try:
            signal.signal(getattr(signal, name), signal.SIG_IGN)
        except (AttributeError, OSError, ValueError):
            pass
