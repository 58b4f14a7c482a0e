"""Frozen speech front ends trained on real human speech, run with onnxruntime from the model files of pinned wheels.

    from pipelines.features.speech_embedding import SpeechEmbedding   # 96-d every 80 ms (openWakeWord / Google)
    from pipelines.features.word_embedding import WordEmbedding       # 2048-d per 1.5 s window (EfficientWord-Net)

See docs/speech_frontends.md for the models' origin, licences, checksums and speed.
"""
