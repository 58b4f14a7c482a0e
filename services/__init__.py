"""TorchServe handlers: ``base`` (validation, errors, metrics) and one module per service."""
