"""Course 3 as code: a strategy report for every registered model (``pipelines/strategy/report.py``), and per
dataset family how to draw its train-dev split, how to show one split to a task's ``evaluate``, and how to pick
a sample of errors for a human (one module per family, named by the dataset's registry entry)."""
