"""dlzoo: every course model as a DVC stage, a Ray Train job and (four of them) a TorchServe service."""
