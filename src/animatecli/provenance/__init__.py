"""Provenance marks on outputs: C2PA Content Credentials (MP4), a metadata label (any
container), an invisible watermark in every frame, and `verify` to read them back.

See docs/provenance.md for what each mark proves and what it does not.
"""
