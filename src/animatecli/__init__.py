"""animatecli: animate a still image with the motion of a driving video."""

__version__ = "0.1.0"
