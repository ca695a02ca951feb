"""Every public function and method of `common` says what it takes and returns: the services
and tools all call into it, and its annotations are its documented interface."""

import importlib
import inspect
import pkgutil

import common

MODULES = sorted(info.name for info in pkgutil.walk_packages(common.__path__, "common."))


def public_functions(module):
    """(qualified name, function) of the functions and methods `module` defines."""
    for name, value in vars(module).items():
        if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(value):
            yield name, inspect.unwrap(value)
        elif inspect.isclass(value):
            for attr, member in vars(value).items():
                if isinstance(member, property):
                    member = member.fget
                if not inspect.isfunction(member):
                    continue
                if attr.startswith("_") and attr not in ("__init__", "__enter__", "__exit__"):
                    continue
                yield f"{name}.{attr}", inspect.unwrap(member)


def missing_annotations(fn):
    signature = inspect.signature(fn)
    missing = [p.name for p in signature.parameters.values()
               if p.name not in ("self", "cls") and p.annotation is inspect.Parameter.empty]
    if fn.__name__ != "__init__" and signature.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


def test_the_package_has_modules_to_check():
    assert {"common.segments", "common.events.db", "common.database"} <= set(MODULES)


def test_public_functions_are_annotated():
    found = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name, fn in public_functions(module):
            missing = missing_annotations(fn)
            if missing:
                found[f"{module_name}.{name}"] = missing
    assert found == {}
