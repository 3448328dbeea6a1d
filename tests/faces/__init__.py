"""Tests of animatecli.faces."""
