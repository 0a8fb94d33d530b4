"""In the test process: the runner's code as it was before any test ran, and what replaced it.

The guard snapshots the runner's modules (pytest, pluggy and unittest; sympy's runtests and its
test helpers; unittest and django.test) before the first test -- pytest at its first hook, sympy's
as they are imported, unittest at interpreter start -- and compares: before each record, cheaply,
by identity (a function swapped for the length of one test shows there), and in full at the end.
A member replaced by code without a source file, by code not compiled from the file it names, or
by code from a file the candidate wrote is a problem; pytest replacing its own members with its
own functions (it does while it configures) is not. Standard library only, Python 3.6+ syntax.
"""

import functools
import sys
import types

OWN = ("_pytest", "pytest", "pluggy")  # what must come from the environment's own files
_CODE_TYPES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, functools.partial,
               staticmethod, classmethod, property)


def is_code(value):
    """Behaviour rather than state: functions, classes, methods and their descriptors. By type
    alone: touching an arbitrary object (Django's lazy settings) runs its code."""
    kind = type(value)
    return kind in _CODE_TYPES or issubclass(kind, type)


def code_of(value):
    return value.__code__ if type(value) is types.FunctionType else None


def code_file(value):
    code = code_of(getattr(value, "__func__", value) if type(value) is types.MethodType else value)
    name = code.co_filename if code is not None else ""
    return "" if not name or name.startswith("<") else name


def members(module):
    """(attribute path, namespace, name, object) for the module's code and its own classes' code."""
    for name, value in list(vars(module).items()):
        if not is_code(value):
            continue
        yield name, vars(module), name, value
        if isinstance(value, type) and getattr(value, "__module__", None) == module.__name__:
            space = vars(value)
            for attr, member in list(space.items()):
                if is_code(member):
                    yield "%s.%s" % (name, attr), space, attr, member


class RunnerSnapshot:
    """The watched modules' code at snapshot time; `problems()` in full, `unchanged()` cheaply."""

    def __init__(self, trust, watched, hot=None):
        self.trust, self.watched, self.taken, self.fast = trust, tuple(watched), {}, None
        # The modules an outcome passes through on its way to a record, checked at every record
        # (all of them at the end): a check per record must cost little beside a short test.
        self.hot = tuple(hot) if hot is not None else self.watched

    def watches(self, name, prefixes=None):
        return any(name == w or name.startswith(w + ".") for w in (prefixes or self.watched))

    def _modules(self, prefixes=None):
        return [(n, m) for n, m in list(sys.modules.items())
                if m is not None and self.watches(n, prefixes) and getattr(m, "__file__", None)]

    def take(self, module):
        for path, _, _, value in members(module):
            self.taken[(module.__name__, path)] = (value, code_of(value))
        self.fast = None

    def take_watched(self):
        for _, module in self._modules():
            self.take(module)

    def problems(self, prefixes=None):
        found = []
        for name, module in self._modules(prefixes):
            if name.split(".")[0] in OWN:
                why = self.trust.why(module.__file__, name)
                if why:
                    found.append("%s imported from a file %s" % (name, why))
            for path, _, _, value in members(module):
                found.extend(self._member_problem(name, path, value))
        return found

    def _member_problem(self, name, path, value):
        before, where = self.taken.get((name, path)), code_file(value)
        if before is not None and (before[0] is not value or before[1] is not code_of(value)):
            if not where and not isinstance(value, type):
                return ["%s.%s replaced by code without a source file" % (name, path)]
            if where and not self.trust.compiled_from(code_of(value) or value.__func__.__code__):
                return ["%s.%s replaced by code not compiled from %s" % (name, path, where)]
        why = where and self.trust.why(where, getattr(value, "__module__", "") or "")
        return ["%s.%s from a file %s" % (name, path, why)] if why else []

    def unchanged(self):
        """Problems now, found cheaply by identity against the last state found clean; the full
        check runs only when something moved, and a clean result becomes the new baseline."""
        if self.fast is not None and all(space.get(attr) is value and (code is None or value.__code__ is code)
                                         for space, attr, value, code in self.fast):
            return []
        found = self.problems(self.hot)
        if not found:
            self.fast = [(space, attr, value, code_of(value)) for _, module in self._modules(self.hot)
                         for _, space, attr, value in members(module)]
        return found

    def hook_problems(self, pluginmanager, plugin=None):
        """Hook implementations from untrusted code: every one, or those of `plugin`."""
        found = []
        if plugin is not None:
            callers = getattr(pluginmanager, "get_hookcallers", lambda p: None)(plugin) or []
        else:
            callers = [getattr(pluginmanager.hook, name, None) for name in dir(pluginmanager.hook)]
        for caller in callers:
            get = getattr(caller, "get_hookimpls", None)
            for impl in (get() if get is not None else ()):
                if plugin is not None and getattr(impl, "plugin", plugin) is not plugin:
                    continue
                where = code_file(impl.function)
                why = self.trust.why(where, getattr(impl.function, "__module__", "") or "") if where \
                    else "without a source file"
                if why:
                    found.append("hook %s %s" % (getattr(impl.function, "__name__", "?"), why))
        return found
