#!/usr/bin/env python
"""Run Django administrative tasks for Pier's control plane."""

import os
import sys
from pathlib import Path

# platform/ is a source root, not a package: a package named `platform` would shadow the stdlib.
sys.path.insert(0, str(Path(__file__).resolve().parent / "platform"))


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pier.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
