"""Print the [project] dependencies of a pyproject.toml, one per line, for pip."""

import sys
import tomllib

with open(sys.argv[1], "rb") as f:
    project = tomllib.load(f).get("project", {})
for requirement in project.get("dependencies", []):
    print(requirement)
