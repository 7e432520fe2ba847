"""The host agent: one stream to the controller, the host's goal state as applied, and the drivers
that program it. It shares only the protocol (``alcor.v1``) with the controller."""
