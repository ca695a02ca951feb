"""docker compose's .env files and ${VAR} interpolation, as far as our compose file uses them."""

import re

REFERENCE = re.compile(r"\$(?:\{(?P<braced>[^}]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*)|(?P<dollar>\$))")
BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>.*))?$", re.S)


class InterpolationError(ValueError):
    pass


def read_env_file(text):
    """VAR=value lines (no export, optional quotes); returns {VAR: value}."""
    env = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise ValueError(f".env line {number}: expected VAR=value, got {line!r}")
        name, value = line.split("=", 1)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f".env line {number}: bad variable name {name!r}")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[name] = value
    return env


def variables(text):
    """Names of every variable a compose file refers to."""
    names = set()
    for match in REFERENCE.finditer(text):
        if match.group("dollar"):
            continue
        if match.group("plain"):
            names.add(match.group("plain"))
            continue
        braced = BRACED.match(match.group("braced"))
        if not braced:
            raise InterpolationError(f"bad reference ${{{match.group('braced')}}}")
        names.add(braced.group("name"))
    return names


def interpolate(text, env):
    """Substitute like compose: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
    ${VAR?error}, $VAR, and $$ for a literal $."""
    def substitute(match):
        if match.group("dollar"):
            return "$"
        if match.group("plain"):
            return env.get(match.group("plain"), "")
        braced = BRACED.match(match.group("braced"))
        if not braced:
            raise InterpolationError(f"bad reference ${{{match.group('braced')}}}")
        name, op, arg = braced.group("name", "op", "arg")
        value = env.get(name)
        unset = value is None or (op and op.startswith(":") and value == "")
        if op in (":-", "-"):
            return arg if unset else value
        if op in (":?", "?"):
            if unset:
                raise InterpolationError(f"{name}: {arg}")
            return value
        return value or ""
    return REFERENCE.sub(substitute, text)
