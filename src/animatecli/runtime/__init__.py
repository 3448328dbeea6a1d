"""The middle layer: a model runtime loaded once per process, and a job made per run.

``runtime.Runtime`` owns what is expensive and shared (model, device, precision, threads,
the driving decoder); ``job.AnimationJob`` owns one run (options, reporter, its own notices and face
detectors) and calls the stages in order: ``source`` → ``alignment`` → ``animate`` (with
``compose``) → the media writer. ``preflight`` checks a job's files without torch, so the
CLI can refuse a bad path before the model stack loads. This package imports nothing at
import time: importing ``runtime.runtime`` or ``runtime.job`` loads torch.
"""
