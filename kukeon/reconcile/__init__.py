"""Desired state, the pure planner, the executor and the control loop."""
