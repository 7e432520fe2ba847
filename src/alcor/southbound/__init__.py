"""The controller's side of the goal-state protocol: one gRPC stream per host."""
