"""The ``alcor`` command."""
