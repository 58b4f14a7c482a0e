"""One Task per registered model family: the glue between its data, model, loss and metrics."""
