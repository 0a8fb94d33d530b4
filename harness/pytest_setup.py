"""In-container: the pytest configuration and plugins of a test run, owned by the harness.

A candidate must not configure the run that judges it: not through a new `.pytest.ini`, a
`pyproject.toml` whose settings are an inline table, a `setup.cfg` section trick, nor a
`*.dist-info/entry_points.txt` that pytest would autoload as a plugin. So, by construction:
- the configuration file is the one pytest would have found in the *pristine* tree (plus the
  instance's test_patch), located with pytest's own rules, copied to a root-owned place and
  passed with `-c`, with `--rootdir` where pytest would have put it; the tree's own files are
  then never read as configuration;
- plugin autoloading is off (PYTEST_DISABLE_PLUGIN_AUTOLOAD=1) and the entry-point plugins of
  the pristine environment, listed before any candidate content existed, are named with `-p`.
Standard library only (the harness runs the image's system python3, 3.11: tomllib is there).
"""

import configparser
import glob
import os
import shutil

CONFIG_DIR = "/opt/swe-monkeys/cfg"  # root-owned; the copied configuration lives here
NAMES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")


def site_dirs():
    """The pristine interpreter's import roots where distributions live: site-packages, the
    directories its .pth files add (editable installs), and the repository itself."""
    dirs = sorted(glob.glob("/opt/venv/lib/python*/site-packages"))
    for site in list(dirs):
        for pth in sorted(glob.glob(os.path.join(site, "*.pth"))):
            try:
                with open(pth, errors="replace") as f:
                    for line in f:
                        line = line.strip()
                        if line and not line.startswith(("#", "import")) and os.path.isdir(line):
                            dirs.append(line)
            except OSError:
                continue
    return list(dict.fromkeys(dirs + ["/testbed"]))


def entry_point_plugins(dirs):
    """Names of the pytest11 entry points of every distribution found in dirs (pristine: call
    this before any candidate content exists)."""
    names = []
    for d in dirs:
        for meta in sorted(glob.glob(os.path.join(d, "*.dist-info")) + glob.glob(os.path.join(d, "*.egg-info"))):
            parser = configparser.ConfigParser(interpolation=None, delimiters=("=",), strict=False)
            parser.optionxform = str
            try:
                parser.read(os.path.join(meta, "entry_points.txt"))
            except (configparser.Error, UnicodeDecodeError):
                continue
            if parser.has_section("pytest11"):
                names.extend(parser.options("pytest11"))
    return list(dict.fromkeys(names))


def _pytest_source(dirs):
    """Text of the installed _pytest/config/findpaths.py (what config files this pytest reads)."""
    for d in dirs:
        for rel in ("_pytest/config/findpaths.py", "_pytest/config/__init__.py", "_pytest/config.py"):
            path = os.path.join(d, rel)
            if os.path.isfile(path):
                with open(path, errors="replace") as f:
                    return f.read()
    return ""


def supported_names(dirs):
    """The config file names the installed pytest looks for, in its order."""
    source = _pytest_source(dirs)
    return [n for n in NAMES if n in ("pytest.ini", "tox.ini", "setup.cfg") or '"%s"' % n in source]


def _has_section(name, text):
    """Whether pytest would take this file as its configuration (pytest's own rules)."""
    if name in ("pytest.ini", ".pytest.ini"):
        return True  # always the configuration, even without a [pytest] section
    if name == "pyproject.toml":
        import tomllib

        try:
            data = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, ValueError):
            return False
        return isinstance(data.get("tool", {}).get("pytest", {}).get("ini_options"), dict)
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error:
        return False
    return parser.has_section("tool:pytest" if name == "setup.cfg" else "pytest") or (
        name == "setup.cfg" and parser.has_section("pytest"))


def _common_dir(args, root):
    """pytest's starting point for the search: the common ancestor of the path arguments."""
    dirs = []
    for arg in args:
        if arg.startswith("-"):
            continue
        path = os.path.normpath(os.path.join(root, arg.split("::")[0]))
        if os.path.exists(path):
            dirs.append(path if os.path.isdir(path) else os.path.dirname(path))
    common = os.path.commonpath(dirs) if dirs else root
    return common if common == root or common.startswith(root + os.sep) else root


def harness_config(args, names, read_pristine, root="/testbed"):
    """Copy the configuration pytest would have used to CONFIG_DIR; returns the pytest options.

    `read_pristine(relative path)` gives a file's pristine (+ test patch) text or None: the
    candidate's version of a file is never read here.
    """
    os.makedirs(CONFIG_DIR, mode=0o755, exist_ok=True)
    shutil.rmtree(CONFIG_DIR)
    os.makedirs(CONFIG_DIR, mode=0o755)
    directory = _common_dir(args, root)
    while True:
        for name in names:
            rel = os.path.relpath(os.path.join(directory, name), root)
            text = read_pristine(rel)
            if text is not None and _has_section(name, text):
                return _write(name, text, directory)
        if directory == root:
            break
        directory = os.path.dirname(directory)
    return _write("pytest.ini", "[pytest]\n", root)  # no configuration: an empty one, still ours


def _write(name, text, rootdir):
    path = os.path.join(CONFIG_DIR, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return ["-c", path, "--rootdir=" + rootdir]
