"""``python -m animatecli`` behaves exactly like the ``animate`` command."""

from .cli import main

main()
