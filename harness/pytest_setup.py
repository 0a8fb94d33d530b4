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
ROOTDIR_FILE = CONFIG_DIR + "/rootdir"  # for a pytest without --rootdir: the guard applies it
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
    """How to name, with `-p`, the pytest11 entry points of every distribution found in dirs
    (pristine: call this before any candidate content exists): by entry-point name where the
    installed pytest resolves those (`consider_entry_points`, pytest >= 4.5), else by the module
    the entry point loads (older pytest imports the `-p` argument as a module). A pytest too old
    to turn autoloading off (< 3.7) loads them all itself -- naming them again would register each
    twice and end the run -- so none is named; the revert rules keep a candidate's distribution
    metadata out of the tree there."""
    source = _pytest_source(dirs, _PLUGIN_LOADERS)
    if "PYTEST_DISABLE_PLUGIN_AUTOLOAD" not in source:
        return []
    by_name = "consider_entry_points" in source
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
                for name, target in parser.items("pytest11"):
                    names.append(name if by_name else target.split(":")[0].strip())
    return list(dict.fromkeys(names))


_CONFIG_FINDERS = ("_pytest/config/findpaths.py", "_pytest/config/__init__.py", "_pytest/config.py")
_PLUGIN_LOADERS = ("_pytest/config/__init__.py", "_pytest/config.py")


def _pytest_source(dirs, rels=_CONFIG_FINDERS):
    """Text of the first installed pytest file of rels (by default the one that says what config
    files this pytest reads)."""
    for d in dirs:
        for rel in rels:
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


def rootdir_option(dirs):
    """Whether the installed pytest takes --rootdir (3.5 and later)."""
    return "--rootdir" in _pytest_source(dirs, ("_pytest/main.py",))


def harness_config(args, names, read_pristine, root="/testbed", rootdir_flag=True):
    """Copy the configuration pytest would have used to CONFIG_DIR; returns the pytest options.

    `read_pristine(relative path)` gives a file's pristine (+ test patch) text or None: the
    candidate's version of a file is never read here. A pytest without --rootdir (3.3: astropy
    1.3) would take the common ancestor of the arguments as its rootdir, and every test id would
    lose its directory; there the rootdir goes to ROOTDIR_FILE, which the guard plugin applies
    at pytest_configure, before anything is collected.
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
                return _write(name, text, directory, rootdir_flag)
        if directory == root:
            break
        directory = os.path.dirname(directory)
    return _write("pytest.ini", "[pytest]\n", root, rootdir_flag)  # no configuration: an empty one, still ours


def _write(name, text, rootdir, rootdir_flag):
    path = os.path.join(CONFIG_DIR, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    if rootdir_flag:
        return ["-c", path, "--rootdir=" + rootdir]
    with open(ROOTDIR_FILE, "w") as f:
        f.write(rootdir)
    os.chmod(ROOTDIR_FILE, 0o644)
    return ["-c", path]
