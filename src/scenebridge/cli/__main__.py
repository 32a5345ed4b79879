"""``python -m scenebridge.cli``."""

from scenebridge.cli.app import main

main()
