"""Packaging (.mar) and the TorchServe lifecycle behind ``dlzoo package`` and ``dlzoo serve``."""
