"""Courses 1 and 2 from scratch, in numpy: the course's networks, initializations, regularization and
optimizers, written as the course writes them (examples are columns: ``X`` is ``(n_x, m)``), each checked
against torch autograd and by gradient checking (``tests/unit/test_scratch.py``).

* ``network``: logistic regression, the one-hidden-layer network and the L-layer network (forward, cost,
  backward, with L2 and inverted dropout) and the initializations (zeros, random x scale, He, Xavier).
* ``optimizers``: gradient descent, momentum, RMSprop and Adam with bias correction; learning-rate decay.
* ``gradcheck``: two-sided finite differences over every parameter (the course's relative difference).
"""
