"""Each dataset family's train-dev draw (``DatasetSpec.train_dev``), apart from its report module so that a
model's strategy stage does not depend on generator code it never runs."""
