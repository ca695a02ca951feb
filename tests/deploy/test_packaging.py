"""What a Docker image gets is a plain (non-editable) pip install of each package: every
subpackage and data file the code uses must be declared in its pyproject.toml, or the image
fails where the editable development install works."""

import fnmatch
import os
import tomllib

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGES = ["common", "downloader", "restreamer", "backfiller", "cutter", "uploader",
            "segment_coverage", "editor"]


def on_disk(name):
    """(subpackages, data files relative to their package) found in the source tree."""
    base = os.path.join(ROOT, name)
    packages, data = [], []
    for directory, dirs, files in os.walk(os.path.join(base, name)):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        if "__init__.py" not in files:
            continue
        package = os.path.relpath(directory, base).replace(os.sep, ".")
        packages.append(package)
        data += [(package, f) for f in files if not f.endswith((".py", ".pyc"))]
    return packages, data


@pytest.mark.parametrize("name", PACKAGES)
def test_pyproject_declares_every_subpackage_and_data_file(name):
    with open(os.path.join(ROOT, name, "pyproject.toml"), "rb") as f:
        config = tomllib.load(f)["tool"]["setuptools"]
    declared = set(config["packages"])
    package_data = config.get("package-data", {})
    packages, data = on_disk(name)
    missing = sorted(set(packages) - declared)
    assert not missing, f"{name}/pyproject.toml: packages lacks {missing}"
    for package, filename in data:
        patterns = package_data.get(package, []) + package_data.get("*", [])
        assert any(fnmatch.fnmatch(filename, p) for p in patterns), \
            f"{name}/pyproject.toml: package-data lacks {package}/{filename}"
