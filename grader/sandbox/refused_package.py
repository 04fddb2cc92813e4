"""What a package the exercise forbids holds in the sandbox: importing it fails, with this message."""
raise ImportError(f"{__name__} is not available in this exercise (it is not installed in the sandbox)")
