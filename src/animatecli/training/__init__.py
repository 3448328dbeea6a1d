"""Training support: procedural data for the self-trained motion model."""
