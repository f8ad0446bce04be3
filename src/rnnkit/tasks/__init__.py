"""Tasks: which data, model, loss and metrics each application of the lecture uses."""
