"""What a Docker image gets is a plain (non-editable) pip install of each package: every
subpackage and data file the code uses must be declared in its pyproject.toml, or the image
fails where the editable development install works. Each package's dependencies are what it
imports, no more (common's list is installed into every image) and no less."""

import ast
import fnmatch
import glob
import os
import re
import sys
import tomllib

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Every folder of the checkout holding a pyproject.toml is a package of the same name.
PACKAGES = sorted(os.path.basename(os.path.dirname(p))
                  for p in glob.glob(os.path.join(ROOT, "*", "pyproject.toml")))
# Development tools: installed by scripts/setup-env.sh, never into a service image.
DEV_ONLY = {"demo_origin"}
# Top-level import name -> the distribution a pyproject lists for it.
DISTRIBUTIONS = {"psycopg2": "psycopg2-binary", "dateutil": "python-dateutil", "PIL": "Pillow"}


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


def _pyproject(name):
    with open(os.path.join(ROOT, name, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)


def _normalized(distribution):
    return re.sub(r"[-_.]+", "-", distribution).lower()


def imported_distributions(name):
    """Distributions (and sibling packages) the package's modules import, stdlib excluded."""
    found = set()
    for path in glob.glob(os.path.join(ROOT, name, name, "**", "*.py"), recursive=True):
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                tops = [node.module.split(".")[0]]
            else:
                continue
            found.update(top for top in tops
                         if top not in sys.stdlib_module_names and top != name)
    return {_normalized(DISTRIBUTIONS.get(top, top)) for top in found}


@pytest.mark.parametrize("name", PACKAGES)
def test_dependencies_are_exactly_what_the_package_imports(name):
    declared = {_normalized(re.split(r"[<>=!~;\[ ]", d)[0])
                for d in _pyproject(name)["project"].get("dependencies", [])}
    imported = imported_distributions(name)
    assert not imported - declared, \
        f"{name}/pyproject.toml: dependencies lack {sorted(imported - declared)}, imported"
    assert not declared - imported, \
        f"{name}/pyproject.toml: lists {sorted(declared - imported)}, which it never imports"


def test_common_does_not_depend_on_what_only_services_use():
    # Installed into every image: a web framework or playlist parser there ships everywhere.
    declared = {_normalized(d) for d in _pyproject("common")["project"]["dependencies"]}
    assert not declared & {"flask", "m3u8", "pillow"}


def test_no_service_image_installs_a_development_tool():
    # A tool may have an image of its own (docker/demo_origin.Dockerfile, for the Docker check),
    # built only when asked for; no service's image, nor their base, copies or installs it.
    assert DEV_ONLY <= set(PACKAGES)
    images = [path for path in glob.glob(os.path.join(ROOT, "docker", "*.Dockerfile*"))
              if os.path.basename(path).split(".")[0] not in DEV_ONLY]
    images.append(os.path.join(ROOT, "postgres", "Dockerfile"))
    assert len(images) > 10
    for path in images:
        with open(path) as f:
            text = f.read()
        for tool in DEV_ONLY:
            assert tool not in text, f"{os.path.relpath(path, ROOT)} mentions {tool}"
    with open(os.path.join(ROOT, "build")) as f:
        default = re.search(r"^ALL=\((.*)\)$", f.read(), re.M).group(1).split()
    assert "common" not in default and not DEV_ONLY & set(default), default  # ./build alone
    for tool in DEV_ONLY:  # nor does it hide in a package the images do install
        assert not glob.glob(os.path.join(ROOT, "*", "*", f"{tool}.py"))
